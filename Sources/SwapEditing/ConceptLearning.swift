import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// Textual inversion (Gal et al. 2022) as diffusers' examples/textual_inversion/textual_inversion.py
// trains it: a new token whose embedding row starts at an initializer word's, the prompt a
// template with the token ("a photo of a {}", …), the denoising loss ‖ε̂(z_t, t, c) − ε‖² (or the
// v target) at a uniform t in 0..<1000, AdamW (weight decay 1e-2) on that row only; every other
// weight stays fixed.

/// The settings of token learning (defaults: the diffusers example's recipe, batch 1).
public struct TokenLearningSettings: Sendable, Equatable {
    public var steps = 3000
    /// AdamW learning rate: 5e-4 × 4 accumulation steps, the example README's scaled rate.
    public var learningRate: Float = 2e-3
    public var weightDecay: Float = 1e-2
    public var seed: UInt64 = 0
    /// Prompt templates ("{}" is replaced by the token), used in turn.
    public var templates = ["a photo of a {}", "a rendering of a {}", "a cropped photo of the {}", "the photo of a {}",
                            "a photo of a clean {}", "a photo of a dirty {}", "a dark photo of the {}", "a photo of my {}",
                            "a photo of the cool {}", "a close-up photo of a {}", "a bright photo of the {}", "a good photo of a {}"]

    public init() {}
}

/// Learning one textual-inversion token; each step is one optimisation step on one image.
public final class TokenLearning: ValueStateProcess {
    public struct State {
        /// The token's embedding [hidden].
        public var vector: Tensor
        var optimizer: Adam
        public var index = 0
        public var loss: Double = .nan
        public var t: Int?
    }

    public let settings: TokenLearningSettings
    /// The model without the token (the result adds it).
    public let base: StableDiffusion
    public let token: String
    /// VAE latents (× scaling factor) of the training images, each [1, C, h, w].
    public let latents: [Tensor]
    let predictor: NoisePredictor
    let tokenID: Int
    let alphasCumprod: [Float]
    let predictionIsV: Bool

    public var state: State
    public let history = ProcessHistory()
    public var trace = ProcessTrace()

    /// - Parameters:
    ///   - initializer: a word of one token whose embedding starts the new one.
    public init(model: StableDiffusion, latents: [Tensor], token: String, initializer: String,
                settings: TokenLearningSettings = TokenLearningSettings()) throws {
        guard !latents.isEmpty else { throw EditingError("learn_token: no images") }
        for z in latents where z.rank != 4 || z.shape[0] != 1 || z.shape[1] != model.unet.config.inChannels {
            throw EditingError("learn_token: latent \(formatShape(z.shape)) is not [1, \(model.unet.config.inChannels), h, w]")
        }
        guard settings.steps >= 0, settings.learningRate.isFinite, settings.learningRate > 0, !settings.templates.isEmpty,
              settings.templates.allSatisfy({ $0.contains("{}") }) else {
            throw EditingError("learn_token: steps ≥ 0, a positive learning rate and templates containing {} are required")
        }
        let initIDs = model.tokenizer.encode(initializer).filter {
            $0 != model.tokenizer.bosID && $0 != model.tokenizer.eosID && $0 != model.tokenizer.padID
        }
        guard initIDs.count == 1 else {
            throw EditingError("learn_token: the initializer \"\(initializer)\" must be a single token, it is \(initIDs.count)")
        }
        let start = try model.textEncoder.tokenEmbedding.sliced(axis: 0, start: initIDs[0], end: initIDs[0] + 1).reshaped([model.textEncoder.config.hiddenSize])
        let training = try model.addingTextualInversion(TextualInversionEmbedding(token: token, vectors: start))
        guard let id = training.tokenizer.vocabulary[token] else { throw EditingError("learn_token: the token was not added") }
        self.settings = settings
        base = model
        self.token = token
        self.latents = latents
        predictor = NoisePredictor(model: training)
        tokenID = id
        let config = try StableDiffusionPipeline(model: model).schedulerConfig(.ddpm)
        alphasCumprod = NoiseSchedule(config: config).alphasCumprod
        predictionIsV = config.predictionType == .vPrediction
        state = State(vector: start, optimizer: Adam.adamW([start], learningRate: settings.learningRate, weightDecay: settings.weightDecay))
    }

    public var kindName: String { "learn_token" }
    public var index: Int { state.index }
    public var totalSteps: Int? { settings.steps }
    public var isDone: Bool { state.index >= settings.steps }
    public var progressSummary: String {
        "learn_token \(token) step \(index)/\(settings.steps)" + (state.loss.isFinite ? "  loss=\(state.loss)" : "")
    }

    public func step(_ context: RunContext) throws {
        let i = state.index
        try context.checkCancelled()
        let latent = latents[i % latents.count]
        let template = settings.templates[i % settings.templates.count]
        let ids = predictor.model.tokenizer.encode(template.replacingOccurrences(of: "{}", with: token))
        var generator = PhiloxGenerator(seed: settings.seed, stream: UInt64(i))
        let t = Swift.min(Int(generator.uniform(1)[0] * 1000), 999)
        let noise = generator.randn(latent.shape)
        let (loss, gradient) = try lossAndGradient(latent: latent, ids: ids, t: t, noise: noise)
        state.optimizer.step(gradients: [gradient])
        state.vector = state.optimizer.values[0]
        state.loss = Double(loss)
        state.t = t
        state.index = i + 1
        trace.record(step: i, [("loss", Double(loss)), ("t", Double(t))])
    }

    /// The denoising loss mean((ε̂(z_t, t, c(ids)) − target)²) and its gradient with respect to
    /// the token's vector (target ε, or v = α_t·ε − σ_t·z for v-prediction models).
    func lossAndGradient(latent: Tensor, ids: [Int], t: Int, noise: Tensor) throws -> (loss: Float, gradient: Tensor) {
        let (a, s) = (alphasCumprod[t].squareRoot(), (1 - alphasCumprod[t]).squareRoot())
        let noisy = try latent * a + noise * s
        let target = predictionIsV ? try noise * a - latent * s : noise
        return try GradMode.withGradient {
            let vector = state.vector.requiringGrad()
            let context = try predictor.model.textEncoder.promptEmbeddings([ids], overriding: [tokenID: vector])
            let prediction = try predictor.predict([PredictionRow(latent: noisy, timestep: Float(t), embedding: context, role: .conditional)])
            let loss = try (prediction - target).squared().mean()
            return (loss.item, loss.gradient(with: [vector])[0])
        }
    }

    /// The base model with the learned token.
    public func learnedModel() throws -> StableDiffusion {
        try base.addingTextualInversion(TextualInversionEmbedding(token: token, vectors: state.vector))
    }
}
