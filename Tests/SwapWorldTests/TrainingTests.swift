import Foundation
import SwapIO
import SwapModels
import SwapTensor
import XCTest
@testable import SwapWorld

/// Training of the default model on the tiny recipe (16x16 scenes, a few thousand parameters).
final class TrainingTests: XCTestCase {
    let source = ShapesWorldSource(imageSize: 16)

    /// Every parameter the layout lists is requested by the model code, with its shape.
    func testLayoutMatchesTheModels() throws {
        for recipe in [TrainingRecipe.tiny, .defaultModel] {
            var text = recipe.text
            text.vocabSize = 600
            let unetStore = WeightStore(tensors: ParameterLayout.initialize(ParameterLayout.unet(recipe.unet), seed: 1))
            _ = try UNet2DConditionModel(config: recipe.unet, store: unetStore)
            XCTAssertEqual(unetStore.used.count, ParameterLayout.unet(recipe.unet).count, recipe.name)
            let vaeStore = WeightStore(tensors: ParameterLayout.initialize(ParameterLayout.vae(recipe.vae), seed: 1))
            _ = try AutoencoderKL(config: recipe.vae, store: vaeStore)
            XCTAssertEqual(vaeStore.used.count, ParameterLayout.vae(recipe.vae).count, recipe.name)
            let textStore = WeightStore(tensors: ParameterLayout.initialize(ParameterLayout.textEncoder(text), seed: 1))
            _ = try CLIPTextModel(config: text, weights: textStore)
            XCTAssertEqual(textStore.used.count, ParameterLayout.textEncoder(text).count, recipe.name)
        }
    }

    /// PyTorch's default init: U(−1/√fan_in, 1/√fan_in) for a conv weight, ones/zeros for norms.
    func testInitialisationBounds() throws {
        let specs = ParameterLayout.unet(TrainingRecipe.tiny.unet)
        let values = ParameterLayout.initialize(specs, seed: 3)
        let w = try XCTUnwrap(values["conv_in.weight"])   // [8, 4, 3, 3]: fan_in 36
        XCTAssertLessThanOrEqual(w.abs().max().item, 1 / Float(36).squareRoot())
        XCTAssertGreaterThan(w.abs().max().item, 0.9 / Float(36).squareRoot())
        XCTAssertEqual(values["conv_norm_out.weight"]?.scalars, Array(repeating: 1, count: 8))
        XCTAssertEqual(values["conv_out.weight"]?.abs().max().item, 0)
        XCTAssertEqual(ParameterLayout.initialize(specs, seed: 3)["conv_in.weight"]?.scalars, w.scalars)
    }

    /// Autograd's parameter gradients of one training loss equal central finite differences
    /// (h = 1e-2 on Float32 losses; |autograd − fd| ≤ 2e-3 + 5% of |fd|), for both stages, after a few
    /// steps so the zero-initialised `conv_out` no longer hides the UNet's gradients (all three stages).
    func testGradientsMatchFiniteDifferences() throws {
        let vaeTrainer = try Trainer(recipe: .tiny, stage: .vae, seed: 7, batchSize: 4, source: source)
        for _ in 0..<3 { try vaeTrainer.trainStep() }
        try checkGradients(vaeTrainer, names: ["decoder.conv_out.weight", "encoder.conv_in.weight", "quant_conv.bias",
                                               "decoder.up_blocks.0.resnets.0.norm1.weight"])
        let decoder = try Trainer(recipe: .tiny, stage: .decoder, seed: 7, batchSize: 4, source: source,
                                  vaeWeights: vaeTrainer.averagedParameters)
        try decoder.trainStep()
        try checkGradients(decoder, names: ["decoder.conv_in.weight", "post_quant_conv.weight"])
        let diffusion = try Trainer(recipe: .tiny, stage: .diffusion, seed: 7, batchSize: 4, source: source,
                                    vaeWeights: vaeTrainer.averagedParameters)
        for _ in 0..<3 { try diffusion.trainStep() }
        // conv_out starts at zero and is still tiny after 3 steps; give it O(1) weights so that
        // gradients reach the rest of the UNet with magnitudes finite differences can resolve.
        var generator = PhiloxGenerator(seed: 1)
        let convOut = try XCTUnwrap(diffusion.parameters["unet.conv_out.weight"])
        try checkGradients(diffusion, overrides: ["unet.conv_out.weight": generator.randn(convOut.shape) * 0.3], names: ["unet.conv_out.weight", "unet.conv_in.weight",
                                              "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
                                              "unet.time_embedding.linear_1.weight", "text_encoder.text_model.final_layer_norm.bias",
                                              "text_encoder.text_model.encoder.layers.0.mlp.fc1.weight"])
    }

    func checkGradients(_ trainer: Trainer, overrides: [String: Tensor] = [:], names: [String],
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let step = trainer.step
        func loss(_ values: [String: Tensor], grad: Bool) throws -> (Tensor, [Tensor]) {
            let leaves = trainer.names.map { grad ? values[$0]!.requiringGrad() : values[$0]! }
            let store = WeightStore(tensors: Dictionary(uniqueKeysWithValues: zip(trainer.names, leaves)))
            let l: Tensor
            switch trainer.stage {
            case .vae: l = try trainer.vaeLoss(store: store, step: step).loss
            case .diffusion: l = try trainer.diffusionLoss(store: store, step: step).loss
            case .decoder: l = try trainer.decoderLoss(leaves: Dictionary(uniqueKeysWithValues: zip(trainer.names, leaves)), step: step).loss
            }
            return (l, leaves)
        }
        let base = trainer.parameters.merging(overrides) { $1 }
        let (l, leaves) = try loss(base, grad: true)
        let gradients = l.gradient(with: leaves)
        for name in names {
            let index = try XCTUnwrap(trainer.names.firstIndex(of: name), name)
            let g = gradients[index]
            XCTAssertGreaterThan(g.abs().max().item, 1e-4, "\(trainer.stage) \(name): no gradient to check", file: file, line: line)
            // The three largest-gradient entries (well away from numerical noise).
            let order = g.scalars.indices.sorted { abs(g.scalars[$0]) > abs(g.scalars[$1]) }.prefix(3)
            for j in order {
                let h: Float = 1e-2
                var plus = base, minus = base
                plus[name]!.withUnsafeMutableBufferPointer { $0[j] += h }
                minus[name]!.withUnsafeMutableBufferPointer { $0[j] -= h }
                let lp = try GradMode.withoutGradient { try loss(plus, grad: false).0.item }
                let lm = try GradMode.withoutGradient { try loss(minus, grad: false).0.item }
                let fd = (lp - lm) / (2 * h)
                XCTAssertEqual(g.scalars[j], fd, accuracy: 2e-3 + 0.05 * abs(fd), "\(trainer.stage) \(name)[\(j)]", file: file, line: line)
            }
        }
    }

    /// N steps in one run equal N/2 steps, a checkpoint, a resume and N/2 more, bit for bit
    /// (parameters, AdamW moments, EMA), for every stage.
    func testResumeIsBitExact() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swapscript-resume-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var vaeWeights: [String: Tensor]? = nil
        for stage in TrainingStage.allCases {
            let straight = try Trainer(recipe: .tiny, stage: stage, seed: 11, batchSize: 3, source: source, vaeWeights: vaeWeights)
            for _ in 0..<6 { try straight.trainStep() }
            let first = try Trainer(recipe: .tiny, stage: stage, seed: 11, batchSize: 3, source: source, vaeWeights: vaeWeights)
            for _ in 0..<3 { try first.trainStep() }
            let path = Trainer.checkpointPath(run: folder, stage: stage)
            try first.saveCheckpoint(to: path)
            let resumed = try Trainer.resume(from: path, recipe: .tiny, source: source)
            XCTAssertEqual(resumed.step, 3)
            for _ in 0..<3 { try resumed.trainStep() }
            XCTAssertEqual(resumed.step, 6)
            XCTAssertEqual(resumed.scalingFactor.bitPattern, straight.scalingFactor.bitPattern)
            for (i, name) in straight.names.enumerated() {
                XCTAssertEqual(resumed.optimizer.values[i].scalars, straight.optimizer.values[i].scalars, "\(stage) \(name)")
                XCTAssertEqual(resumed.optimizer.firstMoment[i].scalars, straight.optimizer.firstMoment[i].scalars, "\(stage) \(name) m")
                XCTAssertEqual(resumed.optimizer.secondMoment[i].scalars, straight.optimizer.secondMoment[i].scalars, "\(stage) \(name) v")
                XCTAssertEqual(resumed.ema[i].scalars, straight.ema[i].scalars, "\(stage) \(name) ema")
            }
            if stage == .vae { vaeWeights = straight.averagedParameters }
        }
    }

    /// Over 40 steps the mean loss of the last 10 is well below that of the first 10 (VAE),
    /// and the diffusion loss goes down too.
    func testLossDecreases() throws {
        var recipe = TrainingRecipe.tiny
        recipe.vaeLearningRate = 3e-3
        let vae = try Trainer(recipe: recipe, stage: .vae, seed: 5, batchSize: 8, source: source)
        let vaeLosses = try (0..<40).map { _ in try vae.trainStep().total }
        XCTAssertLessThan(vaeLosses.suffix(10).reduce(0, +), 0.7 * vaeLosses.prefix(10).reduce(0, +), "\(vaeLosses)")
        let diffusion = try Trainer(recipe: recipe, stage: .diffusion, seed: 5, batchSize: 8, source: source,
                                    vaeWeights: vae.averagedParameters)
        let losses = try (0..<40).map { _ in try diffusion.trainStep().total }
        XCTAssertLessThan(losses.suffix(10).reduce(0, +), 0.9 * losses.prefix(10).reduce(0, +), "\(losses)")
    }

    /// Every caption word is one token, the written tokenizer folder loads with the stock
    /// loader and encodes like the in-memory one.
    func testWorldTokenizerMakesEveryWordOneToken() throws {
        let words = source.vocabulary
        let files = WorldTokenizerFiles(words: words)
        let tokenizer = try files.tokenizer()
        for word in words {
            let ids = tokenizer.encode(word)
            XCTAssertEqual(ids[0], tokenizer.bosID)
            XCTAssertEqual(ids[2], tokenizer.eosID, "'\(word)' is more than one token: \(tokenizer.tokenize(word).pieces.prefix(6))")
            XCTAssertEqual(tokenizer.tokenStrings[ids[1]], word + "</w>")
            XCTAssertEqual(ids.count, CLIPTokenizer.maxLength)
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swapscript-tok-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try files.write(to: folder)
        let loaded = try CLIPTokenizer(directory: folder)
        let caption = words.prefix(6).joined(separator: " ")
        XCTAssertEqual(loaded.encode(caption), tokenizer.encode(caption))
        XCTAssertEqual(loaded.padID, tokenizer.eosID)
        // Text outside the vocabulary still tokenises, from the byte alphabet.
        XCTAssertGreaterThan(loaded.encode("zebra!").prefix { $0 != loaded.eosID }.count, 2)
    }
}
