import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// Matches google/prompt-to-prompt ptp_utils.text2image_ldm_stable + diffusion_step (and the
// null-text notebook's text2image with per-step uncond embeddings): source and target prompts
// denoised together from one latent, one UNet call per step on [uncond × 2; cond × 2], the
// controller editing the conditional half, then scheduler.step and the local-blend callback.

/// Which Prompt-to-Prompt edit: word swap, added words, or attention reweighting only.
public enum PromptToPromptMode: String, Sendable, CaseIterable {
    case replace, refine, reweight
}

/// The settings of `p2p(model, source:, target:, mode:, ...)` (spec §4 defaults).
public struct PromptToPromptSettings {
    public var source: String
    public var target: String
    public var mode: PromptToPromptMode = .replace
    /// Cross-attention replacement window as fractions of the run, (0, 0.8) by default
    /// (`cross_replace_steps` 0.8); per-word windows override it at those words' tokens.
    public var crossSteps: (Double, Double) = (0, 0.8)
    public var crossWordSteps: [(word: String, bounds: (Double, Double))] = []
    /// Self-attention injection window, (0, 0.4) by default (`self_replace_steps` 0.4; the
    /// null-text notebook uses 0.5).
    public var selfSteps: (Double, Double) = (0, 0.4)
    /// Self-attention is injected only at layers with at most this many query tokens: 256
    /// (16×16, the P2P notebook) by default; 1024 (32×32) is the null-text notebook's choice.
    public var selfMaxTokens: Int = 256
    /// Reweighting: word of the target prompt → factor (mode reweight, or on top of replace /
    /// refine as the reference's `prev_controller`).
    public var weights: [(word: String, value: Float)] = []
    /// Local blend words (looked up in both prompts); empty: no blending.
    public var blendWords: [String] = []
    /// Local blend threshold (0.3), first step as a fraction of the run (0: the P2P notebook;
    /// 0.2: the null-text notebook), words removed from the mask (null-text notebook).
    public var blendThreshold: Float = 0.3
    public var blendStart: Double = 0
    public var blendSubtract: [String] = []
    public var guidance: Float = 7.5
    public var steps: Int = 50
    public var seed: UInt64 = 0
    public var negative: String = ""
    public var height: Int?
    public var width: Int?

    public init(source: String, target: String, mode: PromptToPromptMode = .replace) {
        self.source = source
        self.target = target
        self.mode = mode
    }
}

extension PromptToPromptController {
    /// A controller for `settings` on `tokenizer` with `steps` sampling steps; checks the
    /// prompts and words (replace needs equal word counts, weights and blend words must occur).
    public static func make(_ settings: PromptToPromptSettings, tokenizer: CLIPTokenizer, steps: Int) throws -> PromptToPromptController {
        let align = PromptAlignment(tokenizer: tokenizer)
        for (name, b) in [("cross_steps", settings.crossSteps), ("self_steps", settings.selfSteps)] + settings.crossWordSteps.map({ ("cross_steps['\($0.word)']", $0.bounds) }) {
            guard b.0.isFinite, b.1.isFinite, b.0 >= 0, b.1 <= 1, b.0 <= b.1 else {
                throw EditingError("p2p: \(name) must be a fraction in [0, 1] or a range lo..hi inside it, got \(b.0)..\(b.1)")
            }
        }
        // The word-level edit; reweighting wraps it (the reference's `prev_controller`).
        let base: CrossAttentionEdit?
        switch settings.mode {
        case .replace:
            base = .replace(matrix: try align.replacementMatrix(source: settings.source, target: settings.target))
        case .refine:
            let r = align.refinement(source: settings.source, target: settings.target)
            base = .refine(mapper: r.mapper, alphas: r.alphas)
        case .reweight:
            guard settings.source == settings.target else {
                throw EditingError("p2p reweight: source and target must be the same prompt (use mode: \"replace\" or \"refine\" with weights: to reweight an edited prompt)")
            }
            base = nil
        }
        let edit: CrossAttentionEdit
        if !settings.weights.isEmpty {
            edit = .reweight(equalizer: try align.equalizer(text: settings.target, weights: settings.weights), base: base)
        } else if let base {
            edit = base
        } else {
            throw EditingError("p2p reweight: give weights: {\"word\": factor}")
        }
        let cross = align.crossReplaceWindow(target: settings.target, steps: steps, default: settings.crossSteps,
                                             words: settings.crossWordSteps)
        let selfWindow = Int(Double(steps) * settings.selfSteps.0)..<Int(Double(steps) * settings.selfSteps.1)
        var blend: LocalBlend? = nil
        if !settings.blendWords.isEmpty {
            func tokens(_ words: [String], _ text: String) -> [Int] { words.flatMap { align.tokenIndices(of: .text($0), in: text) } }
            for word in settings.blendWords + settings.blendSubtract
            where tokens([word], settings.source).isEmpty && tokens([word], settings.target).isEmpty {
                throw EditingError("p2p blend: '\(word)' is a word of neither prompt (source: \"\(settings.source)\", target: \"\(settings.target)\")")
            }
            guard settings.blendThreshold.isFinite, settings.blendStart >= 0, settings.blendStart <= 1 else {
                throw EditingError("p2p blend: the threshold must be finite and the start a fraction in [0, 1]")
            }
            blend = LocalBlend(sourceTokens: tokens(settings.blendWords, settings.source),
                               targetTokens: tokens(settings.blendWords, settings.target),
                               threshold: settings.blendThreshold, startStep: Int(settings.blendStart * Double(steps)),
                               subtractSourceTokens: tokens(settings.blendSubtract, settings.source),
                               subtractTargetTokens: tokens(settings.blendSubtract, settings.target))
        }
        let controller = PromptToPromptController(edit: edit, crossWindow: cross, selfWindow: selfWindow,
                                                  selfMaxTokens: settings.selfMaxTokens, localBlend: blend)
        controller.settings = settings
        return controller
    }
}

/// A Prompt-to-Prompt pair as a steppable process: the source (branch 0) and the target
/// (branch 1) start from the same latent and are denoised together, with one batched UNet call
/// per step; the attached controller edits the target's attention, and its local blend (if
/// any) acts on the latents after each scheduler step. The controller can be swapped or removed
/// between steps (``attach(_:fromStep:)``).
public final class PromptToPromptPair: ValueStateProcess, AttentionCapturing {
    public struct State {
        /// Source and target latents at the next step's timestep, [1, C, h, w] each.
        public var source: Tensor, target: Tensor
        public var index: Int
        /// x̂₀ of the last step, [2, C, h, w] (source, target).
        public var x0: Tensor?
        public var controller: PromptToPromptController?
        /// The controller's own state (step, local-blend maps) at this point.
        public var controllerState: (step: Int, blend: LocalBlend.Maps?)?
        /// The controller acts from this step on (earlier steps run unedited).
        public var controllerStart: Int
    }

    public let pipeline: StableDiffusionPipeline
    public let scheduler: any Scheduler
    public let predictor: NoisePredictor
    public let settings: PromptToPromptSettings
    /// Source and target prompt embeddings [1, 77, d] and the negative prompt's.
    public let sourceEmbedding: Tensor, targetEmbedding: Tensor, negativeEmbedding: Tensor
    /// Per-step unconditional embeddings of a null-text inversion (nil: ``negativeEmbedding``).
    public let nullEmbeddings: [Tensor]?
    public var state: State { didSet { imageCache = nil } }
    public let history = ProcessHistory()
    public var trace = ProcessTrace()
    public var kindName: String { "p2p" }
    private var imageCache: Tensor?

    /// - Parameters:
    ///   - inversion: start from a real image's inversion (z*_T and, after null-text inversion,
    ///     its per-step unconditional embeddings); the run then uses DDIM on the inversion's grid.
    ///   - capture: attention capture settings (the store sees the post-edit maps).
    public init(model: StableDiffusion, settings: PromptToPromptSettings, inversion: InversionResult? = nil,
                capture: AttentionCaptureSettings = .off) throws {
        guard settings.steps >= 1, settings.steps <= 1000 else { throw EditingError("p2p: steps must be between 1 and 1000, got \(settings.steps)") }
        guard settings.guidance.isFinite else { throw EditingError("p2p: guidance must be finite") }
        self.settings = settings
        pipeline = StableDiffusionPipeline(model: model, scheduler: .ddim())
        if let inversion {
            var config = try pipeline.schedulerConfig(.ddim)
            config.stepsOffset = inversion.stepsOffset
            let ddim = try DDIMScheduler(config: config, steps: settings.steps)
            try inversion.checkCompatible(steps: ddim.stepCount, offset: inversion.stepsOffset, "p2p")
            scheduler = ddim
            if let nulls = inversion.nullEmbeddings, nulls.count != settings.steps {
                throw EditingError("p2p: the null-text inversion has \(nulls.count) of \(settings.steps) embeddings; run it to the end first")
            }
            nullEmbeddings = inversion.nullEmbeddings
        } else {
            scheduler = try pipeline.makeScheduler(steps: settings.steps)
            nullEmbeddings = nil
        }
        // A target equal to the source shares its embedding: the text encoder's batched GEMMs are
        // not bit-identical across batch positions (measured 5e-7), and an identical pair must
        // stay identical.
        let same = settings.target == settings.source
        let prompts = [settings.negative, settings.source] + (same ? [] : [settings.target])
        let embeddings = try pipeline.encodePrompts(prompts).chunked(prompts.count, axis: 0)
        (negativeEmbedding, sourceEmbedding, targetEmbedding) = (embeddings[0], embeddings[1], embeddings[same ? 1 : 2])
        let controller = try PromptToPromptController.make(settings, tokenizer: model.tokenizer, steps: settings.steps)
        predictor = NoisePredictor(model: model, hooks: [controller], capture: capture == .off ? nil : AttentionStore(settings: capture))
        var request = GenerationRequest(prompt: settings.source, guidanceScale: settings.guidance, steps: settings.steps, seed: settings.seed)
        request.height = settings.height
        request.width = settings.width
        let latent: Tensor
        if let inversion {
            let shape = try pipeline.latentShape(request)
            guard inversion.startLatent.shape == shape else {
                throw EditingError("p2p: the inversion's latent is \(formatShape(inversion.startLatent.shape)), the run needs \(formatShape(shape)) (give size: to match the inverted image)")
            }
            latent = inversion.startLatent
        } else {
            latent = try pipeline.prepareLatents(request, scheduler: scheduler, generator: TorchGenerator(seed: settings.seed))
        }
        state = State(source: latent, target: latent, index: 0, x0: nil, controller: controller,
                      controllerState: controller.state, controllerStart: 0)
        predictor.capture?.tokenCounts[0] = tokenCount(settings.source)
        predictor.capture?.tokenCounts[1] = tokenCount(settings.target)
    }

    func tokenCount(_ text: String) -> Int {
        let ids = pipeline.model.tokenizer.encode(text)
        return (ids.firstIndex(of: pipeline.model.tokenizer.eosID) ?? (ids.count - 1)) + 1
    }

    public var index: Int { state.index }
    public var totalSteps: Int? { scheduler.stepCount }
    public var isDone: Bool { state.index >= scheduler.stepCount }
    public var timestep: Double? { isDone ? nil : Double(scheduler.timesteps[state.index]) }
    public var attention: AttentionStore? { predictor.capture }
    public var tokenizer: CLIPTokenizer { pipeline.model.tokenizer }
    public func prompt(branch: Int) -> String? { branch == 0 ? settings.source : branch == 1 ? settings.target : nil }

    public var progressSummary: String {
        "p2p step \(state.index)/\(scheduler.stepCount)" + (timestep.map { "  t=\(Int($0))" } ?? "  done")
            + (state.controller == nil ? "  (no controller)" : "")
    }

    /// The controller in effect at the next step (nil before its start step or when removed).
    var activeController: PromptToPromptController? {
        guard let c = state.controller, state.index >= state.controllerStart else { return nil }
        return c
    }

    public func didRestore(toIndex index: Int) {
        if let c = state.controller, let s = state.controllerState { c.state = s }
        predictor.capture?.truncate(toStepsBefore: index)
    }

    public func step(_ context: RunContext) throws {
        let i = state.index
        guard i < scheduler.stepCount else { throw EditingError("p2p: already finished") }
        try context.checkCancelled()
        let t = scheduler.timesteps[i]
        let controller = activeController
        predictor.hooks = controller.map { [$0] } ?? []
        if let c = state.controller, let s = state.controllerState { c.state = s }
        predictor.beginStep(i)
        let uncond = nullEmbeddings?[i] ?? negativeEmbedding
        let predictions = try GradMode.withoutGradient { () throws -> [GuidedPrediction] in
            let src = try scheduler.scaleModelInput(state.source, stepIndex: i)
            let tgt = try scheduler.scaleModelInput(state.target, stepIndex: i)
            return try predictor.guided([
                GuidedBranch(latent: src, timestep: t, conditional: sourceEmbedding, unconditional: uncond, guidance: settings.guidance, branch: 0),
                GuidedBranch(latent: tgt, timestep: t, conditional: targetEmbedding, unconditional: uncond, guidance: settings.guidance, branch: 1),
            ])
        }
        try context.checkCancelled()
        // One scheduler step on the [source; target] batch, as the reference (elementwise).
        let eps = try Tensor.concat([predictions[0].guided, predictions[1].guided], axis: 0)
        let latents = try Tensor.concat([state.source, state.target], axis: 0)
        let out = try scheduler.step(eps, stepIndex: i, sample: latents, noise: .none)
        let halves = try out.previous.chunked(2, axis: 0)
        var target = halves[1]
        if let blend = controller?.localBlend {
            target = try blend.apply(source: halves[0], target: target, step: i)
        }
        state.source = halves[0]
        state.target = target
        state.x0 = out.predictedOriginal
        state.index = i + 1
        state.controllerState = state.controller?.state
        trace.record(step: i, [("t", Double(t)), ("edited", controller == nil ? 0 : 1),
                               ("target_source_diff", Double(try (target - halves[0]).squared().mean().item.squareRoot()))])
    }

    /// Attaches `controller` (nil removes it) from step `fromStep` on (default: the next step).
    /// A start before the current step rewinds the pair to it first (through ``back(_:)``), so
    /// the run continues from there with the new controller.
    public func attach(_ controller: PromptToPromptController?, fromStep: Int? = nil) throws {
        let start = fromStep ?? state.index
        guard start >= 0, start <= scheduler.stepCount else {
            throw EditingError("attach: from_step \(start) is outside 0...\(scheduler.stepCount)")
        }
        if start < state.index { try back(state.index - start) }
        if let controller {
            controller.beginStep(state.index)
            if let blend = controller.localBlend { blend.maps = LocalBlend.Maps() }
        }
        state.controller = controller
        state.controllerState = controller?.state
        state.controllerStart = start
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

    /// `Key: value` pairs describing this run, for output images' `parameters` chunks.
    public var parameters: [(String, String)] {
        var pairs: [(String, String)] = [("Model", modelName(pipeline.model)), ("Prompt", settings.source), ("Target prompt", settings.target),
                                         ("P2P mode", settings.mode.rawValue), ("Steps", "\(scheduler.stepCount)"),
                                         ("CFG scale", "\(settings.guidance)"), ("Noise seed", "\(settings.seed)"),
                                         ("Cross steps", "\(settings.crossSteps.0)..\(settings.crossSteps.1)"),
                                         ("Self steps", "\(settings.selfSteps.0)..\(settings.selfSteps.1)")]
        if !settings.weights.isEmpty { pairs.append(("Weights", settings.weights.map { "\($0.word)=\($0.value)" }.joined(separator: ","))) }
        if !settings.blendWords.isEmpty { pairs.append(("Blend", settings.blendWords.joined(separator: ",") + " > \(settings.blendThreshold)")) }
        if nullEmbeddings != nil { pairs.append(("Inversion", "null-text")) }
        return pairs
    }
}
