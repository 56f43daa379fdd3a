import Foundation
import Testing
import SwapIO
import SwapLang
@testable import SwapModels
import SwapTensor
@testable import SwapRuntime

/// The "model" builtins on the tiny SD1-style pipeline of Tests/SwapPipelineTests/Fixtures/pipeline/sd1,
/// made by tools/reference/make_pipeline_fixtures.py (diffusers 0.42.1, transformers 5.23.0).
/// References: `sd1_reference.safetensors` from the same script (diffusers' encode_prompt and
/// `vae.decode(latents / scaling_factor)`).
struct ModelBuiltinTests {
    static let pipelineFixtures = repositoryRoot.appendingPathComponent("Tests/SwapPipelineTests/Fixtures/pipeline")
    static let prompt = "A painting of a squirrel eating a burger"

    /// A copy of the sd1 folder completed with tokenizer/vocab.json and merges.txt, which the
    /// committed fixture leaves out: they are derived from the bundled CLIP BPE file, as the
    /// script derived them.
    static let folder: Result<String, Error> = Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("model-builtins-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: pipelineFixtures.appendingPathComponent("sd1"), to: dir)
        let url = try #require(CLIPTokenizer.bundledBPEURL)
        let text = String(decoding: try Gzip.decompress([UInt8](try Data(contentsOf: url))), as: UTF8.self)
        let merges = try CLIPTokenizer.parseMerges(text, fileName: "bpe", limit: CLIPTokenizer.mergeCount, skipFirstLine: true)
        try JSONSerialization.data(withJSONObject: CLIPTokenizer.derivedVocabulary(merges: merges))
            .write(to: dir.appendingPathComponent("tokenizer/vocab.json"))
        try ("#version: 0.2\n" + merges.map { "\($0.0) \($0.1)" }.joined(separator: "\n") + "\n")
            .write(to: dir.appendingPathComponent("tokenizer/merges.txt"), atomically: true, encoding: .utf8)
        return dir.path
    }

    static func reference(_ name: String) throws -> Tensor {
        try #require(try SafeTensors.load(pipelineFixtures.appendingPathComponent("sd1_reference.safetensors").path)[name])
    }

    func loaded() throws -> Harness {
        let h = Harness()
        h.run("m = load_model(\"\(try Self.folder.get())\")")
        #expect(h.status == .ok, "\(h.errors)")
        return h
    }

    @Test func encodeTextMatchesDiffusers() throws {
        let h = try loaded().run("cond = encode_text(m, \"\(Self.prompt)\")")
        let cond = try #require(h.tensor("cond"))
        let expected = try Self.reference("embeds.cond")
        // Tolerance: 1e-4 × the reference's largest magnitude.
        let scale = expected.scalars.map(abs).max() ?? 1
        #expect(maxDifference(cond, expected) <= 1e-4 * scale)
    }

    @Test func vaeDecodeMatchesDiffusers() throws {
        let h = try loaded()
        let final = try Self.reference("latents.final")
        h.session.interpreter.define("z", .tensor(final))
        h.run("img = vae_decode(m, z)")
        let image = try #require(h.image("img"))
        let expected = try Image(tensor: try Self.reference("image"), range: .minusOneToOne)
        // Both sides are rounded to 8 bits: at most one step apart.
        let worst = zip(image.image.pixels, expected.pixels).map { abs($0 - $1) }.max() ?? 1
        #expect(worst <= 1.0 / 255 + 1e-6)
        #expect(FileManager.default.fileExists(atPath: try #require(image.path)))
    }

    @Test func tokensShowIdsPiecesAndWords() throws {
        let h = try loaded().run("""
        t = tokenize(m, "\(Self.prompt)")
        n = t.count
        idx = t.word("squirrel")
        first = t.ids[1]
        piece = t.pieces[5]
        """)
        #expect(h.status == .ok, "\(h.errors)")
        #expect(h.number("n") == 10)  // BOS + 8 words + EOS
        guard case .list(let idx)? = h.session.bindings["idx"] else { Issue.record("no idx"); return }
        #expect(idx.items.map(\.summary) == ["5"])
        #expect(h.session.bindings["piece"]?.text == "squirrel")
    }

    @Test func unetAndVaeEncodeShapes() throws {
        let h = try loaded().run("""
        cond = encode_text(m, "a cat")
        z = randn([2, 4, 16, 16], seed: 1)
        eps = unet(m, z, 981, cond)
        x = vae_encode(m, randn([1, 3, 32, 32], seed: 2).clamp(-1, 1))
        """)
        #expect(h.status == .ok, "\(h.errors)")
        #expect(h.tensor("eps")?.shape == [2, 4, 16, 16])
        #expect(h.tensor("x")?.shape == [1, 4, 16, 16])
    }

    @Test func wrongInputsGiveClearErrorsAndKeepBindings() throws {
        let h = try loaded()
        h.run("cond = encode_text(m, \"a cat\")")
        h.run("eps = unet(m, randn([1, 3, 16, 16]), 10, cond)")
        #expect(h.status == .runtimeFailure)
        #expect(h.lastError.contains("unet: latent has shape [1,3,16,16], expected 4 channels"), "\(h.lastError)")
        h.run("eps = unet(m, randn([1, 4, 16, 16]), 1000, cond)")
        #expect(h.lastError.contains("unet: t must be a timestep in 0..<1000"), "\(h.lastError)")
        h.run("x = vae_encode(m, randn([1, 3, 31, 32]))")
        #expect(h.lastError.contains("multiples of 2"), "\(h.lastError)")
        h.run("w = tokenize(m, \"a cat\").word(\"dog\")")
        #expect(h.lastError.contains("\"dog\" is not a word of \"a cat\""), "\(h.lastError)")
        h.run("m2 = load_model(\"/nonexistent/model\")")
        #expect(h.lastError.contains("load_model: no such file or folder"))
        #expect(h.tensor("cond") != nil, "earlier bindings survive errors")
    }
}
