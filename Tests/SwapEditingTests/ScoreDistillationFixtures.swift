import Foundation
import SwapIO
@testable import SwapModels
import SwapPipeline
import SwapTensor

/// Fixtures of the score-distillation tests: `distillation_reference.safetensors` (made by
/// tools/reference/make_distillation_fixtures.py, torch 2.13.0+cpu, diffusers 0.42.1, Pillow
/// 13.0.0, scipy 1.17.1) and the tiny SD1 pipeline of Tests/SwapPipelineTests/Fixtures/pipeline/sd1
/// (tools/reference/make_pipeline_fixtures.py), completed with the tokenizer files derived from
/// the bundled CLIP BPE file as that script derives them.
enum DistillationFixtures {
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static let reference: Result<[String: Tensor], Error> = Result {
        try SafeTensors.load(repositoryRoot.appendingPathComponent("Tests/SwapEditingTests/Fixtures/distillation_reference.safetensors").path)
    }

    static func tensor(_ name: String) throws -> Tensor {
        guard let t = try reference.get()[name] else { throw TensorError("fixture", "no tensor \(name)") }
        return t
    }

    /// The tiny SD1 model folder, with tokenizer/vocab.json and merges.txt written.
    static let folder: Result<String, Error> = Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("distillation-sd1-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Tests/SwapPipelineTests/Fixtures/pipeline/sd1"), to: dir)
        guard let url = CLIPTokenizer.bundledBPEURL else { throw TensorError("fixture", "no bundled BPE file") }
        let text = String(decoding: try Gzip.decompress([UInt8](try Data(contentsOf: url))), as: UTF8.self)
        let merges = try CLIPTokenizer.parseMerges(text, fileName: "bpe", limit: CLIPTokenizer.mergeCount, skipFirstLine: true)
        try JSONSerialization.data(withJSONObject: CLIPTokenizer.derivedVocabulary(merges: merges))
            .write(to: dir.appendingPathComponent("tokenizer/vocab.json"))
        try ("#version: 0.2\n" + merges.map { "\($0.0) \($0.1)" }.joined(separator: "\n") + "\n")
            .write(to: dir.appendingPathComponent("tokenizer/merges.txt"), atomically: true, encoding: .utf8)
        return dir.path
    }

    static let model: Result<StableDiffusion, Error> = Result { try StableDiffusion(directory: folder.get()) }

    static func maxAbs(_ a: Tensor, _ b: Tensor) -> Float {
        guard a.shape == b.shape else { return .infinity }
        return zip(a.scalars, b.scalars).map { Swift.abs($0 - $1) }.max() ?? 0
    }
}
