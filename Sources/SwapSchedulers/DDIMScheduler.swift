import SwapTensor

// Matches diffusers src/diffusers/schedulers/scheduling_ddim.py (step, add_noise) and scheduling_ddim_inverse.py (invert step).

/// DDIM (Song et al. 2020) with η, clip_sample, set_alpha_to_one, ε / v / x₀ prediction, and
/// DDIM inversion.
///
/// The previous timestep of a step at t is t − T // steps, **without** `steps_offset` (so the
/// SD grid 981, 961, …, 1 steps 1 → −19, which uses the "final" ᾱ: 1 if `set_alpha_to_one`,
/// ᾱ₀ otherwise). The step is a pure function of t, so ``step(_:timestep:sample:noise:)`` also
/// accepts timesteps that are not in the list, exactly like diffusers.
public struct DDIMScheduler: Scheduler {
    public let config: SchedulerConfig
    public let schedule: NoiseSchedule
    /// Inference timesteps, descending (e.g. SD, 50 steps: 981, 961, …, 1).
    public let timesteps: [Float]
    /// The integer form of ``timesteps``.
    public let integerTimesteps: [Int]
    /// η: 0 is deterministic DDIM, 1 the DDPM-like posterior variance. A stored parameter, so a
    /// snapshot of the scheduler carries it.
    public var eta: Float
    /// ᾱ used when the previous (or, for inversion, the source) timestep is below 0.
    public let finalAlphaCumprod: Float
    /// DDIM's init_noise_sigma is 1.
    public var initNoiseSigma: Float { 1 }

    /// - Parameters:
    ///   - config: typically ``SchedulerConfig/stableDiffusion(_:)`` or a loaded `scheduler_config.json`.
    ///   - steps: number of inference steps (1…T).
    ///   - eta: η of the DDIM paper (default 0).
    public init(config: SchedulerConfig, steps: Int, eta: Float = 0) throws {
        guard eta >= 0, eta.isFinite else { throw SchedulerError.invalidArgument("eta must be ≥ 0, got \(eta)") }
        self.config = config
        self.schedule = NoiseSchedule(config: config)
        self.integerTimesteps = try Timesteps.discrete(steps: steps, config: config)
        self.timesteps = integerTimesteps.map(Float.init)
        self.eta = eta
        self.finalAlphaCumprod = config.setAlphaToOne ? 1 : schedule.alphasCumprod[0]
    }

    /// T // steps: the distance between the step's timestep and its previous one.
    public var stepRatio: Int { config.numTrainTimesteps / stepCount }

    /// The timestep a step at `t` lands on (may be negative: then ᾱ = ``finalAlphaCumprod``).
    public func previousTimestep(_ t: Int) -> Int { t - stepRatio }

    /// ᾱ at `t`, or ``finalAlphaCumprod`` for t < 0.
    func alphaProd(_ t: Int) throws -> Float {
        t >= 0 ? try schedule.alphaCumprod(at: t) : finalAlphaCumprod
    }

    public func scaleModelInput(_ sample: Tensor, stepIndex index: Int) throws -> Tensor {
        try checkIndex(index)
        return sample
    }

    public func step(_ modelOutput: Tensor, stepIndex index: Int, sample: Tensor,
                     noise: VarianceNoise) throws -> SchedulerStepOutput {
        try checkIndex(index)
        return try step(modelOutput, timestep: integerTimesteps[index], sample: sample, noise: noise)
    }

    /// The DDIM update from timestep `t` to `t − T // steps`:
    /// x̂₀, ε̂ from the model output; σ = η·√((1−ᾱ_prev)/(1−ᾱ_t)·(1−ᾱ_t/ᾱ_prev));
    /// x_prev = √ᾱ_prev·x̂₀ + √(1−ᾱ_prev−σ²)·ε̂ (+ σ·z when η > 0).
    public func step(_ modelOutput: Tensor, timestep t: Int, sample: Tensor,
                     noise: VarianceNoise = .none) throws -> SchedulerStepOutput {
        let prevT = previousTimestep(t)
        let alphaT = try schedule.alphaCumprod(at: t)
        let alphaPrev = try alphaProd(prevT)
        let (x0Raw, eps) = try predictOriginalAndNoise(modelOutput, sample: sample, alphaProd: alphaT,
                                                       prediction: config.predictionType)
        let x0 = clipped(x0Raw, config)
        let variance = ((1 - alphaPrev) / (1 - alphaT)) * (1 - alphaT / alphaPrev)
        let std = eta * variance.squareRoot()
        let direction = eps * (1 - alphaPrev - std * std).squareRoot()
        var previous = try x0 * alphaPrev.squareRoot() + direction
        var drawn: Tensor? = nil
        if eta > 0 {
            let z = try noise.draw(modelOutput.shape, "DDIM step with eta \(eta)")
            previous = try previous + z * std
            drawn = z
        }
        return SchedulerStepOutput(previous: previous, predictedOriginal: x0, noise: drawn)
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep t: Float) throws -> Tensor {
        try schedule.addNoise(original, noise: noise, timestep: integerTimestep(t))
    }

    // MARK: Inversion

    /// Inversion timesteps in the order inversion visits them (ascending): the sampling list
    /// reversed, as `DDIMInverseScheduler.set_timesteps` gives for leading and trailing spacing.
    public var inversionTimesteps: [Int] { integerTimesteps.reversed() }

    /// One DDIM-inversion step **to** timestep `t` (`DDIMInverseScheduler.step`, and the
    /// null-text-inversion notebook's `next_step`): the sample sits at the source level
    /// s = min(t − T // steps, T − 1) (ᾱ_s = ``finalAlphaCumprod`` when s < 0), the model output
    /// was evaluated at `t` on that sample, and
    /// x_t = √ᾱ_t·x̂₀ + √(1−ᾱ_t)·ε̂ with x̂₀, ε̂ computed with ᾱ_s. No η.
    ///
    /// Iterating t over ``inversionTimesteps`` maps z₀ to z_T; sampling back with the same model
    /// outputs reverses each step exactly in exact arithmetic (DDIM's step from t lands on s).
    public func invertStep(_ modelOutput: Tensor, timestep t: Int, sample: Tensor) throws -> SchedulerStepOutput {
        let source = min(t - stepRatio, config.numTrainTimesteps - 1)
        let alphaSource = try alphaProd(source)
        let alphaT = try schedule.alphaCumprod(at: t)
        let (x0Raw, eps) = try predictOriginalAndNoise(modelOutput, sample: sample, alphaProd: alphaSource,
                                                       prediction: config.predictionType)
        let x0 = clipped(x0Raw, config)
        let next = try x0 * alphaT.squareRoot() + eps * (1 - alphaT).squareRoot()
        return SchedulerStepOutput(previous: next, predictedOriginal: x0, noise: nil)
    }

    /// ``invertStep(_:timestep:sample:)`` at position `index` of ``inversionTimesteps``.
    public func invertStep(_ modelOutput: Tensor, inversionIndex index: Int, sample: Tensor) throws -> SchedulerStepOutput {
        guard config.timestepSpacing != .linspace else {
            throw SchedulerError.invalidArgument(
                "DDIM inversion supports leading or trailing timestep_spacing, not linspace (as diffusers' DDIMInverseScheduler)")
        }
        try checkIndex(index)
        return try invertStep(modelOutput, timestep: inversionTimesteps[index], sample: sample)
    }
}

/// An integral timestep from its float form, or an error naming the non-integral value.
func integerTimestep(_ t: Float) throws -> Int {
    guard t.isFinite, t == t.rounded(), abs(t) < 1e9 else {
        throw SchedulerError.invalidArgument("timestep \(t) is not an integer")
    }
    return Int(t)
}
