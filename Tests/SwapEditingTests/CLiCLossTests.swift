import Foundation
import SwapIO
import SwapTensor
import Testing
@testable import SwapEditing
@testable import SwapModels

/// CLiC's learning losses and gradients against tools/reference/make_clic_fixtures.py
/// (Fixtures/clic_reference.safetensors): one step of the official learning.py (code variant,
/// no augmentation) re-derived with diffusers on the tiny SD1 pipeline.
struct CLiCLossTests {
    static let reference = Result {
        try SafeTensors.load(try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            .appendingPathComponent("clic_reference.safetensors").path)
    }

    static func tensor(_ name: String) throws -> Tensor { try #require(try reference.get()[name], "no \(name)") }

    /// The learning process on the tiny model with the reference's prompts.
    static func learning() throws -> CLiCLearning {
        var settings = CLiCLearningSettings()
        settings.roiPrompts = ["a pattern of {token}"]
        settings.prompt = "a {object} with {token} style"
        return try CLiCLearning(model: try ProcessFixtures.model.get(), image: try tensor("in.image"), mask: try tensor("in.mask"),
                                token: "<x>", baseObject: "square", settings: settings)
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.scalars, b.scalars).map { Swift.abs($0 - $1) }.max() ?? .infinity
    }

    @Test func lossesAndGradientsMatchTheReference() throws {
        let p = try Self.learning()
        // The prompts tokenise as the reference's (the added token is id 49408 in both).
        let ids = p.training.tokenizer.encode(p.prompt).map(Float.init)
        #expect(ids == (try Self.tensor("in.prompt_ids")).scalars)
        #expect(p.training.tokenizer.encode("a pattern of <x>").map(Float.init) == (try Self.tensor("in.roi_ids")).scalars)

        let draws = CLiCLearning.Draws(flip: false, brightness: 1, t: Int(try Self.tensor("in.t").item),
                                       noise: try Self.tensor("in.noise"), posteriorNoise: try Self.tensor("in.post_noise"),
                                       roiPosteriorNoise: try Self.tensor("in.roi_post_noise"), roiPrompt: "a pattern of {token}")
        let e = try p.evaluate(draws)
        // Loss terms: relative 1e-5 (float32 in both, different kernels; measured ≤ 3e-7).
        for (name, value) in [("l_att", e.attention), ("l_con", e.context), ("l_roi", e.roi), ("loss", Optional(e.total))] {
            let expected = try Self.tensor("out.\(name)").item
            let got = try #require(value).item
            print("CLiC reference \(name): \(got) vs \(expected)")
            #expect(Swift.abs(got - expected) <= 1e-5 * Swift.abs(expected), "\(name): \(got) vs \(expected)")
        }
        // The map before min-max: absolute 1e-6 (values ≈ 1e-2).
        #expect(Self.maxDifference(e.map, try Self.tensor("out.map")) <= 1e-6)
        // Gradients: max |difference| ≤ 1e-4 × max |reference| per tensor (measured ≤ 2e-6).
        func check(_ got: Tensor, _ name: String) throws {
            let expected = try Self.tensor(name)
            #expect(got.shape == expected.shape, "\(name) shape")
            let scale = expected.scalars.map(Swift.abs).max() ?? 0
            let diff = Self.maxDifference(got, expected)
            print("CLiC reference \(name): max |diff| \(diff), max |ref| \(scale)")
            #expect(scale > 0 && diff <= 1e-4 * scale, "\(name): max diff \(diff), max |ref| \(scale)")
        }
        try check(e.gradients[0], "grad.embedding")
        let names = ["up_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
                     "up_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q.weight",
                     "up_blocks.0.attentions.1.transformer_blocks.0.attn2.to_out.0.bias",
                     "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.weight",
                     "mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0.weight"]
        for name in names {
            let k = try #require(p.parameterNames.firstIndex(of: name), "\(name) is not trained")
            try check(e.gradients[k + 1], "grad." + name)
        }
    }

    @Test func startTokenDetachChangesOnlyGradients() throws {
        // With the detach off the forward values are identical; the gradients differ.
        let p = try Self.learning()
        var s = p.settings
        s.detachStartToken = false
        let q = try CLiCLearning(model: try ProcessFixtures.model.get(), image: p.image, mask: p.mask, token: "<x>", baseObject: "square", settings: s)
        let d = CLiCLearning.Draws(flip: false, brightness: 1, t: 300, noise: try Self.tensor("in.noise"),
                                   posteriorNoise: try Self.tensor("in.post_noise"), roiPosteriorNoise: try Self.tensor("in.roi_post_noise"),
                                   roiPrompt: "a pattern of {token}")
        let (a, b) = (try p.evaluate(d), try q.evaluate(d))
        #expect(a.total.item == b.total.item)
        let k = try #require(p.parameterNames.firstIndex(of: "up_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight")) + 1
        #expect(Self.maxDifference(a.gradients[k], b.gradients[k]) > 0)
    }

    @Test func conceptFileRoundTrip() throws {
        let p = try Self.learning()
        try p.advance(RunContext.detached)
        let concept = p.concept()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("clic-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try concept.save(to: path)
        let loaded = try CLiCConcept(contentsOf: path)
        #expect(loaded.token == "<x>" && loaded.baseObject == "square")
        #expect(Set(loaded.parameters.keys) == Set(p.parameterNames))
        #expect(loaded.embedding.scalars == concept.embedding.scalars)
        for (name, value) in concept.parameters { #expect(loaded.parameters[name]?.scalars == value.scalars, "\(name)") }
        #expect(loaded.sourceMask?.scalars == p.mask.scalars)
        // Applied to the base model, the loaded concept predicts exactly what the learned one does.
        let base = try ProcessFixtures.model.get()
        let (m1, m2) = (try concept.applied(to: base), try loaded.applied(to: base))
        let ids = m1.tokenizer.encode("a square with <x> style")
        #expect(ids == m2.tokenizer.encode("a square with <x> style") && ids.contains(49408))
        let z = try Self.tensor("in.noise")
        let c1 = try m1.textEncoder.promptEmbeddings([ids]), c2 = try m2.textEncoder.promptEmbeddings([ids])
        let e1 = try m1.unet(z, timesteps: [400], encoderHiddenStates: c1, hooks: [], rowRoles: nil)
        let e2 = try m2.unet(z, timesteps: [400], encoderHiddenStates: c2, hooks: [], rowRoles: nil)
        #expect(e1.scalars == e2.scalars)
        // A file that is not a concept is refused with a clear error.
        try SafeTensors.write(["x": Tensor(zeros: [2])], to: path)
        #expect(throws: EditingError.self) { try CLiCConcept(contentsOf: path) }
    }
}
