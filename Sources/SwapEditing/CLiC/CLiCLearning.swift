import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// CLiC's in-context concept learning (Safaee et al. 2024 §3.1, eqs 1–5; official learning.py,
// spec clic-p3s-metrics.md §1.2–§1.3): a new token v* and the cross-attention projections are
// trained on one image with three losses at one random t per step:
//   l_att = ‖norm(mean_layers(up64(mean_heads(CA_up(v*, x_t))))) − M‖²   (code: min-max norm)
//   l_con = Σ(M_ctx ⊙ (ε̂(x_t, c) − ε)²) / Σ M_ctx                        (code: M_ctx = M<0.05 ? 0.25 : M)
//   l_RoI = Σ(M ⊙ (ε̂(x̃_t, c*) − ε)²) / Σ M, x̃_0 = E(I ⊙ M)               (code; paper: M ⊙ x_t, plain mean)
//   loss  = λ_att·l_att + λ_con·l_con + λ_RoI·l_RoI, AdamW with global gradient clipping.

/// CLiC concept learning as a steppable process: one optimisation step per step, every loss term
/// in the trace (`l_att`, `l_con`, `l_roi`, `loss`, `t`, `grad_norm`).
public final class CLiCLearning: ValueStateProcess {
    public struct State {
        /// The token's embedding [hidden].
        public var embedding: Tensor
        /// The trained projections, in the order of ``CLiCLearning/parameterNames``.
        public var parameters: [Tensor]
        var optimizer: Adam
        public var index = 0
        /// The last step's terms (NaN for a term whose weight is 0) and total.
        public var attentionLoss: Double = .nan, contextLoss: Double = .nan, roiLoss: Double = .nan, loss: Double = .nan
        public var t: Int?
        /// The global gradient norm before clipping.
        public var gradientNorm: Double = .nan
        /// The last step's averaged token map [1, 1, h, w] before and after normalisation.
        public var attentionMap: Tensor?, normalizedMap: Tensor?
    }

    public let settings: CLiCLearningSettings
    /// The model without the token (the concept applies to it).
    public let base: StableDiffusion
    public let token: String
    public let baseObject: String
    /// The source image [1, 3, H, W] in [−1, 1] and its mask [H, W] in [0, 1].
    public let image: Tensor, mask: Tensor
    /// The mask bilinearly resized to the latent grid [1, 1, h, w] (the code's att_mask) and the
    /// context-loss weights [1, 1, h, w].
    public let attentionMask: Tensor, contextMask: Tensor
    /// Diffusers names of the trained projection tensors.
    public let parameterNames: [String]
    public let prompt: String
    let training: StableDiffusion
    let tokenID: Int
    let alphasCumprod: [Float]
    let predictionIsV: Bool

    public var state: State
    public let history = ProcessHistory()
    public var trace = ProcessTrace()

    /// - Parameters:
    ///   - image: [1, 3, H, W] in [−1, 1]; `mask`: [H, W] in [0, 1].
    ///   - initializer: a one-token word whose embedding starts v* (ignored when
    ///     `initialEmbedding` is given).
    public init(model: StableDiffusion, image: Tensor, mask: Tensor, token: String, baseObject: String,
                initializer: String? = nil, initialEmbedding: Tensor? = nil,
                settings: CLiCLearningSettings = CLiCLearningSettings()) throws {
        let f = model.vaeScaleFactor
        guard image.rank == 4, image.shape[0] == 1, image.shape[1] == 3, image.shape[2] % f == 0, image.shape[3] % f == 0 else {
            throw EditingError("clic_learn: image \(formatShape(image.shape)) is not [1, 3, H, W] with sides multiples of \(f)")
        }
        guard mask.shape == [image.shape[2], image.shape[3]] else {
            throw EditingError("clic_learn: mask \(formatShape(mask.shape)) does not match the image's \(image.shape[2])x\(image.shape[3])")
        }
        guard mask.sum().item > 0 else { throw EditingError("clic_learn: the mask is empty") }
        guard settings.steps >= 0, settings.learningRate.isFinite, settings.learningRate > 0,
              !settings.timestepRange.isEmpty, settings.timestepRange.lowerBound >= 0, !settings.roiPrompts.isEmpty,
              [settings.attentionWeight, settings.contextWeight, settings.roiWeight].allSatisfy({ $0.isFinite && $0 >= 0 }),
              settings.attentionWeight + settings.contextWeight + settings.roiWeight > 0 else {
            throw EditingError("clic_learn: steps ≥ 0, a positive learning rate, a non-empty timestep range, RoI prompts and weights ≥ 0 (not all 0) are required")
        }
        let start: Tensor
        if let initialEmbedding {
            guard initialEmbedding.count == model.textEncoder.config.hiddenSize else {
                throw EditingError("clic_learn: the initial embedding has \(initialEmbedding.count) values, the text encoder \(model.textEncoder.config.hiddenSize)")
            }
            start = try initialEmbedding.reshaped([initialEmbedding.count]).detached()
        } else {
            let word = initializer ?? baseObject
            let ids = model.tokenizer.encode(word).filter { $0 != model.tokenizer.bosID && $0 != model.tokenizer.eosID && $0 != model.tokenizer.padID }
            guard ids.count == 1 else {
                throw EditingError("clic_learn: the initializer \"\(word)\" must be a single token, it is \(ids.count); pass init: a one-token word")
            }
            start = try model.textEncoder.tokenEmbedding.sliced(axis: 0, start: ids[0], end: ids[0] + 1).reshaped([model.textEncoder.config.hiddenSize])
        }
        training = try model.addingTextualInversion(TextualInversionEmbedding(token: token, vectors: start))
        guard let id = training.tokenizer.vocabulary[token] else { throw EditingError("clic_learn: the token was not added") }
        let prompt = settings.prompt.replacingOccurrences(of: "{token}", with: token).replacingOccurrences(of: "{object}", with: baseObject)
        guard training.tokenizer.encode(prompt).contains(id) else {
            throw EditingError("clic_learn: the prompt \"\(prompt)\" does not contain the token \(token)")
        }
        let (h, w) = (image.shape[2] / f, image.shape[3] / f)
        attentionMask = try mask.reshaped([1, 1, mask.shape[0], mask.shape[1]]).resizedBilinear(height: h, width: w)
        contextMask = settings.contextAlphaRule == .code
            ? Tensor(shape: attentionMask.shape, scalars: attentionMask.scalars.map { $0 < 0.05 ? 0.25 : $0 })
            : attentionMask * 0.5 + 0.5
        let named = try CLiCConcept.crossAttentionParameters(of: model.unet, projections: settings.trained.names)
        parameterNames = named.map(\.0)
        let values = [start] + named.map(\.1)
        let optimizer = Adam(values, learningRate: settings.learningRate, weightDecay: settings.weightDecay, decoupledWeightDecay: true)
        let config = try StableDiffusionPipeline(model: model).schedulerConfig(.ddpm)
        alphasCumprod = NoiseSchedule(config: config).alphasCumprod
        predictionIsV = config.predictionType == .vPrediction
        guard settings.timestepRange.upperBound <= alphasCumprod.count else {
            throw EditingError("clic_learn: timesteps must lie in 0..<\(alphasCumprod.count)")
        }
        self.settings = settings
        base = model
        self.token = token
        self.baseObject = baseObject
        self.image = image
        self.mask = mask
        self.prompt = prompt
        tokenID = id
        state = State(embedding: start, parameters: named.map(\.1), optimizer: optimizer)
    }

    public var kindName: String { "clic_learn" }
    public var index: Int { state.index }
    public var totalSteps: Int? { settings.steps }
    public var isDone: Bool { state.index >= settings.steps }
    public var timestep: Double? { state.t.map(Double.init) }
    public var progressSummary: String {
        "clic_learn \(token) step \(index)/\(settings.steps)" + (state.loss.isFinite ? "  loss=\(state.loss)" : "")
    }

    /// The random draws of one step (Philox stream = step index, so `back` and replays agree).
    public struct Draws {
        public var flip: Bool
        public var brightness: Float
        public var t: Int
        /// ε, and the posterior noise of the two VAE samples.
        public var noise: Tensor, posteriorNoise: Tensor, roiPosteriorNoise: Tensor
        public var roiPrompt: String
    }

    /// The draws of step `i`.
    public func draws(step i: Int) -> Draws {
        var g = PhiloxGenerator(seed: settings.seed, stream: UInt64(i))
        let u = g.uniform(4)
        let f = base.vaeScaleFactor
        let shape = [1, base.unet.config.inChannels, image.shape[2] / f, image.shape[3] / f]
        let range = settings.timestepRange
        let t = Swift.min(range.lowerBound + Int(u[2] * Float(range.count)), range.upperBound - 1)
        let k = Swift.min(Int(u[3] * Float(settings.roiPrompts.count)), settings.roiPrompts.count - 1)
        return Draws(flip: settings.augment && u[0] < 0.5, brightness: settings.augment ? 0.5 + u[1] : 1, t: t,
                     noise: g.randn(shape), posteriorNoise: g.randn(shape), roiPosteriorNoise: g.randn(shape),
                     roiPrompt: settings.roiPrompts[k])
    }

    /// The loss terms of one step and their gradients.
    public struct Evaluation {
        public var attention: Tensor?, context: Tensor?, roi: Tensor?
        public var total: Tensor
        /// Gradients with respect to [embedding] + parameters.
        public var gradients: [Tensor]
        public var map: Tensor, normalizedMap: Tensor
    }

    /// Evaluates the losses for given draws at the current state (no update).
    public func evaluate(_ d: Draws) throws -> Evaluation {
        var pixels = image, pixelMask = try mask.reshaped([1, 1, mask.shape[0], mask.shape[1]])
        if d.flip {
            let reversed = Array((0..<image.shape[3]).reversed())
            pixels = try pixels.indexSelect(axis: 3, reversed)
            pixelMask = try pixelMask.indexSelect(axis: 3, reversed)
        }
        if d.brightness != 1 { pixels = (((pixels + 1) * (0.5 * d.brightness)).clamped(min: 0, max: 1)) * 2 - 1 }
        let attMask = d.flip ? try attentionMask.indexSelect(axis: 3, Array((0..<attentionMask.shape[3]).reversed())) : attentionMask
        let ctxMask = d.flip ? try contextMask.indexSelect(axis: 3, Array((0..<contextMask.shape[3]).reversed())) : contextMask
        let vae = base.vae
        let x0 = try vae.encode(pixels).sample(noise: d.posteriorNoise) * vae.scalingFactor
        let (a, s) = (alphasCumprod[d.t].squareRoot(), (1 - alphasCumprod[d.t]).squareRoot())
        let xt = try x0 * a + d.noise * s
        let target = predictionIsV ? try d.noise * a - x0 * s : d.noise
        let roiInput: Tensor?, roiTarget: Tensor?
        if settings.roiWeight > 0 {
            if settings.roiMasking == .code {
                let masked = try vae.encode(pixels * pixelMask).sample(noise: d.roiPosteriorNoise) * vae.scalingFactor
                roiInput = try masked * a + d.noise * s
                roiTarget = predictionIsV ? try d.noise * a - masked * s : d.noise
            } else {
                roiInput = try xt * attMask
                roiTarget = target
            }
        } else {
            (roiInput, roiTarget) = (nil, nil)
        }
        let mainIDs = training.tokenizer.encode(prompt)
        let roiIDs = training.tokenizer.encode(d.roiPrompt.replacingOccurrences(of: "{token}", with: token)
            .replacingOccurrences(of: "{object}", with: baseObject))
        let hook = CLiCAttentionHook(tokenIndex: mainIDs.firstIndex(of: tokenID), height: xt.shape[2], width: xt.shape[3],
                                     detachStartToken: settings.detachStartToken)
        let latentMaskSum = attMask.sum().item, contextSum = ctxMask.sum().item

        return try GradMode.withGradient {
            let vector = state.embedding.requiringGrad()
            let parameters = state.parameters.map { $0.requiringGrad() }
            var model = training
            model.unet = try CLiCConcept.replacingParameters(Dictionary(uniqueKeysWithValues: zip(parameterNames, parameters)), in: training.unet)
            let predictor = NoisePredictor(model: model, hooks: [hook])
            let encoder = model.textEncoder
            let c = try encoder.promptEmbeddings([mainIDs], overriding: [tokenID: vector])
            let prediction = try predictor.predict([PredictionRow(latent: xt, timestep: Float(d.t), embedding: c, role: .conditional)])
            let map = try hook.averagedMap()
            let normalized = settings.normalizeAttention ? try CLiCAttentionHook.minMaxNormalized(map) : map
            var total = Tensor(scalar: 0)
            var lAtt: Tensor?, lCon: Tensor?, lRoI: Tensor?
            if settings.attentionWeight > 0 {
                let l = try (normalized - attMask).squared().mean()
                total = try total + l * settings.attentionWeight
                lAtt = l
            }
            if settings.contextWeight > 0 {
                let err = try (prediction - target).squared()
                let l = settings.contextAlphaRule == .code
                    ? try (err * ctxMask).sum() * (1 / Float(contextSum))
                    : try (err * ctxMask.squared()).mean()
                total = try total + l * settings.contextWeight
                lCon = l
            }
            if let roiInput, let roiTarget {
                hook.tokenIndex = nil
                let cR = try encoder.promptEmbeddings([roiIDs], overriding: [tokenID: vector])
                let p = try predictor.predict([PredictionRow(latent: roiInput, timestep: Float(d.t), embedding: cR, role: .conditional)])
                let err = try (p - roiTarget).squared()
                let l = settings.roiMasking == .code ? try (err * attMask).sum() * (1 / Float(latentMaskSum)) : err.mean()
                total = try total + l * settings.roiWeight
                lRoI = l
            }
            let gradients = total.gradient(with: [vector] + parameters)
            return Evaluation(attention: lAtt?.detached(), context: lCon?.detached(), roi: lRoI?.detached(), total: total.detached(),
                              gradients: gradients, map: map.detached(), normalizedMap: normalized.detached())
        }
    }

    public func step(_ context: RunContext) throws {
        let i = state.index
        try context.checkCancelled()
        let d = draws(step: i)
        let e = try evaluate(d)
        try context.checkCancelled()
        let norm = e.gradients.reduce(0.0) { $0 + Double($1.squared().sum().item) }.squareRoot()
        var gradients = e.gradients
        if settings.clipNorm > 0, norm > Double(settings.clipNorm) {
            let factor = Float(Double(settings.clipNorm) / (norm + 1e-6))
            gradients = gradients.map { $0 * factor }
        }
        state.optimizer.step(gradients: gradients)
        state.embedding = state.optimizer.values[0]
        state.parameters = Array(state.optimizer.values.dropFirst())
        func value(_ t: Tensor?) -> Double { t.map { Double($0.item) } ?? .nan }
        state.attentionLoss = value(e.attention)
        state.contextLoss = value(e.context)
        state.roiLoss = value(e.roi)
        state.loss = Double(e.total.item)
        state.gradientNorm = norm
        state.t = d.t
        state.attentionMap = e.map
        state.normalizedMap = e.normalizedMap
        state.index = i + 1
        trace.record(step: i, [("l_att", state.attentionLoss), ("l_con", state.contextLoss), ("l_roi", state.roiLoss),
                               ("loss", state.loss), ("t", Double(d.t)), ("grad_norm", norm)])
    }

    /// The concept learned so far.
    public func concept() -> CLiCConcept {
        CLiCConcept(token: token, baseObject: baseObject, embedding: state.embedding,
                    parameters: Dictionary(uniqueKeysWithValues: zip(parameterNames, state.parameters)),
                    sourceImage: image, sourceMask: mask)
    }
}
