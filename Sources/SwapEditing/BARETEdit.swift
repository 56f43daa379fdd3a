import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// BARET's editing loop (Qiao et al. 2024, Fig. 2 and §BAM; spec §8.3 "Full editing loop"):
// reconstruction ({C_i}), transition ({ê_i}) and editing (e_tgt) start from the same z*_T and
// are denoised together, one UNet call per step on [∅ ×3; C_i, ê_i, e_tgt], the Balanced
// Attention Module acting on the editing rows; then one guided DDIM step per branch. The
// unconditional context is encode("") for every branch (TTIS never touches ∅ [I]).

/// The settings of `baret(model, image, target_prompt, ...)` after TTIS.
public struct BaretSettings {
    public var transition = TransitionSchedule()
    public var attention = BalancedAttentionSettings()
    /// Imagic's e_opt for an Imagic-style transition (nil: the last tuned embedding).
    public var optimizedEmbedding: Tensor?

    public init(transition: TransitionSchedule = TransitionSchedule(), attention: BalancedAttentionSettings = BalancedAttentionSettings()) {
        self.transition = transition
        self.attention = attention
    }
}

/// BARET as a steppable process: all three branches' latents, x̂₀ previews, images and (with
/// capture) attention maps are inspectable at any step; branch b of the attention store is
/// ``BaretBranch`` b.
public final class BaretEdit: ValueStateProcess, AttentionCapturing {
    public struct State {
        /// Latents of the three branches at the next step's timestep, by ``BaretBranch``.
        public var latents: [Tensor]
        public var index: Int
        /// x̂₀ of the last step, [3, C, h, w].
        public var x0: Tensor?
    }

    public let pipeline: StableDiffusionPipeline
    public let scheduler: DDIMScheduler
    public let predictor: NoisePredictor
    public let controller: BalancedAttentionController
    public let inversion: TargetTextInversionResult
    public let settings: BaretSettings
    public var state: State { didSet { imageCache = nil } }
    public let history = ProcessHistory()
    public var trace = ProcessTrace()
    public var kindName: String { "baret" }
    private var imageCache: Tensor?

    public init(model: StableDiffusion, inversion: TargetTextInversionResult, settings: BaretSettings = BaretSettings(),
                capture: AttentionCaptureSettings = .off) throws {
        try settings.transition.validate("baret")
        try settings.attention.validate()
        guard inversion.embeddings.count == inversion.pivot.steps else {
            throw EditingError("baret: the target-text inversion has \(inversion.embeddings.count) of \(inversion.pivot.steps) embeddings; run it to the end first")
        }
        pipeline = StableDiffusionPipeline(model: model, scheduler: .ddim())
        scheduler = try inversionScheduler(pipeline, inversion.pivot)
        controller = BalancedAttentionController(settings: settings.attention, steps: scheduler.stepCount)
        predictor = NoisePredictor(model: model, hooks: [controller], capture: capture == .off ? nil : AttentionStore(settings: capture))
        self.inversion = inversion
        self.settings = settings
        let z = inversion.pivot.startLatent
        state = State(latents: [z, z, z], index: 0, x0: nil)
        let tokens = tokenCount(inversion.prompt)
        for b in BaretBranch.allCases { predictor.capture?.tokenCounts[b.rawValue] = tokens }
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
    /// Every branch reads the target prompt's tokens (C_i and ê_i are aligned with e_tgt token by token).
    public func prompt(branch: Int) -> String? { BaretBranch(rawValue: branch) == nil ? nil : inversion.prompt }

    public var progressSummary: String {
        "baret step \(state.index)/\(scheduler.stepCount)" + (timestep.map { "  t=\(Int($0))" } ?? "  done")
    }

    public func didRestore(toIndex index: Int) { predictor.capture?.truncate(toStepsBefore: index) }

    /// The conditional embeddings of step `i`: (C_i, ê_i, e_tgt).
    public func embeddings(step i: Int) throws -> [Tensor] {
        [inversion.embeddings[i],
         try settings.transition.embedding(step: i, tuned: inversion.embeddings, target: inversion.target, optimized: settings.optimizedEmbedding),
         inversion.target]
    }

    public func step(_ context: RunContext) throws {
        let i = state.index
        guard i < scheduler.stepCount else { throw EditingError("baret: already finished") }
        try context.checkCancelled()
        let t = scheduler.integerTimesteps[i]
        let conditionals = try embeddings(step: i)
        predictor.beginStep(i)
        let predictions = try GradMode.withoutGradient {
            try predictor.guided(BaretBranch.allCases.map { b in
                GuidedBranch(latent: state.latents[b.rawValue], timestep: Float(t), conditional: conditionals[b.rawValue],
                             unconditional: inversion.unconditional, guidance: inversion.guidance, branch: b.rawValue)
            })
        }
        try context.checkCancelled()
        let eps = try Tensor.concat(predictions.map(\.guided), axis: 0)
        let out = try scheduler.step(eps, timestep: t, sample: try Tensor.concat(state.latents, axis: 0))
        let next = try out.previous.chunked(3, axis: 0)
        let selfOn = controller.settings.selfWindow(steps: scheduler.stepCount).contains(i)
        let crossOn = controller.settings.crossWindow(steps: scheduler.stepCount).contains(i)
        state = State(latents: next, index: i + 1, x0: out.predictedOriginal)
        trace.record(step: i, [("t", Double(t)), ("lambda", Double(settings.transition.lambda(step: i, of: scheduler.stepCount))),
                               ("self_inject", selfOn ? 1 : 0), ("cross_inject", crossOn ? 1 : 0),
                               ("edit_rec_diff", Double(try (next[2] - next[0]).squared().mean().item.squareRoot())),
                               ("trans_rec_diff", Double(try (next[1] - next[0]).squared().mean().item.squareRoot()))])
    }

    /// The latents [3, C, h, w] to decode: final latents once done, else x̂₀ of the last step.
    var displayLatents: Tensor {
        get throws { isDone || state.x0 == nil ? try Tensor.concat(state.latents, axis: 0) : state.x0! }
    }

    /// The images [3, 3, H, W] in [−1, 1] (reconstruction, transition, editing).
    public func images() throws -> Tensor {
        if let imageCache { return imageCache }
        let latents = try displayLatents
        let image = try GradMode.withoutGradient { try pipeline.decode(latents) }
        imageCache = image
        return image
    }

    public var parameters: [(String, String)] {
        let a = settings.attention
        var lambda = "\(settings.transition.start)..\(settings.transition.end) \(settings.transition.curve.rawValue)"
        if case .imagic(let eta) = settings.transition.interpolation { lambda = "imagic eta \(eta)" }
        return [("Model", modelName(pipeline.model)), ("Prompt", inversion.prompt), ("Steps", "\(scheduler.stepCount)"),
                ("CFG scale", formatFloat(inversion.guidance)), ("Lambda", lambda),
                ("Self inject", "\(a.selfInject) \(a.selfLayers.rawValue) \(a.selfMode.rawValue) \(a.selfHalves.rawValue)"),
                ("Cross inject", "\(a.crossInject) \(a.crossHalves.rawValue)"), ("Edit condition", a.editCondition.rawValue)]
    }
}
