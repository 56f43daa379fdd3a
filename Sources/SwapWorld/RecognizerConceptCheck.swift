// Foreground accuracy for swaps on ShapesWorld (issue 9): does the object the recognizer reads
// inside a box show a concept ("cross", "green checkered", "red striped star")? The analytic
// recognizer (`WorldRecognizer`) stands in for the CLIP-I foreground score of InstantSwap §4.4,
// which needs a network ShapesWorld does not have.

import SwapTensor

/// A concept as words of ShapesWorld: any of a colour, a pattern and a shape (at least one).
public struct WorldConcept: Sendable, Equatable, CustomStringConvertible {
    public var shape: WorldShape?
    public var color: WorldColor?
    public var pattern: WorldPattern?

    public init(shape: WorldShape? = nil, color: WorldColor? = nil, pattern: WorldPattern? = nil) {
        (self.shape, self.color, self.pattern) = (shape, color, pattern)
    }

    /// Parses space-separated words, each a colour, pattern or shape name, each kind at most
    /// once ("a" and "the" are skipped). Throws `WorldError` naming an unknown word.
    public init(parsing text: String) throws {
        for word in text.lowercased().split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        where word != "a" && word != "the" {
            if let s = WorldShape(rawValue: word), shape == nil { shape = s }
            else if let c = WorldColor(rawValue: word), color == nil { color = c }
            else if let p = WorldPattern(rawValue: word), pattern == nil { pattern = p }
            else {
                throw WorldError("fg_accuracy", "\"\(word)\" in concept \"\(text)\" is not a ShapesWorld colour, pattern or shape, or repeats a kind (colours: \(WorldColor.allCases.map(\.rawValue).joined(separator: ", ")); patterns: \(WorldPattern.allCases.map(\.rawValue).joined(separator: ", ")); shapes: \(WorldShape.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        guard shape != nil || color != nil || pattern != nil else {
            throw WorldError("fg_accuracy", "concept \"\(text)\" names no colour, pattern or shape")
        }
    }

    /// The concept's words in caption order: colour, pattern, shape.
    public var description: String {
        [color?.rawValue, pattern?.rawValue, shape?.rawValue].compactMap { $0 }.joined(separator: " ")
    }

    /// Whether the held-out shape or pattern is part of the concept (a customized concept).
    public var isHeldOut: Bool { shape == WorldShape.heldOut || pattern == WorldPattern.heldOut }
}

/// The recognizer's verdict on one concept inside one box.
public struct WorldConceptCheck: Sendable {
    public var concept: WorldConcept
    /// What the recognizer read (nil: nothing stands out from the background in the box).
    public var reading: WorldRecognition?
    /// Per named attribute, whether it matches (nil: the concept does not name it).
    public var shapeMatches: Bool?, colorMatches: Bool?, patternMatches: Bool?
    /// True when an object was read and every attribute the concept names matches.
    public var correct: Bool {
        reading != nil && [shapeMatches, colorMatches, patternMatches].allSatisfy { $0 ?? true }
    }
}

extension WorldRecognizer {
    /// Reads the largest object inside `box` of `image` ([3, 64, 64] or [1, 3, 64, 64] in [0, 1])
    /// and compares it with `concept`.
    public static func check(_ image: Tensor, box: WorldBox, concept: WorldConcept) throws -> WorldConceptCheck {
        let reading = try recognize(image, box: box)
        func matches<T: Equatable>(_ wanted: T?, _ read: T?) -> Bool? { wanted.map { $0 == read } }
        return WorldConceptCheck(concept: concept, reading: reading,
                                 shapeMatches: matches(concept.shape, reading?.shape),
                                 colorMatches: matches(concept.color, reading?.color),
                                 patternMatches: matches(concept.pattern, reading?.pattern))
    }
}
