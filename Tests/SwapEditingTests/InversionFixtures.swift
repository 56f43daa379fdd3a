import Foundation
import SwapIO
import SwapTensor
import Testing
@testable import SwapModels

/// The references of Fixtures/p2p_alignment.json and Fixtures/inversion_reference.safetensors
/// (tools/reference/make_p2p_fixtures.py), and the tiny SD1 pipeline they were made with
/// (Tests/SwapPipelineTests/Fixtures/pipeline/sd1, completed with the tokenizer files derived
/// from the bundled CLIP BPE file).
enum InversionFixtures {
    static let fixtures = Result { try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)) }

    static let model = Result { () throws -> StableDiffusion in
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("p2p-sd1-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: root.appendingPathComponent("Tests/SwapPipelineTests/Fixtures/pipeline/sd1"), to: dir)
        let url = try #require(CLIPTokenizer.bundledBPEURL)
        let text = String(decoding: try Gzip.decompress([UInt8](try Data(contentsOf: url))), as: UTF8.self)
        let merges = try CLIPTokenizer.parseMerges(text, fileName: "bpe", limit: CLIPTokenizer.mergeCount, skipFirstLine: true)
        try JSONSerialization.data(withJSONObject: CLIPTokenizer.derivedVocabulary(merges: merges))
            .write(to: dir.appendingPathComponent("tokenizer/vocab.json"))
        try ("#version: 0.2\n" + merges.map { "\($0.0) \($0.1)" }.joined(separator: "\n") + "\n")
            .write(to: dir.appendingPathComponent("tokenizer/merges.txt"), atomically: true, encoding: .utf8)
        return try StableDiffusion(directory: dir.path)
    }

    static let inversion = Result { try SafeTensors.load(try fixtures.get().appendingPathComponent("inversion_reference.safetensors").path) }

    static func reference(_ name: String) throws -> Tensor { try #require(try inversion.get()[name], "no \(name)") }

    static let alignment = Result { () throws -> [String: Any] in
        let data = try Data(contentsOf: try fixtures.get().appendingPathComponent("p2p_alignment.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The prompt, step count and guidance the reference script used.
    static let prompt = "a photo of a cat"
    static let steps = 10
    static let guidance: Float = 7.5

    static func maxAbsError(_ a: Tensor, _ b: Tensor) throws -> Float {
        try #require(a.shape == b.shape, "shape \(a.shape) vs reference \(b.shape)")
        return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    static func mse(_ a: Tensor, _ b: Tensor) throws -> Float { try (a - b).squared().mean().item }
}
