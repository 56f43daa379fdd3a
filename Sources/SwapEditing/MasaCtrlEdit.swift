import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// Matches TencentARC/MasaCtrl playground.ipynb / playground_real.ipynb with
// masactrl/diffuser_utils.py (MasaCtrlPipeline.__call__): source and target denoised together
// from one latent at guidance 7.5, batch [u_src, u_tgt, c_src, c_tgt], the controller
// registered on every attention layer; `ref_intermediate_latents` optionally pins the source
// row to the inversion trajectory.

/// Where the source of a MasaCtrl edit comes from.
public enum MasaCtrlSource {
    /// A generated image: the source prompt and the seed of the shared initial noise.
    case generated(prompt: String, seed: UInt64)
    /// A real image: its inversion (z*_T; per-step null-text embeddings when present) and the
    /// prompt of the source branch (MasaCtrl inverts and reconstructs with "").
    case inverted(InversionResult, prompt: String)
}

/// The settings of `masactrl(model, source:, target_prompt:, ...)`.
public struct MasaCtrlEditSettings {
    public var target: String
    public var control = MasaCtrlSettings()
    /// The source and target masks of the `.mask` variant.
    public var masks: MasaCtrlMasks?
    public var guidance: Float = 7.5
    public var steps: Int = 50
    public var negative: String = ""
    /// Replace the source latent by the inversion trajectory after every step (MasaCtrl's
    /// `ref_intermediate_latents`; real images only).
    public var referenceLatents = false
    public var height: Int?
    public var width: Int?

    public init(target: String) { self.target = target }
}

/// MasaCtrl as a steppable process: branch 0 is the source (generated or reconstructed),
/// branch 1 the target, whose self-attention queries the source's keys and values inside the
/// gate (``MutualSelfAttentionControl``).
public final class MasaCtrlEdit: ValueStateProcess, AttentionCapturing {
    public struct State {
        /// Source and target latents at the next step's timestep.
        public var source: Tensor, target: Tensor
        public var index: Int
        /// x̂₀ of the last step, [2, C, h, w] (source, target).
        public var x0: Tensor?
    }

    public let pipeline: StableDiffusionPipeline
    public let scheduler: DDIMScheduler
    public let predictor: NoisePredictor
    public let controller: MutualSelfAttentionControl
    public let settings: MasaCtrlEditSettings
    public let source: MasaCtrlSource
    public let sourcePrompt: String
    public let sourceEmbedding: Tensor, targetEmbedding: Tensor, negativeEmbedding: Tensor
    public var state: State { didSet { imageCache = nil } }
    public let history = ProcessHistory()
    public var trace = ProcessTrace()
    public var kindName: String { "masactrl" }
    private var imageCache: Tensor?

    public init(model: StableDiffusion, source: MasaCtrlSource, settings: MasaCtrlEditSettings,
                capture: AttentionCaptureSettings = .off) throws {
        guard settings.steps >= 1, settings.steps <= 1000 else { throw EditingError("masactrl: steps must be between 1 and 1000, got \(settings.steps)") }
        guard settings.guidance.isFinite else { throw EditingError("masactrl: guidance must be finite") }
        guard settings.control.startStep >= 0, settings.control.startLayer >= 0 else {
            throw EditingError("masactrl: start_step and start_layer must be ≥ 0")
        }
        self.settings = settings
        self.source = source
        pipeline = StableDiffusionPipeline(model: model, scheduler: .ddim())
        var config = try pipeline.schedulerConfig(.ddim)
        var request = GenerationRequest(prompt: settings.target, guidanceScale: settings.guidance, steps: settings.steps)
        request.height = settings.height
        request.width = settings.width
        let latent: Tensor
        switch source {
        case .generated(let prompt, let seed):
            guard !settings.referenceLatents else { throw EditingError("masactrl: reference latents need an inverted source") }
            scheduler = try DDIMScheduler(config: config, steps: settings.steps)
            request.seed = seed
            latent = try pipeline.prepareLatents(request, scheduler: scheduler, generator: TorchGenerator(seed: seed))
            sourcePrompt = prompt
        case .inverted(let inversion, let prompt):
            config.stepsOffset = inversion.stepsOffset
            scheduler = try DDIMScheduler(config: config, steps: settings.steps)
            try inversion.checkCompatible(steps: scheduler.stepCount, offset: inversion.stepsOffset, "masactrl")
            if let nulls = inversion.nullEmbeddings, nulls.count != settings.steps {
                throw EditingError("masactrl: the null-text inversion has \(nulls.count) of \(settings.steps) embeddings; run it to the end first")
            }
            latent = inversion.startLatent
            sourcePrompt = prompt
        }
        // Equal prompts share one embedding, so an identical pair stays bit-identical (the text
        // encoder's batched GEMMs differ across batch positions by ~5e-7).
        let same = settings.target == sourcePrompt
        let prompts = [settings.negative, sourcePrompt] + (same ? [] : [settings.target])
        let embeddings = try pipeline.encodePrompts(prompts).chunked(prompts.count, axis: 0)
        (negativeEmbedding, sourceEmbedding, targetEmbedding) = (embeddings[0], embeddings[1], embeddings[same ? 1 : 2])
        controller = try MutualSelfAttentionControl(settings: settings.control, masks: settings.masks)
        predictor = NoisePredictor(model: model, hooks: [controller], capture: capture == .off ? nil : AttentionStore(settings: capture))
        state = State(source: latent, target: latent, index: 0, x0: nil)
        predictor.capture?.tokenCounts[0] = tokenCount(sourcePrompt)
        predictor.capture?.tokenCounts[1] = tokenCount(settings.target)
    }

    func tokenCount(_ text: String) -> Int {
        let ids = pipeline.model.tokenizer.encode(text)
        return (ids.firstIndex(of: pipeline.model.tokenizer.eosID) ?? (ids.count - 1)) + 1
    }

    public var index: Int { state.index }
    public var totalSteps: Int? { scheduler.stepCount }
    public var isDone: Bool { state.index >= scheduler.stepCount }
    public var timestep: Double? { isDone ? nil : Double(scheduler.integerTimesteps[state.index]) }
    public var attention: AttentionStore? { predictor.capture }
    public var tokenizer: CLIPTokenizer { pipeline.model.tokenizer }
    public func prompt(branch: Int) -> String? { branch == 0 ? sourcePrompt : branch == 1 ? settings.target : nil }

    public var progressSummary: String {
        "masactrl step \(state.index)/\(scheduler.stepCount)" + (timestep.map { "  t=\(Int($0))" } ?? "  done")
    }

    public func didRestore(toIndex index: Int) { predictor.capture?.truncate(toStepsBefore: index) }

    var inversion: InversionResult? {
        if case .inverted(let r, _) = source { return r }
        return nil
    }

    public func step(_ context: RunContext) throws {
        let i = state.index
        guard i < scheduler.stepCount else { throw EditingError("masactrl: already finished") }
        try context.checkCancelled()
        let t = scheduler.integerTimesteps[i]
        predictor.beginStep(i)
        let uncond = inversion?.nullEmbeddings?[i] ?? negativeEmbedding
        let predictions = try GradMode.withoutGradient {
            try predictor.guided([
                GuidedBranch(latent: state.source, timestep: Float(t), conditional: sourceEmbedding, unconditional: uncond, guidance: settings.guidance, branch: 0),
                GuidedBranch(latent: state.target, timestep: Float(t), conditional: targetEmbedding, unconditional: uncond, guidance: settings.guidance, branch: 1),
            ])
        }
        try context.checkCancelled()
        let eps = try Tensor.concat([predictions[0].guided, predictions[1].guided], axis: 0)
        let out = try scheduler.step(eps, timestep: t, sample: try Tensor.concat([state.source, state.target], axis: 0))
        let halves = try out.previous.chunked(2, axis: 0)
        var source = halves[0]
        if settings.referenceLatents, let r = inversion { source = try r.pivot(afterSamplingStep: i) }
        state.source = source
        state.target = halves[1]
        state.x0 = out.predictedOriginal
        state.index = i + 1
        trace.record(step: i, [("t", Double(t)), ("controlled", predictor.model.unet.attentionLayers.contains { settings.control.controls(step: i, layer: $0) } ? 1 : 0),
                               ("target_source_diff", Double(try (halves[1] - halves[0]).squared().mean().item.squareRoot()))])
    }

    /// The images [2, 3, H, W] in [−1, 1] (source, target): the decoded final latents once
    /// done, else the decoded x̂₀ of the last step, else the decoded current latents.
    public func images() throws -> Tensor {
        if let imageCache { return imageCache }
        let latents = isDone || state.x0 == nil ? try Tensor.concat([state.source, state.target], axis: 0) : state.x0!
        let image = try GradMode.withoutGradient { try pipeline.decode(latents) }
        imageCache = image
        return image
    }

    public var parameters: [(String, String)] {
        var pairs: [(String, String)] = [("Model", modelName(pipeline.model)), ("Prompt", sourcePrompt), ("Target prompt", settings.target),
                                         ("Steps", "\(scheduler.stepCount)"), ("CFG scale", formatFloat(settings.guidance)),
                                         ("MasaCtrl start step", "\(settings.control.startStep)"),
                                         ("MasaCtrl start layer", "\(settings.control.startLayer)"),
                                         ("MasaCtrl variant", settings.control.variant.rawValue)]
        switch source {
        case .generated(_, let seed): pairs.append(("Noise seed", "\(seed)"))
        case .inverted(let r, _): pairs.append(("Inversion", r.nullEmbeddings == nil ? "DDIM" : "null-text"))
        }
        return pairs
    }
}
