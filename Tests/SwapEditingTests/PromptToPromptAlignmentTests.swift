import Foundation
import Testing
import SwapTensor
@testable import SwapEditing

/// Token alignment against the official algorithms re-run on the HF CLIP tokenizer
/// (Fixtures/p2p_alignment.json, tools/reference/make_p2p_fixtures.py). Exact equality: the
/// values are integers or 1/n ratios computed the same way.
@Suite struct PromptToPromptAlignmentTests {
    static func cases(_ key: String) throws -> [[String: Any]] {
        try #require(try InversionFixtures.alignment.get()[key] as? [[String: Any]])
    }

    static func align() throws -> PromptAlignment { PromptAlignment(tokenizer: try InversionFixtures.model.get().tokenizer) }

    @Test func wordIndices() throws {
        let a = try Self.align()
        for c in try Self.cases("word_inds") {
            let text = try #require(c["text"] as? String)
            let word: PromptWord
            if let w = c["word"] as? String { word = .text(w) } else { word = .position(try #require(c["word"] as? Int)) }
            let expected = try #require(c["indices"] as? [Int])
            #expect(a.tokenIndices(of: word, in: text) == expected, "\(text) / \(word)")
        }
    }

    @Test func replacementMatrices() throws {
        let a = try Self.align()
        let cases = try Self.cases("replace")
        #expect(cases.count == 6)
        for c in cases {
            let (s, t) = (try #require(c["source"] as? String), try #require(c["target"] as? String))
            var expected = [Float](repeating: 0, count: 77 * 77)
            for e in try #require(c["entries"] as? [[Double]]) { expected[Int(e[0]) * 77 + Int(e[1])] = Float(e[2]) }
            let m = try a.replacementMatrix(source: s, target: t)
            #expect(m.shape == [77, 77])
            #expect(m.scalars == expected, "\(s) → \(t)")
        }
    }

    @Test func refinementMappers() throws {
        let a = try Self.align()
        for c in try Self.cases("refine") {
            let (s, t) = (try #require(c["source"] as? String), try #require(c["target"] as? String))
            let r = a.refinement(source: s, target: t)
            #expect(r.mapper == (try #require(c["mapper"] as? [Int])), "\(s) → \(t)")
            #expect(r.alphas == (try #require(c["alphas"] as? [Double])).map { Float($0) }, "\(s) → \(t)")
        }
    }

    @Test func equalizers() throws {
        let a = try Self.align()
        for c in try Self.cases("equalizer") {
            let text = try #require(c["text"] as? String)
            let words = try #require(c["words"] as? [String]), values = try #require(c["values"] as? [Double])
            let e = try a.equalizer(text: text, weights: zip(words, values).map { ($0, Float($1)) })
            #expect(e == (try #require(c["equalizer"] as? [Double])).map { Float($0) })
        }
    }

    @Test func crossReplaceWindows() throws {
        let a = try Self.align()
        for c in try Self.cases("alpha_words") {
            let target = try #require(c["target"] as? String)
            let steps = try #require(c["steps"] as? Int)
            let d = try #require(c["default"] as? [Double])
            let words = try #require(c["words"] as? [String: [Double]]).map { (word: $0.key, bounds: ($0.value[0], $0.value[1])) }
            let alpha = a.crossReplaceWindow(target: target, steps: steps, default: (d[0], d[1]), words: words)
            let expected = try #require(c["alpha"] as? [[Double]]).map { $0.map(Float.init) }
            #expect(alpha == expected, "\(target), \(steps) steps")
        }
    }

    @Test func badInputIsReported() throws {
        let a = try Self.align()
        #expect(throws: EditingError.self) { try a.replacementMatrix(source: "a cat", target: "a black cat") }
        do {
            _ = try a.replacementMatrix(source: "a cat", target: "a black cat")
        } catch let e as EditingError {
            #expect(e.message.contains("same number of words"), "\(e.message)")
        }
        #expect(throws: EditingError.self) { try a.equalizer(text: "a cat on a mat", weights: [("dog", 2)]) }
    }
}
