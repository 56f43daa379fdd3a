import Foundation
import SwapIO
import SwapTensor
import Testing
@testable import SwapModels

/// The tiny SD1 pipeline of Tests/SwapPipelineTests/Fixtures/pipeline/sd1 (made by
/// tools/reference/make_pipeline_fixtures.py), completed with tokenizer/vocab.json and
/// merges.txt derived from the bundled CLIP BPE file, and the references of
/// Fixtures/editing_reference.safetensors (tools/reference/make_editing_fixtures.py).
enum ProcessFixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let folder: Result<String, Error> = Result {
        let source = repositoryRoot.appendingPathComponent("Tests/SwapPipelineTests/Fixtures/pipeline/sd1")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("editing-sd1-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: dir)
        let url = try #require(CLIPTokenizer.bundledBPEURL)
        let text = String(decoding: try Gzip.decompress([UInt8](try Data(contentsOf: url))), as: UTF8.self)
        let merges = try CLIPTokenizer.parseMerges(text, fileName: "bpe", limit: CLIPTokenizer.mergeCount, skipFirstLine: true)
        try JSONSerialization.data(withJSONObject: CLIPTokenizer.derivedVocabulary(merges: merges))
            .write(to: dir.appendingPathComponent("tokenizer/vocab.json"))
        try ("#version: 0.2\n" + merges.map { "\($0.0) \($0.1)" }.joined(separator: "\n") + "\n")
            .write(to: dir.appendingPathComponent("tokenizer/merges.txt"), atomically: true, encoding: .utf8)
        return dir.path
    }

    /// The loaded tiny model, shared by the tests.
    static let model = Result { try StableDiffusion(directory: folder.get()) }

    static let references = Result {
        try SafeTensors.load(try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            .appendingPathComponent("editing_reference.safetensors").path)
    }

    static func reference(_ name: String) throws -> Tensor { try #require(try references.get()[name], "no \(name)") }

    /// The prompts and settings the reference script used.
    static let prompt = "a red circle above a blue square"
    static let sdeditPrompt = "a green triangle"

    /// max |a − b|.
    static func maxAbsError(_ a: Tensor, _ b: Tensor) throws -> Float {
        try #require(a.shape == b.shape, "shape \(a.shape) vs reference \(b.shape)")
        return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
