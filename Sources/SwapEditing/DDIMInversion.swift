import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// Matches diffusers scheduling_ddim_inverse.py (DDIMInverseScheduler.step, from_config of the
// pipeline's DDIMScheduler: steps_offset 1, ᾱ₀ for the first source level) looped over the
// inverse timesteps with the UNet on the caption alone, which is also the null-text notebook's
// `ddim_loop` (null_text_w_ptp.ipynb) except for its grid: that notebook's DDIMScheduler has no
// steps_offset (980 … 0). Spec §2: z_next = √ᾱ_t·x̂₀ + √(1−ᾱ_t)·ε with ε = UNet(z, t, c).

/// The outcome of an inversion: the pivot trajectory z*₀ … z*_N, the grid it lies on and, after
/// null-text inversion, one unconditional embedding per sampling step. `sample` and `p2p` start
/// from ``startLatent`` and use ``nullEmbeddings`` as the per-step unconditional context.
public struct InversionResult {
    /// z*₀ (the encoded image) followed by the latent after each inversion step; the last is z*_T.
    public var latents: [Tensor]
    /// Inversion timesteps in visiting order (ascending: 1, 21, …, 981 for SD with 50 steps).
    public var timesteps: [Int]
    /// The `steps_offset` of the grid (recorded because sampling must use the same grid).
    public var stepsOffset: Int
    /// The prompt whose embedding the inversion used.
    public var prompt: String
    /// The guidance scale of the inversion (1: the caption alone).
    public var guidance: Float
    /// Null-text inversion's unconditional embeddings, one per sampling step i (∅_i, [1, 77, d]).
    public var nullEmbeddings: [Tensor]?

    public init(latents: [Tensor], timesteps: [Int], stepsOffset: Int, prompt: String, guidance: Float,
                nullEmbeddings: [Tensor]? = nil) {
        self.latents = latents
        self.timesteps = timesteps
        self.stepsOffset = stepsOffset
        self.prompt = prompt
        self.guidance = guidance
        self.nullEmbeddings = nullEmbeddings
    }

    /// The number of sampling steps the trajectory is made for.
    public var steps: Int { timesteps.count }
    /// z*_T: where sampling starts.
    public var startLatent: Tensor { latents[latents.count - 1] }
    /// z*₀.
    public var encodedLatent: Tensor { latents[0] }

    /// The latent sampling step `i` should land on (z*_{t−1}): `latents[N − 1 − i]`.
    public func pivot(afterSamplingStep i: Int) throws -> Tensor {
        guard i >= 0, i < steps, latents.count == steps + 1 else {
            throw EditingError("inversion: sampling step \(i) is outside 0..<\(steps)")
        }
        return latents[steps - 1 - i]
    }

    /// Checks that a sampler of `steps` steps with `offset` can use this result.
    public func checkCompatible(steps: Int, offset: Int, _ op: String) throws {
        guard steps == self.steps, offset == stepsOffset else {
            throw EditingError("\(op): the inversion was made for \(self.steps) steps with steps_offset \(stepsOffset); the run has \(steps) steps with steps_offset \(offset)")
        }
    }
}

/// How the image becomes z*₀ and which grid the inversion walks: shared by DDIM and null-text
/// inversion.
public struct InversionSetup {
    public let pipeline: StableDiffusionPipeline
    public let scheduler: DDIMScheduler
    public let prompt: String
    /// The caption embedding [1, 77, d] and the embedding of "" (the initial null text).
    public let conditional: Tensor, unconditional: Tensor
    public let encodedLatent: Tensor

    /// - Parameters:
    ///   - image: [1, 3, H, W] in [−1, 1], H and W multiples of the VAE factor.
    ///   - stepsOffset: nil keeps the model's scheduler config (1 for SD); 0 gives the
    ///     null-text notebook's grid.
    public init(model: StableDiffusion, image: Tensor, prompt: String, steps: Int, stepsOffset: Int? = nil, op: String) throws {
        guard steps >= 1, steps <= 1000 else { throw EditingError("\(op): steps must be between 1 and 1000, got \(steps)") }
        let f = model.vaeScaleFactor
        guard image.rank == 4, image.shape[0] == 1, image.shape[1] == 3, image.shape[2] > 0, image.shape[3] > 0,
              image.shape[2] % f == 0, image.shape[3] % f == 0 else {
            throw EditingError("\(op): the image is \(formatShape(image.shape)); expected [1, 3, H, W] with H and W positive multiples of \(f) (the VAE factor), e.g. \(model.unet.config.sampleSize * f)x\(model.unet.config.sampleSize * f)")
        }
        pipeline = StableDiffusionPipeline(model: model, scheduler: .ddim())
        var config = try pipeline.schedulerConfig(.ddim)
        if let stepsOffset {
            guard stepsOffset >= 0, stepsOffset < config.numTrainTimesteps else {
                throw EditingError("\(op): steps_offset must be in 0..<\(config.numTrainTimesteps), got \(stepsOffset)")
            }
            config.stepsOffset = stepsOffset
        }
        scheduler = try DDIMScheduler(config: config, steps: steps)
        self.prompt = prompt
        let both = try pipeline.encodePrompts(["", prompt])
        let halves = try both.chunked(2, axis: 0)
        (unconditional, conditional) = (halves[0], halves[1])
        // The posterior mean, as NTI and MasaCtrl (spec §0).
        encodedLatent = try model.vae.encode(image).mean * model.vae.scalingFactor
    }
}

/// DDIM inversion as a steppable process (`invert(model, image, prompt, steps:)`): each step
/// evaluates the UNet at the next inversion timestep on the current latent and moves it there.
public final class DDIMInversion: ValueStateProcess {
    public struct State {
        /// z*₀ and the latents reached so far.
        public var latents: [Tensor]
        /// The model output of the last step.
        public var eps: Tensor?
        /// x̂₀ of the last step.
        public var x0: Tensor?
    }

    public let setup: InversionSetup
    public let predictor: NoisePredictor
    /// Guidance of the inversion: 1 (default) uses the caption alone (NTI); > 1 adds the ""
    /// row and combines (MasaCtrl inverts with w = 7.5 and source prompt "", equal to w = 1).
    public let guidance: Float
    public var state: State
    public let history = ProcessHistory()
    public var trace = ProcessTrace()
    public var kindName: String { "ddim_inversion" }

    public init(setup: InversionSetup, guidance: Float = 1) throws {
        guard guidance.isFinite else { throw EditingError("invert: guidance must be finite") }
        self.setup = setup
        self.guidance = guidance
        predictor = NoisePredictor(model: setup.pipeline.model)
        state = State(latents: [setup.encodedLatent], eps: nil, x0: nil)
    }

    public var index: Int { state.latents.count - 1 }
    public var totalSteps: Int? { setup.scheduler.stepCount }
    public var isDone: Bool { index >= setup.scheduler.stepCount }
    /// The timestep the next step moves to (nil when done).
    public var timestep: Double? { nextTimestep.map(Double.init) }
    var nextTimestep: Int? { isDone ? nil : setup.scheduler.inversionTimesteps[index] }
    /// Inversion climbs the grid.
    public var timestepsDescend: Bool { false }

    public var progressSummary: String {
        "\(kindName) step \(index)/\(setup.scheduler.stepCount)" + (nextTimestep.map { "  t=\($0)" } ?? "  done")
    }

    public func step(_ context: RunContext) throws {
        let k = index
        guard let t = nextTimestep else { throw EditingError("\(kindName): already finished") }
        try context.checkCancelled()
        let z = state.latents[k]
        predictor.beginStep(k)
        let eps = try GradMode.withoutGradient {
            try predictor.guided([GuidedBranch(latent: z, timestep: Float(t), conditional: setup.conditional,
                                               unconditional: setup.unconditional, guidance: guidance)])[0].guided
        }
        let out = try setup.scheduler.invertStep(eps, timestep: t, sample: z)
        state.latents.append(out.previous)
        state.eps = eps
        state.x0 = out.predictedOriginal
        trace.record(step: k, [("t", Double(t)), ("latent_std", Double(out.previous.variance().item.squareRoot()))])
    }

    /// The trajectory so far (complete once done).
    public var result: InversionResult {
        InversionResult(latents: state.latents, timesteps: setup.scheduler.inversionTimesteps,
                        stepsOffset: setup.scheduler.config.stepsOffset, prompt: setup.prompt, guidance: guidance)
    }
}
