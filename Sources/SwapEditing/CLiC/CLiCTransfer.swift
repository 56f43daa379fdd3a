import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// CLiC's concept transfer (Safaee et al. 2024 §3.2, eqs 6–7; official transfer.py, spec
// clic-p3s-metrics.md §2.2–§2.3): DDIM sampling (η = 1) of the edit prompt from noise, with
//   (a) Blended Latent Diffusion's blend before each step (spec §5.5, the LDM variant, soft
//       mask): noisy = add_noise(x_tg, fresh ε, t_i); x = i < t_start ? noisy : noisy·(1−M) + x·M
//       while i ≤ blend_end;
//   (b) Attend-and-Excite-style guidance (spec §5.6, CLiC's adaptation): while i < guidance_steps,
//       L = mean((mean_layers(up(mean_heads(CA_up(v*, x)))) − target)²) from the conditional
//       pass, target all ones (code) or M (paper eq. 7); x ← x − lr·g/(|g|+1e-8) (a fresh Adam's
//       first step, code) or x − η·g (paper);
//   (c) the CFG UNet pass and the DDIM step.

/// CLiC transfer as a steppable process: one DDIM step per step, exposing the latent, the
/// blended background, the guidance loss and the predicted clean latent.
public final class CLiCTransfer: ValueStateProcess {
    public struct State {
        /// The latent after the last step (pure noise before the first).
        public var latent: Tensor
        public var index = 0
        /// The last step's noised target (the blend's background), the latent after blending and
        /// after the attention guidance (nil when the step did not blend / guide).
        public var background: Tensor?, blended: Tensor?, guided: Tensor?
        /// The last guidance loss and gradient norm (NaN when the step did not guide).
        public var guidanceLoss: Double = .nan, gradientNorm: Double = .nan
        /// The last step's token map [1, 1, h, w] and its predicted clean latent.
        public var map: Tensor?, predictedClean: Tensor?
    }

    public let settings: CLiCTransferSettings
    public let model: StableDiffusion
    public let pipeline: StableDiffusionPipeline
    public let scheduler: DDIMScheduler
    /// The target's latent (posterior sample × scaling factor) and the mask on the latent grid [1, 1, h, w].
    public let targetLatent: Tensor, latentMask: Tensor
    public let prompt: String
    /// The concept token's position in the prompt (nil: no guidance).
    public let tokenIndex: Int?
    let conditional: Tensor, unconditional: Tensor

    public var state: State
    public let history = ProcessHistory()
    public var trace = ProcessTrace()

    /// - Parameters:
    ///   - model: a model that knows the concept (``CLiCConcept/applied(to:)``).
    ///   - image: the target [1, 3, H, W] in [−1, 1]; `mask`: [H, W] in [0, 1] (kept soft).
    ///   - token: the concept token whose attention is guided (nil or absent from the prompt:
    ///     guidance is an error unless `guidanceSteps` is 0).
    public init(model: StableDiffusion, image: Tensor, mask: Tensor, prompt: String, token: String?,
                settings: CLiCTransferSettings = CLiCTransferSettings()) throws {
        let f = model.vaeScaleFactor
        guard image.rank == 4, image.shape[0] == 1, image.shape[1] == 3, image.shape[2] % f == 0, image.shape[3] % f == 0 else {
            throw EditingError("clic_transfer: image \(formatShape(image.shape)) is not [1, 3, H, W] with sides multiples of \(f)")
        }
        guard mask.shape == [image.shape[2], image.shape[3]] else {
            throw EditingError("clic_transfer: mask \(formatShape(mask.shape)) does not match the image's \(image.shape[2])x\(image.shape[3])")
        }
        guard settings.steps >= 1, settings.tStart >= 0, settings.tStart <= settings.steps, settings.guidanceSteps >= 0,
              settings.guidanceRate.isFinite, settings.guidance.isFinite, settings.eta >= 0 else {
            throw EditingError("clic_transfer: steps ≥ 1, 0 ≤ t_start ≤ steps, guidance_steps ≥ 0, a finite rate and η ≥ 0 are required")
        }
        pipeline = StableDiffusionPipeline(model: model)
        scheduler = try DDIMScheduler(config: pipeline.schedulerConfig(.ddim), steps: settings.steps, eta: settings.eta)
        let ids = model.tokenizer.encode(prompt)
        let id = token.flatMap { model.tokenizer.vocabulary[$0] }
        tokenIndex = id.flatMap { ids.firstIndex(of: $0) }
        if tokenIndex == nil && settings.guidanceSteps > 0 {
            throw EditingError("clic_transfer: the prompt \"\(prompt)\" does not contain the concept token \(token ?? "(none)") that attention guidance needs (or pass guidance_steps: 0)")
        }
        let (h, w) = (image.shape[2] / f, image.shape[3] / f)
        var g = PhiloxGenerator(seed: settings.seed, stream: 0)
        let shape = [1, model.unet.config.inChannels, h, w]
        targetLatent = try model.vae.encode(image).sample(noise: g.randn(shape)) * model.vae.scalingFactor
        latentMask = try mask.reshaped([1, 1, mask.shape[0], mask.shape[1]]).resizedBilinear(height: h, width: w)
        conditional = try model.textEncoder.promptEmbeddings([ids])
        unconditional = try model.textEncoder.promptEmbeddings([model.tokenizer.encode("")])
        self.model = model
        self.prompt = prompt
        self.settings = settings
        state = State(latent: g.randn(shape))
    }

    public var kindName: String { "clic_transfer" }
    public var index: Int { state.index }
    public var totalSteps: Int? { settings.steps }
    public var isDone: Bool { state.index >= settings.steps }
    public var timestep: Double? { isDone ? nil : Double(scheduler.integerTimesteps[state.index]) }

    public func step(_ context: RunContext) throws {
        let i = state.index
        try context.checkCancelled()
        let t = scheduler.integerTimesteps[i]
        var g = PhiloxGenerator(seed: settings.seed, stream: UInt64(i + 1))
        var latent = state.latent
        var row: [(String, Double)] = [("t", Double(t))]
        state.background = nil
        state.blended = nil
        state.guided = nil
        if i <= settings.blendEnd {
            let noisy = try scheduler.addNoise(targetLatent, noise: g.randn(targetLatent.shape), timestep: Float(t))
            latent = i < settings.tStart ? noisy : try noisy * (1 - latentMask) + latent * latentMask
            state.background = noisy
            state.blended = latent
        }
        state.guidanceLoss = .nan
        state.gradientNorm = .nan
        if i < settings.guidanceSteps, let token = tokenIndex {
            let (loss, gradient, map) = try guidance(latent: latent, timestep: t, token: token)
            let delta: Tensor
            switch settings.update {
            case .freshAdam: delta = try gradient / (gradient.abs() + 1e-8) * settings.guidanceRate
            case .gradient: delta = gradient * settings.guidanceRate
            }
            latent = try latent - delta
            state.guided = latent
            state.guidanceLoss = Double(loss)
            state.gradientNorm = Double(gradient.squared().sum().item).squareRoot()
            state.map = map
            row += [("guidance_loss", state.guidanceLoss), ("grad_norm", state.gradientNorm)]
        }
        try context.checkCancelled()
        let predictor = NoisePredictor(model: model)
        let eps = try predictor.guided([GuidedBranch(latent: latent, timestep: Float(t), conditional: conditional,
                                                     unconditional: unconditional, guidance: settings.guidance)])[0].guided
        let out = try scheduler.step(eps, stepIndex: i, sample: latent, noise: .tensor(g.randn(latent.shape)))
        state.latent = out.previous
        state.predictedClean = out.predictedOriginal
        state.index = i + 1
        row.append(("latent_norm", Double(out.previous.squared().sum().item).squareRoot()))
        trace.record(step: i, row)
    }

    /// The guidance loss at `latent`, its gradient with respect to the latent, and the map.
    public func guidance(latent: Tensor, timestep t: Int, token: Int) throws -> (loss: Float, gradient: Tensor, map: Tensor) {
        let hook = CLiCAttentionHook(tokenIndex: token, height: latent.shape[2], width: latent.shape[3])
        let predictor = NoisePredictor(model: model, hooks: [hook])
        return try GradMode.withGradient {
            let x = latent.requiringGrad()
            _ = try predictor.predict([PredictionRow(latent: x, timestep: Float(t), embedding: conditional, role: .conditional)])
            let map = try hook.averagedMap()
            let target = settings.targetOnes ? Tensor(shape: map.shape, repeating: 1) : latentMask
            let loss = try (map - target).squared().mean()
            return (loss.item, loss.gradient(with: [x])[0], map.detached())
        }
    }

    /// The current image [1, 3, H, W] in [−1, 1]: the decoded latent when done, otherwise the
    /// decoded predicted clean latent (or the latent before the first step).
    public func image() throws -> Tensor {
        let z = isDone ? state.latent : (state.predictedClean ?? state.latent)
        return try model.vae.decode(z * (1 / model.vae.scalingFactor))
    }
}
