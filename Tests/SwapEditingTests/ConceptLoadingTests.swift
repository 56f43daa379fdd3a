import Foundation
import Testing
@testable import SwapEditing
import SwapIO
import SwapModels
import SwapTensor

/// Textual inversion on the tiny SD1 model against diffusers (tools/reference/make_distillation_fixtures.py).
struct ConceptLoadingTests {
    static func write(_ tensors: [(String, Tensor)], _ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "ti-\(UUID().uuidString)-\(name)"
        try SafeTensors.write(tensors, metadata: [:], to: path, dtype: .f32)
        return path
    }

    /// learned_embeds.safetensors and an A1111 two-vector file load like `load_textual_inversion`:
    /// the same token ids (the two-vector token expands in the prompt) and prompt embeddings
    /// within 1e-5.
    @Test func loadingMatchesDiffusers() throws {
        var model = try DistillationFixtures.model.get()
        let single = try Self.write([("<tiny-cup>", DistillationFixtures.tensor("ti.single"))], "learned_embeds.safetensors")
        let double = try Self.write([("emb_params", DistillationFixtures.tensor("ti.double"))], "a1111.safetensors")
        model = try model.addingTextualInversion(TextualInversionEmbedding(contentsOf: single))
        model = try model.addingTextualInversion(TextualInversionEmbedding(contentsOf: double, token: "<two>"))
        for (k, prompt) in ["a <tiny-cup> on a table", "two <two> and a <tiny-cup>"].enumerated() {
            let ids = model.tokenizer.encode(prompt)
            #expect(ids == (try DistillationFixtures.tensor("ti.ids\(k)")).scalars.map { Int($0) }, "ids of \(prompt)")
            let embeds = try model.textEncoder.promptEmbeddings([ids])
            let err = DistillationFixtures.maxAbs(embeds, try DistillationFixtures.tensor("ti.embeds\(k)"))
            #expect(err <= 1e-5, "embeddings of \(prompt): max abs error \(err)")
        }
        #expect(throws: (any Error).self) { try TextualInversionEmbedding(contentsOf: double) }   // A1111 needs a token
        #expect(throws: (any Error).self) {
            try model.addingTextualInversion(TextualInversionEmbedding(token: "<tiny-cup>", vectors: Tensor(zeros: [16])))
        }
    }

    /// The textual-inversion loss and its gradient with respect to the new row, against torch
    /// autograd (loss ≤ 1e-5 relative, gradient ≤ 1e-6 absolute against a max of 5.6e-3).
    @Test func learningGradientMatchesTorch() throws {
        let model = try DistillationFixtures.model.get()
        let z = try DistillationFixtures.tensor("z_source")
        let learning = try TokenLearning(model: model, latents: [z], token: "<tiny>", initializer: "toy")
        let ids = learning.predictor.model.tokenizer.encode("a photo of a <tiny>")
        let (loss, gradient) = try learning.lossAndGradient(latent: z, ids: ids, t: 600, noise: DistillationFixtures.tensor("eps"))
        let want = try DistillationFixtures.tensor("ti.loss").item
        #expect(abs(loss - want) <= 1e-5 * want, "loss \(loss) vs \(want)")
        let err = DistillationFixtures.maxAbs(gradient, try DistillationFixtures.tensor("ti.grad"))
        #expect(err <= 1e-6, "gradient max abs error \(err)")
    }

    /// A few steps move only the new token's vector; the learned model encodes it.
    @Test func learningMovesTheToken() throws {
        let model = try DistillationFixtures.model.get()
        var settings = TokenLearningSettings()
        settings.steps = 3
        let learning = try TokenLearning(model: model, latents: [try DistillationFixtures.tensor("z_source")], token: "<tiny>",
                                         initializer: "toy", settings: settings)
        let start = learning.state.vector
        try learning.run(.detached)
        #expect(learning.trace.count == 3 && learning.trace.series("loss")!.allSatisfy(\.isFinite))
        #expect(DistillationFixtures.maxAbs(learning.state.vector, start) > 0)
        let learned = try learning.learnedModel()
        let id = try #require(learned.tokenizer.vocabulary["<tiny>"])
        #expect(try learned.textEncoder.tokenEmbedding.sliced(axis: 0, start: id, end: id + 1).scalars == learning.state.vector.scalars)
    }
}

/// LoRA merged into the UNet against diffusers `load_lora_weights` + `set_adapters` (peft
/// 0.21.2): kohya keys at scale 0.7 and PEFT keys at scale 1 give the reference UNet outputs
/// within 2e-5 (outputs differ from the LoRA-free UNet by up to 0.42).
struct LoRALoadingTests {
    @Test func kohyaAndPeftMatchDiffusers() throws {
        let base = try DistillationFixtures.model.get()
        let all = try DistillationFixtures.reference.get()
        let kohya = Dictionary(uniqueKeysWithValues: all.filter { $0.key.hasPrefix("lora.kohya/") }.map { (String($0.key.dropFirst(11)), $0.value) })
        var peft: [String: Tensor] = [:]
        for (k, v) in kohya where !k.hasSuffix(".alpha") {
            let module = String(k.split(separator: ".")[0].dropFirst("lora_unet_".count))
            let name = try #require(LoRA.moduleShapes(base).keys.first { $0.replacingOccurrences(of: ".", with: "_") == "unet_" + module })
            peft["\(name).\(k.hasSuffix("lora_down.weight") ? "lora_A" : "lora_B").weight"] = v
        }
        let z = try DistillationFixtures.tensor("z_source"), eps = try DistillationFixtures.tensor("eps")
        let embed = try base.textEncoder.promptEmbeddings([base.tokenizer.encode("a red circle")])
        let zt = try ScoreDistillationTests.dds().0.noised(z, eps, 500)   // α_500·z + σ_500·ε, as the reference
        func output(_ m: StableDiffusion) throws -> Tensor { try m.unet(zt, timestep: 500, encoderHiddenStates: embed) }
        #expect(DistillationFixtures.maxAbs(try output(base), try DistillationFixtures.tensor("lora.out_none")) <= 2e-5)
        for (name, tensors, scale) in [("kohya", kohya, Float(0.7)), ("peft", peft, Float(1))] {
            let m = try base.addingLoRA(LoRA.updates(tensors, model: base), scale: scale)
            let err = DistillationFixtures.maxAbs(try output(m), try DistillationFixtures.tensor("lora.out_\(name)"))
            #expect(err <= 2e-5, "\(name): max abs error \(err)")
        }
    }

    static let full = Result { () throws -> [String: Tensor] in
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return try SafeTensors.load(url.appendingPathComponent("lora_reference.safetensors").path)
    }

    /// Every layer kind (tools/reference/make_concept_fixtures.py): a kohya LoRA/LoCon over the
    /// attention projections, feed-forward, proj_in/out, resnet conv1/conv2 (3x3 down, 1x1 up),
    /// conv_shortcut, time_emb_proj and the text encoder's projections and MLP (alpha 2 or 8,
    /// scale 0.7), and a PEFT file over every Linear and Conv2d of both models (scale 1), against
    /// diffusers `load_lora_weights` + `set_adapters`: text-encoder and UNet outputs within 1e-4
    /// relative to their largest magnitude.
    @Test func everyLayerKindMatchesDiffusers() throws {
        let base = try DistillationFixtures.model.get()
        let all = try Self.full.get()
        func file(_ prefix: String) -> [String: Tensor] {
            Dictionary(uniqueKeysWithValues: all.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
        }
        let ids = try #require(all["ids"]).scalars.map { Int($0) }
        let zt = try #require(all["zt"])
        for (name, scale) in [("none", Float(0)), ("kohya", 0.7), ("peft", 1)] {
            let model = name == "none" ? base : try base.addingLoRA(LoRA.updates(file(name + "/"), model: base), scale: scale)
            let text = try model.textEncoder.promptEmbeddings([ids])
            let unet = try model.unet(zt, timestep: 500, encoderHiddenStates: text)
            for (got, key) in [(text, "out.\(name).text"), (unet, "out.\(name).unet")] {
                let want = try #require(all[key])
                let err = DistillationFixtures.maxAbs(got, want) / want.scalars.map(abs).max()!
                #expect(err <= 1e-4, "\(key): max abs error relative to the largest value \(err)")
                print("lora \(key): max abs error / max |reference| = \(err)")
            }
        }
        #expect(file("kohya/").keys.contains { $0.hasPrefix("lora_te_") && $0.hasSuffix("fc1.lora_down.weight") })
        #expect(file("kohya/").keys.contains { $0.hasSuffix("conv1.lora_down.weight") })
        // Unknown kinds and layers are reported, mismatched factors named.
        #expect(throws: (any Error).self) { try LoRA.updates(["lora_unet_conv_in.hada_w1_a": Tensor(zeros: [4, 4])], model: base) }
        #expect(throws: (any Error).self) { try LoRA.updates(["lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": Tensor(zeros: [4, 16])], model: base) }
        let wrong = ["lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": Tensor(zeros: [4, 15]),
                     "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": Tensor(zeros: [37, 4])]
        #expect(throws: (any Error).self) { try base.addingLoRA(LoRA.updates(wrong, model: base)) }
    }
}
