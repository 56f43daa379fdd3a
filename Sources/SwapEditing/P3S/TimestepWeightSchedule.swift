import Foundation

// P3S-Diffusion's timestep-based weight scheduler (paper §III-B eq 10; spec §4.2):
//   ε_t = 1 − α·(t/T)^k + β,   α = 0.5, β = 0.2, k = 2 in the paper,
// a weight that is small early in denoising (t near T: 1 − α + β = 0.70) and grows towards the
// end (t = 0: 1 + β = 1.20). The paper multiplies its injected subject features by it; the
// weight is independent of what it scales, so it applies to any conditioning strength: a
// guidance scale, an attention-injection or blend strength, a loss weight.

/// ε_t = 1 − α·(t/T)^k + β.
public struct TimestepWeightSchedule: Sendable, Equatable {
    /// α, the multiplier of the decaying term.
    public var alpha: Double
    /// β, the bias.
    public var beta: Double
    /// k, the exponent.
    public var k: Double
    /// T, the number of training timesteps (1000 for Stable Diffusion).
    public var trainSteps: Int

    public init(alpha: Double = 0.5, beta: Double = 0.2, k: Double = 2, trainSteps: Int = 1000) throws {
        guard alpha.isFinite, beta.isFinite, k.isFinite, k >= 0 else {
            throw EditingError("p3s_schedule: alpha, beta and k must be finite, k ≥ 0 (got \(alpha), \(beta), \(k))")
        }
        guard trainSteps > 0 else { throw EditingError("p3s_schedule: T must be > 0, got \(trainSteps)") }
        self.alpha = alpha
        self.beta = beta
        self.k = k
        self.trainSteps = trainSteps
    }

    /// ε_t at timestep `t`.
    public func weight(at t: Double) -> Double {
        1 - alpha * pow(t / Double(trainSteps), k) + beta
    }

    /// One weight per timestep, in the order given.
    public func weights(_ timesteps: [Double]) -> [Double] { timesteps.map(weight(at:)) }

    /// The timesteps of an `steps`-step DDIM run with "leading" spacing and no offset
    /// (T/steps·i for i = steps−1 … 0), for schedules not tied to a sampler.
    public func leadingTimesteps(steps: Int) throws -> [Double] {
        guard steps >= 1, steps <= trainSteps else {
            throw EditingError("p3s_schedule: steps must be in 1...\(trainSteps), got \(steps)")
        }
        let ratio = trainSteps / steps
        return (0..<steps).reversed().map { Double($0 * ratio) }
    }
}
