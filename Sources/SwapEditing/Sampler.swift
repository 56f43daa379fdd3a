import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// Matches the denoising loop of diffusers pipeline_stable_diffusion.py `__call__` (text-to-image)
// and, when started part-way, pipeline_stable_diffusion_img2img.py (see ``Sampler/sdedit``): for
// each t, scale_model_input → UNet on [uncond; cond] → guidance (→ rescale) → scheduler.step.

/// What a sampler generates: the settings of `sample(model, prompt, ...)`.
public struct SamplerSettings: Sendable {
    public var prompt: String
    /// The unconditional prompt ("" is diffusers' default).
    public var negative: String = ""
    public var guidance: Float = 7.5
    public var guidanceRescale: Float = 0
    public var steps: Int = 50
    public var seed: UInt64 = 0
    public var scheduler: SchedulerChoice = .ddim()
    /// Image height and width in pixels (nil: the UNet's sample size × the VAE factor).
    public var height: Int?
    public var width: Int?

    public init(prompt: String, negative: String = "", guidance: Float = 7.5, steps: Int = 50, seed: UInt64 = 0,
                scheduler: SchedulerChoice = .ddim(), height: Int? = nil, width: Int? = nil) {
        self.prompt = prompt
        self.negative = negative
        self.guidance = guidance
        self.steps = steps
        self.seed = seed
        self.scheduler = scheduler
        self.height = height
        self.width = width
    }

    /// The scheduler's name as users write it: "ddim", "ddpm", "euler".
    public var schedulerName: String {
        switch scheduler {
        case .ddim: return "ddim"
        case .ddpm: return "ddpm"
        case .eulerDiscrete: return "euler"
        }
    }
}

/// A guided sampling run as a steppable process (`sample(...)` in scripts).
///
/// Everything that changes between steps is one value (``State``), so snapshots are copies and
/// `back` is exact. Between steps the latent, the prompt, the negative prompt and the guidance
/// may be changed; the next step uses them. Stepping one step at a time is bit-identical to
/// running, because a step is a pure function of the state.
public final class Sampler: ValueStateProcess, AttentionCapturing {
    public struct State {
        /// The latent the next step starts from (at ``Sampler/timestep``).
        public var latent: Tensor
        /// Steps taken, counted from the first timestep (a started-part-way run begins > 0).
        public var index: Int
        /// The guided model output of the last step (ε̂, or v for v-prediction models).
        public var eps: Tensor?
        /// x̂₀ predicted by the last step.
        public var x0: Tensor?
        /// The noise source of stochastic schedulers (copied with every snapshot).
        public var generator: TorchGenerator
        public var prompt: String
        public var negative: String
        public var guidance: Float
        /// Text embeddings of the prompt and negative prompt, [1, 77, d] each.
        public var conditional: Tensor
        public var unconditional: Tensor
    }

    public let pipeline: StableDiffusionPipeline
    public let predictor: NoisePredictor
    public let scheduler: any Scheduler
    public let settings: SamplerSettings
    /// The first step index (0 for text-to-image; steps − ⌊steps·strength⌋ for SDEdit).
    public let startIndex: Int
    public var state: State { didSet { imageCache = nil } }
    /// Per-step unconditional embeddings (null-text inversion's ∅_i, one per step): when set,
    /// step i guides with `nullEmbeddings[i]` instead of the negative prompt's embedding.
    public var nullEmbeddings: [Tensor]?
    public let history = ProcessHistory()
    public var trace = ProcessTrace()
    /// The kind shown to users ("sampler", or "sdedit" for a part-way start).
    public let kindName: String
    private var imageCache: Tensor?

    /// A sampler positioned before its first step.
    /// - Parameters:
    ///   - initialLatent: the starting latent as is (nil: randn from `seed`, times the
    ///     scheduler's init_noise_sigma, as `prepare_latents`).
    ///   - startIndex: the first step (SDEdit); the latent must then be noised to that step.
    public init(model: StableDiffusion, settings: SamplerSettings, capture: AttentionCaptureSettings = AttentionCaptureSettings(),
                initialLatent: Tensor? = nil, startIndex: Int = 0, kindName: String = "sampler",
                generator: TorchGenerator? = nil) throws {
        guard settings.steps >= 1, settings.steps <= 1000 else {
            throw EditingError("\(kindName): steps must be between 1 and 1000, got \(settings.steps)")
        }
        guard settings.guidance.isFinite, settings.guidanceRescale.isFinite, settings.guidanceRescale >= 0 else {
            throw EditingError("\(kindName): guidance must be finite (rescale ≥ 0)")
        }
        pipeline = StableDiffusionPipeline(model: model, scheduler: settings.scheduler)
        scheduler = try pipeline.makeScheduler(steps: settings.steps)
        guard startIndex >= 0, startIndex <= scheduler.stepCount else {
            throw EditingError("\(kindName): start step \(startIndex) is outside 0...\(scheduler.stepCount)")
        }
        self.settings = settings
        self.startIndex = startIndex
        self.kindName = kindName
        let store = capture == .off ? nil : AttentionStore(settings: capture)
        predictor = NoisePredictor(model: model, capture: store)
        let gen = generator ?? TorchGenerator(seed: settings.seed)
        var request = GenerationRequest(prompt: settings.prompt, negativePrompt: settings.negative,
                                        guidanceScale: settings.guidance, steps: settings.steps, seed: settings.seed)
        request.height = settings.height
        request.width = settings.width
        let latent: Tensor
        if let initialLatent {
            let shape = try pipeline.latentShape(request)
            guard initialLatent.shape == shape else {
                throw EditingError("\(kindName): latent has shape \(formatShape(initialLatent.shape)), expected \(formatShape(shape))")
            }
            latent = initialLatent
        } else {
            latent = try pipeline.prepareLatents(request, scheduler: scheduler, generator: gen)
        }
        let (c, u) = try Self.encode(pipeline, prompt: settings.prompt, negative: settings.negative)
        state = State(latent: latent, index: startIndex, eps: nil, x0: nil, generator: gen, prompt: settings.prompt,
                      negative: settings.negative, guidance: settings.guidance, conditional: c, unconditional: u)
        store?.tokenCounts[0] = tokenCount(settings.prompt)
    }

    /// The prompt and negative prompt embeddings, encoded in one batch [negative; prompt] as
    /// the pipeline's `encode_prompt` with guidance does.
    static func encode(_ pipeline: StableDiffusionPipeline, prompt: String, negative: String) throws -> (Tensor, Tensor) {
        let both = try pipeline.encodePrompts([negative, prompt])
        let halves = try both.chunked(2, axis: 0)
        return (halves[1], halves[0])
    }

    /// Tokens of `text` through the end-of-text token (what the attention store keeps).
    public func tokenCount(_ text: String) -> Int {
        let ids = pipeline.model.tokenizer.encode(text)
        return (ids.firstIndex(of: pipeline.model.tokenizer.eosID) ?? (ids.count - 1)) + 1
    }

    public func copyState(_ state: State) -> State {
        var copy = state
        copy.generator = state.generator.copy()
        return copy
    }

    public func didRestore(toIndex index: Int) {
        predictor.capture?.truncate(toStepsBefore: index)
        predictor.capture?.tokenCounts[0] = tokenCount(state.prompt)
    }

    // MARK: Process

    public var index: Int { state.index }
    public var totalSteps: Int? { scheduler.stepCount }
    public var isDone: Bool { state.index >= scheduler.stepCount }
    /// The timestep the next step evaluates the UNet at (nil when done).
    public var timestep: Double? { isDone ? nil : Double(scheduler.timesteps[state.index]) }
    /// The attention store (nil when capture is off).
    public var attention: AttentionStore? { predictor.capture }
    public var tokenizer: CLIPTokenizer { pipeline.model.tokenizer }
    public func prompt(branch: Int) -> String? { branch == 0 ? state.prompt : nil }

    public var progressSummary: String {
        "\(kindName) step \(state.index)/\(scheduler.stepCount)" + (timestep.map { "  t=\(formatTimestep($0))" } ?? "  done")
    }

    public func step(_ context: RunContext) throws {
        let i = state.index
        guard i < scheduler.stepCount else { throw EditingError("\(kindName): already finished") }
        try context.checkCancelled()
        let t = scheduler.timesteps[i]
        predictor.beginStep(i)
        let input = try scheduler.scaleModelInput(state.latent, stepIndex: i)
        let prediction = try predictor.guided([GuidedBranch(
            latent: input, timestep: t, conditional: state.conditional, unconditional: nullEmbeddings?[i] ?? state.unconditional,
            guidance: state.guidance, rescale: settings.guidanceRescale)])[0].guided
        try context.checkCancelled()
        let generator = state.generator.copy()
        let output = try scheduler.step(prediction, stepIndex: i, sample: state.latent, noise: .generator(generator))
        state.generator = generator
        state.latent = output.previous
        state.eps = prediction
        state.x0 = output.predictedOriginal
        state.index = i + 1
        trace.record(step: i, [("t", Double(t)), ("guidance", Double(state.guidance)),
                               ("eps_norm", Double(try (prediction * prediction).sum().item.squareRoot()))])
    }

    // MARK: Changing the run between steps

    /// Replaces the latent the next step starts from (same shape).
    public func setLatent(_ latent: Tensor) throws {
        guard latent.shape == state.latent.shape else {
            throw EditingError("\(kindName): latent must keep shape \(formatShape(state.latent.shape)), got \(formatShape(latent.shape))")
        }
        state.latent = latent.detached()
    }

    /// Changes the prompt and/or negative prompt for the following steps.
    public func setPrompt(_ prompt: String? = nil, negative: String? = nil) throws {
        let p = prompt ?? state.prompt, n = negative ?? state.negative
        (state.conditional, state.unconditional) = try Self.encode(pipeline, prompt: p, negative: n)
        state.prompt = p
        state.negative = n
        predictor.capture?.tokenCounts[0] = tokenCount(p)
    }

    /// Changes the guidance scale for the following steps.
    public func setGuidance(_ guidance: Float) throws {
        guard guidance.isFinite else { throw EditingError("\(kindName): guidance must be finite, got \(guidance)") }
        state.guidance = guidance
    }

    // MARK: Images

    /// The image [1, 3, H, W] in [−1, 1]: the final latent decoded once done (the pipeline's
    /// output), else the decoded x̂₀ of the last step (the preview), else the decoded current
    /// latent (before any step). Computed on first request and cached for this state.
    public func image() throws -> Tensor {
        if let imageCache { return imageCache }
        let image = try pipeline.decode(isDone ? state.latent : (state.x0 ?? state.latent))
        imageCache = image
        return image
    }

    /// `Key: value` pairs describing this run, for an output image's `parameters` chunk.
    public var parameters: [(String, String)] {
        var pairs: [(String, String)] = [("Model", modelName(pipeline.model)), ("Prompt", state.prompt)]
        if !state.negative.isEmpty { pairs.append(("Negative prompt", state.negative)) }
        pairs += [("Steps", "\(scheduler.stepCount)"), ("Sampler", settings.schedulerName),
                  ("CFG scale", formatFloat(state.guidance)), ("Noise seed", "\(settings.seed)"),
                  ("Step", "\(state.index)/\(scheduler.stepCount)")]
        if startIndex > 0 { pairs.append(("Start step", "\(startIndex)")) }
        return pairs
    }
}

/// The model's folder or file name (not its full path, which differs between machines).
public func modelName(_ model: StableDiffusion) -> String {
    let name = model.source.split(separator: "/").last.map(String.init) ?? model.source
    return name.isEmpty ? model.source : name
}

/// `981`, `500.5`.
func formatTimestep(_ t: Double) -> String {
    t == t.rounded() && abs(t) < 1e9 ? String(Int(t)) : String(t)
}

/// A Float without trailing noise: `7.5`, `6`.
func formatFloat(_ x: Float) -> String {
    x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : String(x)
}
