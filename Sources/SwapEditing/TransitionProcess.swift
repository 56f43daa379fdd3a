import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// BARET's transition branch alone (Fig. 2's I_trans): guided DDIM from z*_T with the
// transition embedding ê_i of each step (``TransitionSchedule``) and ∅ = encode("").

/// A DDIM grid on the inversion's steps and steps_offset (what sampling from it must use).
func inversionScheduler(_ pipeline: StableDiffusionPipeline, _ inversion: InversionResult) throws -> DDIMScheduler {
    var config = try pipeline.schedulerConfig(.ddim)
    config.stepsOffset = inversion.stepsOffset
    let scheduler = try DDIMScheduler(config: config, steps: inversion.steps)
    try inversion.checkCompatible(steps: scheduler.stepCount, offset: inversion.stepsOffset, "transition")
    return scheduler
}

/// The progressive transition as a steppable process (`transition(model, inversion,
/// target_prompt, lambda: 0.8..0.1)`): the transition image is available at any step.
public final class ProgressiveTransition: ValueStateProcess {
    public struct State {
        public var latent: Tensor
        public var index: Int
        public var x0: Tensor?
        /// ê of the last step.
        public var embedding: Tensor?
    }

    public let pipeline: StableDiffusionPipeline
    public let scheduler: DDIMScheduler
    public let predictor: NoisePredictor
    public let inversion: TargetTextInversionResult
    public let schedule: TransitionSchedule
    /// Imagic's e_opt (nil: the last tuned embedding).
    public let optimized: Tensor?
    public var state: State { didSet { imageCache = nil } }
    public let history = ProcessHistory()
    public var trace = ProcessTrace()
    public var kindName: String { "transition" }
    private var imageCache: Tensor?

    public init(model: StableDiffusion, inversion: TargetTextInversionResult, schedule: TransitionSchedule = TransitionSchedule(),
                optimized: Tensor? = nil) throws {
        try schedule.validate("transition")
        guard inversion.embeddings.count == inversion.pivot.steps else {
            throw EditingError("transition: the target-text inversion has \(inversion.embeddings.count) of \(inversion.pivot.steps) embeddings; run it to the end first")
        }
        if let optimized, optimized.shape != inversion.target.shape {
            throw EditingError("transition: the optimised embedding is \(formatShape(optimized.shape)), expected \(formatShape(inversion.target.shape))")
        }
        pipeline = StableDiffusionPipeline(model: model, scheduler: .ddim())
        scheduler = try inversionScheduler(pipeline, inversion.pivot)
        predictor = NoisePredictor(model: model)
        self.inversion = inversion
        self.schedule = schedule
        self.optimized = optimized
        state = State(latent: inversion.pivot.startLatent, index: 0, x0: nil, embedding: nil)
    }

    public var index: Int { state.index }
    public var totalSteps: Int? { scheduler.stepCount }
    public var isDone: Bool { state.index >= scheduler.stepCount }
    public var timestep: Double? { isDone ? nil : Double(scheduler.integerTimesteps[state.index]) }

    /// ê_i of every step (what the branch conditions on).
    public func embeddings() throws -> [Tensor] {
        try (0..<scheduler.stepCount).map { try schedule.embedding(step: $0, tuned: inversion.embeddings, target: inversion.target, optimized: optimized) }
    }

    /// λ_i of every step.
    public var lambdas: [Float] { (0..<scheduler.stepCount).map { schedule.lambda(step: $0, of: scheduler.stepCount) } }

    public func step(_ context: RunContext) throws {
        let i = state.index
        guard i < scheduler.stepCount else { throw EditingError("transition: already finished") }
        try context.checkCancelled()
        let t = scheduler.integerTimesteps[i]
        let e = try schedule.embedding(step: i, tuned: inversion.embeddings, target: inversion.target, optimized: optimized)
        predictor.beginStep(i)
        let eps = try GradMode.withoutGradient {
            try predictor.guided([GuidedBranch(latent: state.latent, timestep: Float(t), conditional: e,
                                               unconditional: inversion.unconditional, guidance: inversion.guidance)])[0].guided
        }
        let out = try scheduler.step(eps, timestep: t, sample: state.latent)
        state = State(latent: out.previous, index: i + 1, x0: out.predictedOriginal, embedding: e)
        trace.record(step: i, [("t", Double(t)), ("lambda", Double(schedule.lambda(step: i, of: scheduler.stepCount))),
                               ("target_distance", Double(try (e - inversion.target).squared().sum().item.squareRoot()))])
    }

    /// The transition image: the final latent decoded once done, else the decoded x̂₀ of the
    /// last step, else the decoded z*_T.
    public func image() throws -> Tensor {
        if let imageCache { return imageCache }
        let image = try GradMode.withoutGradient { try pipeline.decode(isDone ? state.latent : (state.x0 ?? state.latent)) }
        imageCache = image
        return image
    }
}
