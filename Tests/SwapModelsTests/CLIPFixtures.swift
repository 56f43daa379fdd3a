import Foundation
import Testing
import SwapIO
import SwapTensor
@testable import SwapModels

// Fixture access for the CLIP tests. Everything under Fixtures/clip/ is made by
// tools/reference/make_clip_fixtures.py (torch 2.13.0+cpu, transformers 5.23.0).

enum CLIPFixtures {
    /// Path of a file or folder under Fixtures/clip/.
    static func path(_ relative: String) throws -> String {
        let base = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let url = base.appendingPathComponent("clip").appendingPathComponent(relative)
        #expect(FileManager.default.fileExists(atPath: url.path), "missing fixture \(relative)")
        return url.path
    }

    /// One tokenizer case: the text and HF's 77 ids with SD1 and SD2 special tokens.
    struct TokenizerCase {
        var text: String
        var sd1: [Int]
        var sd2: [Int]
        var sd1Decoded: [String]?
    }

    /// tokenizer_cases.json (HF CLIPTokenizer, padding="max_length", truncation=True, 77).
    static func tokenizerCases() throws -> [TokenizerCase] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try path("tokenizer_cases.json")))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try #require(json["cases"] as? [[String: Any]])
        return try cases.map { c in
            TokenizerCase(text: try #require(c["text"] as? String), sd1: try #require(c["sd1"] as? [Int]),
                          sd2: try #require(c["sd2"] as? [Int]), sd1Decoded: c["sd1_decoded"] as? [String])
        }
    }

    /// text_reference.safetensors: input ids and reference outputs of the tiny models.
    static let reference: [String: Tensor] = {
        guard let p = try? path("text_reference.safetensors"), let t = try? SafeTensors.load(p) else { return [:] }
        return t
    }()

    static func tensor(_ name: String) throws -> Tensor {
        try #require(reference[name], "text_reference.safetensors has no \(name)")
    }

    /// The batch of input ids stored as float.
    static func inputIDs() throws -> [[Int]] {
        let t = try tensor("input_ids")
        let s = t.scalars
        return (0..<t.shape[0]).map { b in (0..<t.shape[1]).map { Int(s[b * t.shape[1] + $0]) } }
    }

    /// The shared tokenizers built from the bundled BPE file (SD1 and SD2 special tokens).
    static let sd1Tokenizer = Result { try CLIPTokenizer.bundled(.sd1) }
    static let sd2Tokenizer = Result { try CLIPTokenizer.bundled(.sd2) }
}

/// max |a − b| divided by max |b| (the output's scale), and the scale.
func relativeMaxError(_ a: Tensor, _ b: Tensor) throws -> (relative: Float, scale: Float) {
    try #require(a.shape == b.shape, "shape \(a.shape) vs \(b.shape)")
    let x = a.scalars, y = b.scalars
    var err: Float = 0, scale: Float = 0
    for i in x.indices {
        err = max(err, abs(x[i] - y[i]))
        scale = max(scale, abs(y[i]))
    }
    return (err / max(scale, .leastNormalMagnitude), scale)
}
