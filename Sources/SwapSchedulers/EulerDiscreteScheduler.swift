import SwapTensor

// Matches diffusers src/diffusers/schedulers/scheduling_euler_discrete.py (set_timesteps, scale_model_input, step, add_noise).

/// The Euler sampler of Karras et al. (k-diffusion's `sample_euler`) on σ = √((1−ᾱ)/ᾱ).
///
/// σ for each (possibly fractional) timestep is the linear interpolation of the training σ
/// table (numpy `interp` in double, rounded to float32), followed by a final σ (0 by default).
/// The model input is x/√(σ²+1) and the **model still receives t, not σ**.
/// The step (s_churn = 0 unless set): x̂₀ from the output, d = (x − x̂₀)/σ̂,
/// x_next = x + d·(σ_next − σ̂). With s_churn > 0, noise is first added to raise σ to
/// σ̂ = σ·(1+γ), γ = min(s_churn/steps, √2−1) for s_tmin ≤ σ ≤ s_tmax.
public struct EulerDiscreteScheduler: Scheduler {
    public let config: SchedulerConfig
    public let schedule: NoiseSchedule
    /// Inference timesteps, descending (float32; fractional for linspace spacing).
    public let timesteps: [Float]
    /// σ for each timestep, plus the final σ: `timesteps.count + 1` values.
    public let sigmas: [Float]
    /// Stochasticity (`s_churn`); 0 (default) is the deterministic Euler method.
    public var sChurn: Float = 0
    /// Churn applies only for σ ≥ `sTmin`.
    public var sTmin: Float = 0
    /// Churn applies only for σ ≤ `sTmax`.
    public var sTmax: Float = .infinity
    /// Scale of the churn noise (`s_noise`).
    public var sNoise: Float = 1

    /// - Parameters:
    ///   - config: the scheduler configuration (Euler's class default spacing is linspace; SD's
    ///     config makes it leading with offset 1).
    ///   - steps: number of inference steps (1…T).
    public init(config: SchedulerConfig, steps: Int) throws {
        self.config = config
        var schedule = NoiseSchedule(config: config)
        if config.rescaleBetasZeroSNR, !schedule.alphasCumprod.isEmpty {
            // diffusers sets ᾱ_{T−1} = 2⁻²⁴ so that σ_max stays finite.
            var abar = schedule.alphasCumprod
            abar[abar.count - 1] = 0x1p-24
            schedule = NoiseSchedule(betas: schedule.betas, alphasCumprod: abar)
        }
        self.schedule = schedule
        let times = try Timesteps.euler(steps: steps, config: config)
        self.timesteps = times
        let table = Self.sigmaTable(schedule.alphasCumprod)
        let finalSigma: Float = config.finalSigmasType == .zero ? 0 : table[0]
        self.sigmas = times.map { Self.interpolate(Double($0), table) } + [finalSigma]
    }

    /// σ_t = √((1−ᾱ_t)/ᾱ_t) for every training timestep (float32, diffusers' order).
    public static func sigmaTable(_ alphasCumprod: [Float]) -> [Float] {
        alphasCumprod.map { ((1 - $0) / $0).squareRoot() }
    }

    /// `numpy.interp(t, arange(n), table)` in double, rounded to float32.
    static func interpolate(_ t: Double, _ table: [Float]) -> Float {
        guard let lastValue = table.last else { return 0 }
        if t <= 0 { return table[0] }
        let last = table.count - 1
        if t >= Double(last) { return lastValue }
        let j = Int(t.rounded(.down))
        if Double(j) == t { return table[j] }
        let lo = Double(table[j]), hi = Double(table[j + 1])
        let slope = (hi - lo) / 1.0
        return Float(slope * (t - Double(j)) + lo)
    }

    /// `init_noise_sigma`: max σ for linspace/trailing spacing, √(max σ² + 1) for leading.
    public var initNoiseSigma: Float {
        let maxSigma = sigmas.max() ?? 0
        return config.timestepSpacing == .leading ? (maxSigma * maxSigma + 1).squareRoot() : maxSigma
    }

    /// x/√(σ²+1) at step `index`.
    public func scaleModelInput(_ sample: Tensor, stepIndex index: Int) throws -> Tensor {
        try checkIndex(index)
        let sigma = sigmas[index]
        return try sample / Tensor(scalar: (sigma * sigma + 1).squareRoot())
    }

    public func step(_ modelOutput: Tensor, stepIndex index: Int, sample: Tensor,
                     noise: VarianceNoise) throws -> SchedulerStepOutput {
        try checkIndex(index)
        try requireSameShape(modelOutput, sample, "Euler step")
        let sigma = sigmas[index]
        let gamma: Double = (sTmin <= sigma && sigma <= sTmax)
            ? min(Double(sChurn) / Double(sigmas.count - 1), 2.0.squareRoot() - 1) : 0
        let sigmaHat = sigma * Float(gamma + 1)
        var x = sample
        var drawn: Tensor? = nil
        if gamma > 0 {
            let z = try noise.draw(modelOutput.shape, "Euler step with s_churn \(sChurn)")
            x = try x + (z * sNoise) * (sigmaHat * sigmaHat - sigma * sigma).squareRoot()
            drawn = z
        }
        let x0: Tensor
        switch config.predictionType {
        case .sample:
            x0 = modelOutput
        case .epsilon:
            x0 = try x - modelOutput * sigmaHat
        case .vPrediction:
            let s2 = sigma * sigma + 1
            x0 = try modelOutput * (-sigma / s2.squareRoot()) + x / Tensor(scalar: s2)
        }
        let derivative = try (x - x0) / Tensor(scalar: sigmaHat)
        let dt = sigmas[index + 1] - sigmaHat
        let next = try x + derivative * dt
        return SchedulerStepOutput(previous: next, predictedOriginal: x0, noise: drawn)
    }

    /// x₀ + σ_t·ε, with σ of the step whose timestep is `t` (it must be in ``timesteps``).
    public func addNoise(_ original: Tensor, noise: Tensor, timestep t: Float) throws -> Tensor {
        try requireSameShape(original, noise, "addNoise")
        let sigma = sigmas[try stepIndex(for: t)]
        return try original + noise * sigma
    }
}
