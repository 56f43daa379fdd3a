import SwapTensor

/// Where a stochastic step (DDPM, DDIM with η > 0, Euler with churn) gets its Gaussian noise.
///
/// `.generator` draws `randn(modelOutput.shape)` from a ``TorchGenerator``, exactly as diffusers'
/// `randn_tensor(shape, generator=g)` does, so a seeded torch pipeline and this package draw the
/// same numbers. The generator is a reference type and advances; a caller that snapshots a
/// sampler must snapshot `generator.copy()` with it (or record ``SchedulerStepOutput/noise``
/// and replay it as `.tensor`).
public enum VarianceNoise {
    /// No noise: deterministic steps only; a step that needs noise throws.
    case none
    /// Use this tensor (diffusers' `variance_noise=`); must have the model output's shape.
    case tensor(Tensor)
    /// Draw from this generator.
    case generator(TorchGenerator)

    /// The noise for a step that needs it, of the given shape.
    func draw(_ shape: [Int], _ what: String) throws -> Tensor {
        switch self {
        case .none:
            throw SchedulerError.invalidArgument("\(what) needs noise: pass .generator(...) or .tensor(...)")
        case .tensor(let t):
            guard t.shape == shape else {
                throw SchedulerError.invalidArgument(
                    "\(what): noise shape \(formatShape(t.shape)) differs from \(formatShape(shape))")
            }
            return t
        case .generator(let g):
            return g.randn(shape)
        }
    }
}

/// The result of one scheduler step.
public struct SchedulerStepOutput {
    /// x at the next (less noisy) timestep; for ``DDIMScheduler/invertStep(_:timestep:sample:)``
    /// the next, noisier one.
    public var previous: Tensor
    /// x̂₀, the model's current estimate of the clean sample (after clipping, if configured).
    public var predictedOriginal: Tensor
    /// The Gaussian noise this step added (nil for a deterministic step), for replay and checks.
    public var noise: Tensor?
}

/// A diffusion sampler's update rule: pure maths on tensors, no model.
///
/// A conforming type is a **value** holding its configuration, its training schedule and the
/// inference timesteps chosen at construction. `step` does not mutate it: the result is a pure
/// function of (scheduler, inputs), plus the draws of a generator passed in ``VarianceNoise``.
/// Steps are addressed by **index** into ``timesteps`` (0 = noisiest), which is what a
/// step-at-a-time sampler tracks; `step(_:timestep:…)` looks the index up like diffusers.
///
/// All steps are built from recorded `Tensor` ops, so gradients flow through them to the model
/// output (null-text inversion differentiates through a DDIM step).
public protocol Scheduler: Sendable {
    /// The configuration this scheduler was built from.
    var config: SchedulerConfig { get }
    /// β and ᾱ over the training timesteps.
    var schedule: NoiseSchedule { get }
    /// Inference timesteps in sampling order (descending). The UNet receives these values.
    var timesteps: [Float] { get }
    /// The standard deviation of the initial latent noise (`init_noise_sigma`).
    var initNoiseSigma: Float { get }

    /// `scale_model_input`: what to feed the model at step `index` (identity except for Euler).
    func scaleModelInput(_ sample: Tensor, stepIndex index: Int) throws -> Tensor

    /// One denoising update from `timesteps[index]` to the next timestep.
    /// - Parameters:
    ///   - modelOutput: the (guided) model prediction, interpreted per `config.predictionType`.
    ///   - index: position in ``timesteps``.
    ///   - sample: x at `timesteps[index]`.
    ///   - noise: source for the stochastic part, if the configured step has one.
    func step(_ modelOutput: Tensor, stepIndex index: Int, sample: Tensor,
              noise: VarianceNoise) throws -> SchedulerStepOutput

    /// Forward-noises a clean sample to timestep `t` (`add_noise`; img2img, SDEdit, SDS).
    func addNoise(_ original: Tensor, noise: Tensor, timestep t: Float) throws -> Tensor
}

extension Scheduler {
    /// Number of inference steps.
    public var stepCount: Int { timesteps.count }

    /// The index diffusers uses for timestep `t`: the first match, or the second when `t`
    /// occurs twice (Euler's `index_for_timestep`).
    public func stepIndex(for t: Float) throws -> Int {
        let matches = timesteps.indices.filter { timesteps[$0] == t }
        guard let first = matches.first else {
            throw SchedulerError.invalidArgument("timestep \(t) is not in this scheduler's \(timesteps.count) timesteps")
        }
        return matches.count > 1 ? matches[1] : first
    }

    /// ``step(_:stepIndex:sample:noise:)`` addressed by timestep value, as diffusers' `step(…, t, …)`.
    public func step(_ modelOutput: Tensor, timestep t: Float, sample: Tensor,
                     noise: VarianceNoise = .none) throws -> SchedulerStepOutput {
        try step(modelOutput, stepIndex: stepIndex(for: t), sample: sample, noise: noise)
    }

    /// Throws unless `index` addresses one of ``timesteps``.
    func checkIndex(_ index: Int) throws {
        guard index >= 0, index < timesteps.count else {
            throw SchedulerError.invalidArgument("step index \(index) is outside 0..<\(timesteps.count)")
        }
    }
}

/// x̂₀ and ε̂ from a model output at a level with cumulative ᾱ (diffusers' DDIM formulas, in
/// their float32 operation order; divisions are true divisions as in torch).
func predictOriginalAndNoise(_ modelOutput: Tensor, sample: Tensor, alphaProd: Float,
                             prediction: PredictionType) throws -> (x0: Tensor, eps: Tensor) {
    try requireSameShape(modelOutput, sample, "step")
    let betaProd = 1 - alphaProd
    let sa = alphaProd.squareRoot(), sb = betaProd.squareRoot()
    switch prediction {
    case .epsilon:
        return (try (sample - modelOutput * sb) / Tensor(scalar: sa), modelOutput)
    case .sample:
        return (modelOutput, try (sample - modelOutput * sa) / Tensor(scalar: sb))
    case .vPrediction:
        return (try sample * sa - modelOutput * sb, try modelOutput * sa + sample * sb)
    }
}

/// Applies `clip_sample` to x̂₀ when the configuration asks for it.
func clipped(_ x0: Tensor, _ config: SchedulerConfig) -> Tensor {
    config.clipSample ? x0.clamped(min: -config.clipSampleRange, max: config.clipSampleRange) : x0
}
