// The caption grammar of ShapesWorld:
//
//   caption    := object (" and " object)? (" on a " background " background")?
//   object     := article (size " ")? colour " " (pattern " ")? shape (" " placement)?
//   article    := "a" | "an" (before a vowel)
//   placement  := "on the left" | "on the right" | "at the top" | "at the bottom" | "in the center"
//               | "at the top left" | "at the top right" | "at the bottom left" | "at the bottom right"
//   background := "plain" | "gradient" | "noisy"
//
// Plain objects carry no pattern word. Two objects are named left to right (or top to bottom).

/// Where an object sits: a third of the canvas for a single object, or its side of the other.
public enum WorldPlacement: String, CaseIterable, Sendable, Codable {
    case left, right, top, bottom, center, topLeft, topRight, bottomLeft, bottomRight

    /// The caption phrase, e.g. "on the left" or "at the top right".
    public var phrase: String {
        switch self {
        case .left: return "on the left"
        case .right: return "on the right"
        case .top: return "at the top"
        case .bottom: return "at the bottom"
        case .center: return "in the center"
        case .topLeft: return "at the top left"
        case .topRight: return "at the top right"
        case .bottomLeft: return "at the bottom left"
        case .bottomRight: return "at the bottom right"
        }
    }

    /// The placement of a point by thirds of a `size` x `size` canvas.
    public static func zone(of point: SIMD2<Float>, size: Int) -> WorldPlacement {
        let third = Float(size) / 3
        let column = point.x < third ? 0 : point.x < 2 * third ? 1 : 2
        let row = point.y < third ? 0 : point.y < 2 * third ? 1 : 2
        let table: [[WorldPlacement]] = [[.topLeft, .top, .topRight],
                                         [.left, .center, .right],
                                         [.bottomLeft, .bottom, .bottomRight]]
        return table[row][column]
    }
}

/// Which optional parts a caption mentions.
public struct WorldCaptionOptions: Sendable, Equatable {
    public var mentionsSize: Bool
    public var mentionsPlacement: Bool
    public var mentionsBackground: Bool

    public init(mentionsSize: Bool = false, mentionsPlacement: Bool = false, mentionsBackground: Bool = false) {
        self.mentionsSize = mentionsSize
        self.mentionsPlacement = mentionsPlacement
        self.mentionsBackground = mentionsBackground
    }

    /// Only colour, pattern and shape: "a red striped circle".
    public static let minimal = WorldCaptionOptions()
    /// Everything the grammar can say.
    public static let full = WorldCaptionOptions(mentionsSize: true, mentionsPlacement: true, mentionsBackground: true)
}

/// One object as a caption describes it.
public struct WorldCaptionObject: Sendable, Equatable {
    public var shape: WorldShape
    public var color: WorldColor
    public var pattern: WorldPattern
    /// `nil` when the caption does not say.
    public var size: WorldSize?
    /// `nil` when the caption does not say.
    public var placement: WorldPlacement?

    public init(shape: WorldShape, color: WorldColor, pattern: WorldPattern = .plain,
                size: WorldSize? = nil, placement: WorldPlacement? = nil) {
        self.shape = shape; self.color = color; self.pattern = pattern
        self.size = size; self.placement = placement
    }
}

/// What a caption says: its objects in order, and the background word if any.
public struct WorldCaptionContent: Sendable, Equatable {
    public var objects: [WorldCaptionObject]
    /// "plain", "gradient" or "noisy"; `nil` when the caption does not say.
    public var background: String?
}

/// Writes and reads captions of the grammar above.
public enum WorldCaption {
    /// The order in which a scene's objects are named and their placements: two objects whose
    /// boxes are apart horizontally are "on the left"/"on the right" (named left first);
    /// otherwise, apart vertically, "at the top"/"at the bottom"; otherwise each by its zone.
    public static func arrange(_ specs: [WorldObjectSpec], size: Int) -> (order: [Int], placements: [WorldPlacement]) {
        func zones() -> [WorldPlacement] { specs.map { WorldPlacement.zone(of: $0.center, size: size) } }
        guard specs.count == 2 else { return (Array(specs.indices), zones()) }
        let a = specs[0], b = specs[1]
        let ha = a.resolvedExtent / 2, hb = b.resolvedExtent / 2
        let apartX = a.center.x + ha <= b.center.x - hb || b.center.x + hb <= a.center.x - ha
        let apartY = a.center.y + ha <= b.center.y - hb || b.center.y + hb <= a.center.y - ha
        if apartX {
            return (a.center.x < b.center.x ? [0, 1] : [1, 0], [.left, .right])
        }
        if apartY {
            return (a.center.y < b.center.y ? [0, 1] : [1, 0], [.top, .bottom])
        }
        return ([0, 1], zones())
    }

    /// The caption of `objects` (already in caption order, with their placements).
    public static func describe(_ objects: [WorldCaptionObject], background: WorldBackground?,
                                options: WorldCaptionOptions) -> String {
        var phrases: [String] = []
        for object in objects {
            var words: [String] = []
            if options.mentionsSize, let size = object.size { words.append(size.rawValue) }
            words.append(object.color.rawValue)
            if let word = object.pattern.captionWord { words.append(word) }
            words.append(object.shape.rawValue)
            if options.mentionsPlacement, let placement = object.placement { words.append(placement.phrase) }
            phrases.append(article(before: words[0]) + " " + words.joined(separator: " "))
        }
        var caption = phrases.joined(separator: " and ")
        if options.mentionsBackground, let background {
            caption += " on a \(background.captionWord) background"
        }
        return caption
    }

    /// "an" before a vowel, else "a".
    static func article(before word: String) -> String {
        guard let first = word.first else { return "a" }
        return "aeiou".contains(first) ? "an" : "a"
    }

    /// Every word a caption can contain, sorted.
    public static let vocabulary: [String] = {
        var words: Set<String> = ["a", "an", "and", "on", "background"]
        words.formUnion(WorldSize.allCases.map(\.rawValue))
        words.formUnion(WorldColor.allCases.map(\.rawValue))
        words.formUnion(WorldPattern.allCases.compactMap(\.captionWord))
        words.formUnion(WorldShape.allCases.map(\.rawValue))
        words.formUnion(WorldPlacement.allCases.flatMap { $0.phrase.split(separator: " ").map(String.init) })
        words.formUnion(["plain", "gradient", "noisy"])
        return words.sorted()
    }()

    /// Reads a caption of the grammar back into its content. Throws `WorldError` naming the
    /// first word that does not fit.
    public static func parse(_ caption: String) throws -> WorldCaptionContent {
        var words = caption.split(separator: " ").map(String.init)
        var background: String?
        if words.count >= 4, words[words.count - 1] == "background", words[words.count - 4] == "on",
           words[words.count - 3] == "a" {
            let word = words[words.count - 2]
            guard ["plain", "gradient", "noisy"].contains(word) else {
                throw WorldError("parse caption", "unknown background '\(word)' in '\(caption)'")
            }
            background = word
            words.removeLast(4)
        }
        var objects: [WorldCaptionObject] = []
        var index = 0
        func fail(_ what: String) -> WorldError {
            WorldError("parse caption", "expected \(what) at word \(index + 1) of '\(caption)'")
        }
        while true {
            guard index < words.count, words[index] == "a" || words[index] == "an" else { throw fail("'a' or 'an'") }
            index += 1
            var size: WorldSize?
            if index < words.count, let s = WorldSize(rawValue: words[index]) { size = s; index += 1 }
            guard index < words.count, let color = WorldColor(rawValue: words[index]) else { throw fail("a colour") }
            index += 1
            var pattern = WorldPattern.plain
            if index < words.count, let p = WorldPattern(rawValue: words[index]), p != .plain { pattern = p; index += 1 }
            guard index < words.count, let shape = WorldShape(rawValue: words[index]) else { throw fail("a shape") }
            index += 1
            var placement: WorldPlacement?
            for candidate in WorldPlacement.allCases.sorted(by: { $0.phrase.count > $1.phrase.count }) {
                let phrase = candidate.phrase.split(separator: " ").map(String.init)
                if index + phrase.count <= words.count, Array(words[index..<index + phrase.count]) == phrase {
                    placement = candidate
                    index += phrase.count
                    break
                }
            }
            objects.append(WorldCaptionObject(shape: shape, color: color, pattern: pattern, size: size, placement: placement))
            if index == words.count { break }
            guard words[index] == "and" else { throw fail("'and' or the end") }
            index += 1
        }
        return WorldCaptionContent(objects: objects, background: background)
    }
}
