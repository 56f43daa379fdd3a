import SwapModels
import SwapSchedulers
import SwapTensor

// Matches the denoising loop of diffusers src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion.py
// `__call__`: for each t, [x; x] → scale_model_input → UNet → split [uncond; cond] → guidance
// (→ rescale) → scheduler.step.

/// The state of a guided sampling run between steps: the current latents, the step index, and
/// everything a step needs (UNet, scheduler, text context, guidance, noise source, hooks).
///
/// It is a value: `step()` advances this copy only, so a copy taken between steps is a snapshot
/// that can be resumed later (call ``snapshot()`` to also fork the random generator). Each step
/// is a pure function of the state, so `step()` k times then `run()` gives bit-identical latents
/// to a single `run()`.
public struct DenoisingLoop {
    public let unet: UNet2DConditionModel
    public let scheduler: any Scheduler
    /// [uncond; cond] embeddings [2B, L, d] when guiding, else [B, L, d].
    public let context: Tensor
    public let guidanceScale: Float
    public let guidanceRescale: Float
    /// Attention hooks applied at every step (rows are labelled [uncond…; cond…] when guiding).
    public var hooks: [any AttentionHook]
    /// The noise source of stochastic schedulers (DDPM, DDIM with η > 0); a reference type.
    public private(set) var generator: TorchGenerator
    /// The latents at `timesteps[stepIndex]` (after the last step: the final latents).
    public private(set) var latents: Tensor
    /// The next step to run (0 = noisiest); equals `stepCount` when finished.
    public private(set) var stepIndex = 0
    /// x̂₀ predicted by the last step, if any step ran.
    public private(set) var predictedOriginal: Tensor?

    /// Guidance runs (and the UNet sees the [uncond; cond] batch) only when s > 1.
    public var guides: Bool { guidanceScale > 1 }
    public var stepCount: Int { scheduler.stepCount }
    public var isFinished: Bool { stepIndex >= stepCount }
    /// The timestep the next step evaluates the UNet at (nil when finished).
    public var currentTimestep: Float? { isFinished ? nil : scheduler.timesteps[stepIndex] }

    public init(unet: UNet2DConditionModel, scheduler: any Scheduler, context: Tensor, latents: Tensor,
                guidanceScale: Float, guidanceRescale: Float = 0, generator: TorchGenerator = TorchGenerator(seed: 0),
                hooks: [any AttentionHook] = []) {
        self.unet = unet
        self.scheduler = scheduler
        self.context = context
        self.latents = latents
        self.guidanceScale = guidanceScale
        self.guidanceRescale = guidanceRescale
        self.generator = generator
        self.hooks = hooks
    }

    /// A copy with its own generator (a reference), so that stepping one does not move the other.
    public func snapshot() -> DenoisingLoop {
        var copy = self
        copy.generator = generator.copy()
        return copy
    }

    /// The guided model output at the current step for `latents` (ε, v or x₀ per the config).
    public func guidedPrediction() throws -> Tensor {
        guard let t = currentTimestep else { throw PipelineError("the loop has finished all \(stepCount) steps") }
        let b = latents.shape[0]
        guard context.shape[0] == (guides ? 2 * b : b) else {
            throw PipelineError("context has \(context.shape[0]) rows for \(b) latents (\(guides ? "guided: 2×" : "unguided: 1×"))")
        }
        let doubled = guides ? try Tensor.concat([latents, latents], axis: 0) : latents
        let input = try scheduler.scaleModelInput(doubled, stepIndex: stepIndex)
        let roles: [RowRole]? = hooks.isEmpty ? nil
            : guides ? Array(repeating: .unconditional, count: b) + Array(repeating: .conditional, count: b)
            : Array(repeating: .conditional, count: b)
        let output = try unet(input, timestep: t, encoderHiddenStates: context, hooks: hooks, rowRoles: roles)
        guard guides else { return output }
        return try ClassifierFreeGuidance.guide(output, scale: guidanceScale, rescale: guidanceRescale)
    }

    /// Runs one denoising step and returns the scheduler's output (the new latents are also
    /// stored in ``latents``).
    @discardableResult
    public mutating func step() throws -> SchedulerStepOutput {
        let prediction = try guidedPrediction()
        let output = try scheduler.step(prediction, stepIndex: stepIndex, sample: latents, noise: .generator(generator))
        latents = output.previous
        predictedOriginal = output.predictedOriginal
        stepIndex += 1
        return output
    }

    /// Runs the remaining steps and returns the final latents.
    @discardableResult
    public mutating func run() throws -> Tensor {
        while !isFinished { try step() }
        return latents
    }
}
