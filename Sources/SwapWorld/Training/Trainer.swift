import Foundation
import SwapModels
import SwapSchedulers
import SwapTensor

/// The two training stages of the default model.
public enum TrainingStage: String, Sendable, CaseIterable {
    /// The autoencoder on scenes: L1 + L2 reconstruction + a tiny KL.
    case vae
    /// Text encoder + UNet on latents of the frozen VAE: ε-prediction, caption dropout.
    case diffusion
    /// The VAE decoder alone, fine-tuned with the encoder frozen (on crops of whole-scene
    /// latents): the latent space
    /// (and so the trained UNet) stays valid while reconstructions improve (as SD's ft-MSE VAE).
    case decoder
}

/// The losses of one step.
public struct StepLosses: Sendable {
    /// What was minimised.
    public var total: Float
    /// Named parts for the progress line (reconstruction, KL, ...).
    public var parts: [(String, Float)]
}

/// Trains one stage with SwapScript's own autograd: each step makes every parameter a
/// gradient-tracking leaf, builds the existing model (`AutoencoderKL`, `CLIPTextModel`,
/// `UNet2DConditionModel`) from an in-memory `WeightStore` of those leaves, runs it forward,
/// back-propagates, clips the global gradient norm, applies AdamW (decoupled weight decay) and
/// updates an exponential moving average of the weights.
///
/// A step is a pure function of (state, seed, step): the scenes of step k come from seeds
/// derived from (seed, k), and the noise, timesteps and caption dropout from the Philox stream
/// (seed, k). So N steps in one run equal N/2 steps, a checkpoint, a resume and N/2 more, bit for bit.
public final class Trainer {
    public let recipe: TrainingRecipe
    public let stage: TrainingStage
    public let seed: UInt64
    public let batchSize: Int
    let source: any TrainingSceneSource
    /// Parameter names in optimiser order (sorted). Diffusion names carry a `text_encoder.` or
    /// `unet.` prefix.
    public let names: [String]
    var optimizer: Adam
    var ema: [Tensor]

    // Diffusion stage only.
    /// The frozen VAE weights (the VAE stage's EMA).
    var frozenVAE: [String: Tensor] = [:]
    var vae: AutoencoderKL?
    /// Latents are multiplied by this (1 / std of the VAE's latents), as SD's 0.18215.
    public internal(set) var scalingFactor: Float = 1
    public let tokenizer: CLIPTokenizer
    let tokenizerFiles: WorldTokenizerFiles
    let alphasCumprod: [Float]

    /// Steps done so far.
    public var step: Int { optimizer.stepCount }

    /// A fresh run. For the diffusion stage `vaeWeights` are the trained (EMA) VAE weights.
    public init(recipe: TrainingRecipe, stage: TrainingStage, seed: UInt64, batchSize: Int,
                source: any TrainingSceneSource, vaeWeights: [String: Tensor]? = nil, measureScale: Bool = true) throws {
        guard batchSize > 0 else { throw TrainingError("train: batch size must be positive") }
        tokenizerFiles = WorldTokenizerFiles(words: source.vocabulary)
        tokenizer = try tokenizerFiles.tokenizer()
        var recipe = recipe
        recipe.text.vocabSize = tokenizerFiles.vocabulary.count
        self.recipe = recipe
        self.stage = stage
        self.seed = seed
        self.batchSize = batchSize
        self.source = source
        alphasCumprod = NoiseSchedule(config: TrainingRecipe.schedulerConfig).alphasCumprod

        let specs: [ParameterSpec]
        switch stage {
        case .vae:
            specs = ParameterLayout.vae(recipe.vae)
        case .decoder:
            specs = ParameterLayout.vae(recipe.vae).filter(Self.isDecoderParameter)
        case .diffusion:
            specs = ParameterLayout.textEncoder(recipe.text).map { ParameterSpec(name: "text_encoder." + $0.name, shape: $0.shape, initialization: $0.initialization) }
                + ParameterLayout.unet(recipe.unet).map { ParameterSpec(name: "unet." + $0.name, shape: $0.shape, initialization: $0.initialization) }
        }
        var initial = ParameterLayout.initialize(specs, seed: TrainingSeeds.derive(seed, stage == .vae ? 1 : 2))
        if stage == .decoder {
            guard let vaeWeights else { throw TrainingError("train decoder: needs the trained VAE weights (run the vae stage first)") }
            for name in initial.keys {
                guard let trained = vaeWeights[name] else { throw TrainingError("train decoder: the VAE weights lack '\(name)'") }
                initial[name] = trained
            }
        }
        names = initial.keys.sorted()
        let values = names.map { initial[$0]! }
        optimizer = Adam(values, learningRate: 0, weightDecay: recipe.weightDecay, decoupledWeightDecay: true)
        ema = values
        if stage == .decoder, let vaeWeights { try setFrozenVAE(vaeWeights) }
        if stage == .diffusion {
            guard let vaeWeights else { throw TrainingError("train diffusion: needs the trained VAE weights (run the vae stage first)") }
            try setFrozenVAE(vaeWeights)
            if measureScale { scalingFactor = try measureScalingFactor() }
        }
    }

    func setFrozenVAE(_ weights: [String: Tensor]) throws {
        frozenVAE = weights
        vae = try AutoencoderKL(config: recipe.vae, store: WeightStore(tensors: weights))
    }

    /// The current parameters by name.
    public var parameters: [String: Tensor] { Dictionary(uniqueKeysWithValues: zip(names, optimizer.values)) }
    /// The moving average of the parameters by name (what gets exported).
    public var averagedParameters: [String: Tensor] { Dictionary(uniqueKeysWithValues: zip(names, ema)) }

    /// The learning rate at `step` (linear warm-up, then constant).
    func learningRate(at step: Int) -> Float {
        let base = stage == .diffusion ? recipe.diffusionLearningRate : recipe.vaeLearningRate
        return base * Swift.min(1, Float(step + 1) / Float(Swift.max(recipe.warmupSteps, 1)))
    }

    /// One optimisation step; returns its losses.
    @discardableResult
    public func trainStep() throws -> StepLosses {
        let k = step
        let leaves = optimizer.parameters
        let store = WeightStore(tensors: Dictionary(uniqueKeysWithValues: zip(names, leaves)))
        let losses: (loss: Tensor, parts: [(String, Tensor)])
        switch stage {
        case .vae: losses = try vaeLoss(store: store, step: k)
        case .decoder: losses = try decoderLoss(leaves: Dictionary(uniqueKeysWithValues: zip(names, leaves)), step: k)
        case .diffusion: losses = try diffusionLoss(store: store, step: k)
        }
        var gradients = losses.loss.gradient(with: leaves)
        let total = losses.loss.item
        guard total.isFinite else { throw TrainingError("train \(stage.rawValue): loss is \(total) at step \(k)") }
        clip(&gradients)
        optimizer.learningRate = learningRate(at: k)
        optimizer.step(gradients: gradients)
        updateAverage(step: k)
        return StepLosses(total: total, parts: losses.parts.map { ($0.0, $0.1.item) })
    }

    /// Scales the gradients so their global L2 norm is at most `recipe.gradientClip` (norm
    /// summed in Double in parameter order: deterministic).
    func clip(_ gradients: inout [Tensor]) {
        var sum = 0.0
        for g in gradients { g.withUnsafeBufferPointer { for v in $0 { sum += Double(v) * Double(v) } } }
        let norm = Float(sum.squareRoot())
        guard recipe.gradientClip > 0, norm > recipe.gradientClip else { return }
        let scale = recipe.gradientClip / (norm + 1e-6)
        gradients = gradients.map { $0 * scale }
    }

    /// ema ← d·ema + (1 − d)·θ with d = min(decay, (1 + k)/(10 + k)).
    func updateAverage(step k: Int) {
        let d = Swift.min(recipe.emaDecay, Float(1 + k) / Float(10 + k))
        for i in ema.indices {
            let p = optimizer.values[i].pointer
            ema[i].withUnsafeMutableBufferPointer { e in
                for j in e.indices { e[j] = d * e[j] + (1 - d) * p[j] }
            }
        }
    }

    func sceneSeeds(step k: Int) -> [UInt64] { (0..<batchSize).map { TrainingSeeds.scene(seed, step: k, row: $0) } }

    // MARK: Losses

    func vaeLoss(store: WeightStore, step k: Int) throws -> (loss: Tensor, parts: [(String, Tensor)]) {
        let model = try AutoencoderKL(config: recipe.vae, store: store)
        var (x, _) = try source.batch(seeds: sceneSeeds(step: k), objects: recipe.objects)
        var generator = TrainingSeeds.stepGenerator(seed, step: k)
        if let crop = recipe.vaeCrop, crop < x.shape[2] { x = try randomCrops(x, size: crop, generator: &generator) }
        let posterior = try model.encode(x)
        let z = try posterior.sample(noise: generator.randn(posterior.mean.shape))
        let difference = try model.decode(z) - x
        let l1 = difference.abs().mean(), l2 = difference.squared().mean()
        let kl = try ((posterior.mean.squared() + posterior.logvar.exp() - posterior.logvar) - 1).mean() * 0.5
        let loss = try l1 + l2 * recipe.vaeL2Weight + kl * recipe.vaeKLWeight
        return (loss, [("l1", l1), ("l2", l2), ("kl", kl)])
    }

    /// Whether a VAE parameter belongs to the decoder side (trained by the decoder stage).
    static func isDecoderParameter(_ spec: ParameterSpec) -> Bool {
        spec.name.hasPrefix("decoder.") || spec.name.hasPrefix("post_quant_conv.")
    }

    func decoderLoss(leaves: [String: Tensor], step k: Int) throws -> (loss: Tensor, parts: [(String, Tensor)]) {
        let (x, _) = try source.batch(seeds: sceneSeeds(step: k), objects: recipe.objects)
        var generator = TrainingSeeds.stepGenerator(seed, step: k)
        var z = try latents(x, generator: &generator)   // unscaled: scalingFactor is 1 here
        var target = x
        if let crop = recipe.vaeCrop, crop < x.shape[2] {
            // Latents of whole scenes (as the UNet sees them), cropped with their pixels.
            (z, target) = try latentCrops(z, x, size: crop, generator: &generator)
        }
        let model = try AutoencoderKL(config: recipe.vae, store: WeightStore(tensors: frozenVAE.merging(leaves) { $1 }))
        let difference = try model.decode(z) - target
        let l1 = difference.abs().mean(), l2 = difference.squared().mean()
        return (try l1 + l2 * recipe.vaeL2Weight, [("l1", l1), ("l2", l2)])
    }

    /// One random `size`×`size` crop per image, at offsets on the latent grid.
    func randomCrops(_ x: Tensor, size: Int, generator: inout PhiloxGenerator) throws -> Tensor {
        let f = recipe.vae.downsampleFactor
        let positions = (x.shape[2] - size) / f + 1
        let u = generator.uniform(2 * x.shape[0])
        let crops = try (0..<x.shape[0]).map { i -> Tensor in
            let top = Swift.min(Int(u[2 * i] * Float(positions)), positions - 1) * f
            let left = Swift.min(Int(u[2 * i + 1] * Float(positions)), positions - 1) * f
            return try x.sliced(axis: 0, start: i, end: i + 1).sliced(axis: 2, start: top, end: top + size)
                .sliced(axis: 3, start: left, end: left + size)
        }
        return try Tensor.concat(crops, axis: 0)
    }

    /// One random crop per row of latents `z` and the matching `size`×`size` pixels of `x`.
    func latentCrops(_ z: Tensor, _ x: Tensor, size: Int, generator: inout PhiloxGenerator) throws -> (Tensor, Tensor) {
        let f = recipe.vae.downsampleFactor, cells = size / f
        let positions = z.shape[2] - cells + 1
        let u = generator.uniform(2 * z.shape[0])
        var latentRows: [Tensor] = [], pixelRows: [Tensor] = []
        for i in 0..<z.shape[0] {
            let top = Swift.min(Int(u[2 * i] * Float(positions)), positions - 1)
            let left = Swift.min(Int(u[2 * i + 1] * Float(positions)), positions - 1)
            latentRows.append(try z.sliced(axis: 0, start: i, end: i + 1).sliced(axis: 2, start: top, end: top + cells)
                .sliced(axis: 3, start: left, end: left + cells))
            pixelRows.append(try x.sliced(axis: 0, start: i, end: i + 1).sliced(axis: 2, start: top * f, end: (top + cells) * f)
                .sliced(axis: 3, start: left * f, end: (left + cells) * f))
        }
        return (try Tensor.concat(latentRows, axis: 0), try Tensor.concat(pixelRows, axis: 0))
    }

    /// Scaled VAE latents (posterior samples) of `x`, without gradients.
    func latents(_ x: Tensor, generator: inout PhiloxGenerator) throws -> Tensor {
        guard let vae else { throw TrainingError("train diffusion: no VAE") }
        return try GradMode.withoutGradient {
            let posterior = try vae.encode(x)
            return try posterior.sample(noise: generator.randn(posterior.mean.shape)) * scalingFactor
        }
    }

    func diffusionLoss(store: WeightStore, step k: Int) throws -> (loss: Tensor, parts: [(String, Tensor)]) {
        let (x, captions) = try source.batch(seeds: sceneSeeds(step: k), objects: recipe.objects)
        var generator = TrainingSeeds.stepGenerator(seed, step: k)
        let z0 = try latents(x, generator: &generator)
        let b = z0.shape[0]
        let dropout = generator.uniform(b)
        let timesteps = generator.uniform(b).map { Swift.min(Int($0 * 1000), 999) }
        let noise = generator.randn(z0.shape)

        let text = try CLIPTextModel(config: recipe.text, weights: store.prefixed("text_encoder."))
        let unet = try UNet2DConditionModel(config: recipe.unet, store: store.prefixed("unet."))
        let ids = zip(captions, dropout).map { tokenizer.encode($1 < recipe.captionDropout ? "" : $0) }
        let context = try text.promptEmbeddings(ids)

        let ab = timesteps.map { alphasCumprod[$0] }
        let signal = Tensor(shape: [b, 1, 1, 1], scalars: ab.map { $0.squareRoot() })
        let sigma = Tensor(shape: [b, 1, 1, 1], scalars: ab.map { (1 - $0).squareRoot() })
        let noisy = try z0 * signal + noise * sigma
        let prediction = try unet(noisy, timesteps: timesteps.map(Float.init), encoderHiddenStates: context)
        let perRow = try (prediction - noise).squared().mean(axes: [1, 2, 3])
        let weights: [Float] = ab.map { a in
            guard let gamma = recipe.minSNRGamma else { return 1 }
            let snr = a / (1 - a)
            return Swift.min(snr, gamma) / snr
        }
        let loss = try (perRow * Tensor(shape: [b], scalars: weights)).mean()
        return (loss, [("mse", perRow.mean())])
    }

    /// 1 / std of the VAE's latent means over a fixed batch of 64 scenes (SD's scaling factor
    /// was found the same way).
    func measureScalingFactor() throws -> Float {
        guard let vae else { return 1 }
        let seeds = (0..<64).map { TrainingSeeds.mix(TrainingSeeds.derive(seed, 3) &+ UInt64($0)) }
        let (x, _) = try source.batch(seeds: seeds, objects: recipe.objects)
        let mean = try GradMode.withoutGradient { try vae.encode(x).mean }
        let std = mean.variance().item.squareRoot()
        guard std.isFinite, std > 0 else { throw TrainingError("train diffusion: the VAE's latents have std \(std)") }
        return 1 / std
    }
}
