import Foundation
import SwapIO
import SwapModels
import SwapPipeline
import SwapTensor
import Testing
@testable import SwapModels

/// The tiny SD1/SD2 pipelines of Fixtures/pipeline/, written by
/// tools/reference/make_pipeline_fixtures.py (torch 2.13.0+cpu, diffusers 0.42.1,
/// transformers 5.23.0). The committed folders leave out tokenizer/vocab.json and merges.txt
/// (1.6 MB, the real CLIP files); ``materialised(_:)`` copies a folder to a temporary place and
/// writes them from the BPE file bundled with SwapModels, which is what the script used.
enum PipelineFixtures {
    static var root: URL {
        get throws { try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent("pipeline") }
    }

    static func path(_ relative: String) throws -> String { try root.appendingPathComponent(relative).path }

    static func reference(_ flavor: String) throws -> [String: Tensor] {
        try SafeTensors.load(path("\(flavor)_reference.safetensors"))
    }

    /// vocab.json and merges.txt text derived from the bundled BPE file.
    static let tokenizerFiles: Result<(vocab: Data, merges: String), Error> = Result {
        let url = try #require(CLIPTokenizer.bundledBPEURL)
        let text = String(decoding: try Gzip.decompress([UInt8](try Data(contentsOf: url))), as: UTF8.self)
        let merges = try CLIPTokenizer.parseMerges(text, fileName: "bpe", limit: CLIPTokenizer.mergeCount, skipFirstLine: true)
        let vocab = try JSONSerialization.data(withJSONObject: CLIPTokenizer.derivedVocabulary(merges: merges))
        return (vocab, "#version: 0.2\n" + merges.map { "\($0.0) \($0.1)" }.joined(separator: "\n") + "\n")
    }

    /// A complete, writable copy of the `flavor` pipeline folder.
    static func materialised(_ flavor: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sd-\(flavor)-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: root.appendingPathComponent(flavor), to: dir)
        let files = try tokenizerFiles.get()
        let tokenizer = dir.appendingPathComponent("tokenizer")
        try files.vocab.write(to: tokenizer.appendingPathComponent("vocab.json"))
        try files.merges.write(to: tokenizer.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
        return dir
    }

    /// Loaded pipelines, shared by the tests (loading builds the tokenizer, ~1 s).
    static let sd1 = Result { try StableDiffusionPipeline(directory: materialised("sd1").path) }
    static let sd2 = Result { try StableDiffusionPipeline(directory: materialised("sd2").path) }

    static func pipeline(_ flavor: String) throws -> StableDiffusionPipeline {
        try (flavor == "sd1" ? sd1 : sd2).get()
    }

    static let prompt = "A painting of a squirrel eating a burger"
}

/// Error measures.
enum Parity {
    /// max |a − b|.
    static func maxAbsError(_ a: Tensor, _ b: Tensor) throws -> Float {
        try #require(a.shape == b.shape, "shape \(a.shape) vs reference \(b.shape)")
        return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// max |a − b| / max(max |b|, 1e-6).
    static func relativeMaxError(_ a: Tensor, _ b: Tensor) throws -> Float {
        let scale = b.scalars.reduce(0) { max($0, abs($1)) }
        return try maxAbsError(a, b) / max(scale, 1e-6)
    }
}
