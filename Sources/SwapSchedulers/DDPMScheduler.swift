import Foundation
import SwapTensor

// Matches diffusers src/diffusers/schedulers/scheduling_ddpm.py (step, _get_variance, add_noise).

/// DDPM ancestral sampling (Ho et al. 2020) over an inference timestep list.
///
/// The previous timestep is the next entry of ``timesteps`` (−1 after the last, where ᾱ_prev = 1).
/// With a_t = ᾱ_t/ᾱ_prev and β_t = 1 − a_t:
/// mean = (√ᾱ_prev·β_t/(1−ᾱ_t))·x̂₀ + (√a_t·(1−ᾱ_prev)/(1−ᾱ_t))·x_t, and for t > 0 the step adds
/// std·z with z drawn from the ``VarianceNoise`` (diffusers draws `randn(model_output.shape)`
/// from the generator *after* splitting off a learned variance, so z has the sample's shape).
public struct DDPMScheduler: Scheduler {
    public let config: SchedulerConfig
    public let schedule: NoiseSchedule
    /// Inference timesteps, descending.
    public let timesteps: [Float]
    /// The integer form of ``timesteps``.
    public let integerTimesteps: [Int]
    /// DDPM's init_noise_sigma is 1.
    public var initNoiseSigma: Float { 1 }

    /// - Parameters:
    ///   - config: the scheduler configuration (`variance_type` selects the posterior variance).
    ///   - steps: number of inference steps (1…T); T steps is the original ancestral sampler.
    public init(config: SchedulerConfig, steps: Int) throws {
        self.config = config
        self.schedule = NoiseSchedule(config: config)
        self.integerTimesteps = try Timesteps.discrete(steps: steps, config: config)
        self.timesteps = integerTimesteps.map(Float.init)
    }

    /// The timestep after `timesteps[index]`, or −1 after the last step.
    public func previousTimestep(stepIndex index: Int) -> Int {
        index + 1 < integerTimesteps.count ? integerTimesteps[index + 1] : -1
    }

    public func scaleModelInput(_ sample: Tensor, stepIndex index: Int) throws -> Tensor {
        try checkIndex(index)
        return sample
    }

    public func step(_ modelOutput: Tensor, stepIndex index: Int, sample: Tensor,
                     noise: VarianceNoise) throws -> SchedulerStepOutput {
        try checkIndex(index)
        let t = integerTimesteps[index]
        let prevT = previousTimestep(stepIndex: index)

        // learned / learned_range models emit [prediction | variance] along the channel axis.
        var prediction = modelOutput
        var predictedVariance: Tensor? = nil
        let learned = config.varianceType == .learned || config.varianceType == .learnedRange
        if learned, modelOutput.rank >= 2, sample.rank >= 2, modelOutput.shape[1] == 2 * sample.shape[1] {
            let parts = try modelOutput.split(axis: 1, sizes: [sample.shape[1], sample.shape[1]])
            prediction = parts[0]
            predictedVariance = parts[1]
        }

        let alphaT = try schedule.alphaCumprod(at: t)
        let alphaPrev: Float = prevT >= 0 ? try schedule.alphaCumprod(at: prevT) : 1
        let betaT = 1 - alphaT
        let betaPrev = 1 - alphaPrev
        let currentAlpha = alphaT / alphaPrev
        let currentBeta = 1 - currentAlpha

        let (x0Raw, _) = try predictOriginalAndNoise(prediction, sample: sample, alphaProd: alphaT,
                                                     prediction: config.predictionType)
        let x0 = clipped(x0Raw, config)
        let x0Coefficient = (alphaPrev.squareRoot() * currentBeta) / betaT
        let sampleCoefficient = currentAlpha.squareRoot() * betaPrev / betaT
        var previous = try x0 * x0Coefficient + sample * sampleCoefficient

        var drawn: Tensor? = nil
        if t > 0 {
            let z = try noise.draw(prediction.shape, "DDPM step at t = \(t)")
            let std = try standardDeviation(alphaT: alphaT, alphaPrev: alphaPrev, currentBeta: currentBeta,
                                            predictedVariance: predictedVariance)
            previous = try previous + std * z
            drawn = z
        }
        return SchedulerStepOutput(previous: previous, predictedOriginal: x0, noise: drawn)
    }

    /// The noise scale of `_get_variance` for the configured `variance_type`, as a tensor that
    /// broadcasts against the sample (a scalar for the fixed types).
    func standardDeviation(alphaT: Float, alphaPrev: Float, currentBeta: Float,
                           predictedVariance: Tensor?) throws -> Tensor {
        let variance = max((1 - alphaPrev) / (1 - alphaT) * currentBeta, Float(1e-20))
        switch config.varianceType {
        case .fixedSmall:
            return Tensor(scalar: variance.squareRoot())
        case .fixedSmallLog:
            return Tensor(scalar: Foundation.exp(0.5 * Foundation.log(variance)))
        case .fixedLarge:
            return Tensor(scalar: currentBeta.squareRoot())
        case .learned:
            return try requirePredicted(predictedVariance).sqrt()
        case .learnedRange:
            let v = try requirePredicted(predictedVariance)
            let minLog = Foundation.log(variance), maxLog = Foundation.log(currentBeta)
            let frac = (v + 1) * 0.5
            let logVariance = try frac * maxLog + (1 - frac) * minLog
            return (logVariance * 0.5).exp()
        }
    }

    private func requirePredicted(_ v: Tensor?) throws -> Tensor {
        guard let v else {
            throw SchedulerError.invalidArgument(
                "variance_type \(config.varianceType.rawValue) needs a model output with twice the sample's channels")
        }
        return v
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep t: Float) throws -> Tensor {
        try schedule.addNoise(original, noise: noise, timestep: integerTimestep(t))
    }
}
