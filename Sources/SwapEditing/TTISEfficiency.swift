import Foundation
import SwapModels
import SwapTensor

// BARET's efficiency claim (Qiao et al. 2024, §Results: TTIS converges after about 100
// iterations where null-text inversion needs about 400): both inversions on the same image,
// the same grid, the same cap on inner iterations and the same early-stop threshold
// (null-text inversion's ε + i·2e-5), each with its own optimiser settings (NTI: lr 1e-2
// decaying by 1/100 per step; TTIS: lr 1e-3 constant by default, and any other learning rates
// asked for). Counted: inner iterations in total, steps that reached the threshold, wall time,
// and the reconstruction error.

/// What one inversion method cost on one image.
public struct InversionCost: Sendable {
    public var method: String
    /// Inner iterations over all steps.
    public var iterations: Int
    /// Steps whose last loss was under the threshold.
    public var convergedSteps: Int
    public var steps: Int
    /// Seconds of the optimisation (the shared DDIM inversion excluded; see ``InversionComparison/inversionSeconds``).
    public var seconds: Double
    /// MSE of the reconstruction against z*₀.
    public var reconstructionError: Float
}

/// Null-text inversion and TTIS on the same image under the same cap and threshold.
public struct InversionComparison: Sendable {
    public var nullText: InversionCost
    /// TTIS once per learning rate asked for, in that order.
    public var targetText: [InversionCost]
    /// Seconds of each DDIM inversion (caption for NTI, target text for TTIS).
    public var inversionSeconds: (nullText: Double, targetText: Double)

    /// Runs both. `inner` caps the iterations per step for both methods (NTI's default is 10;
    /// BARET's 5 would cap TTIS at half of NTI by construction, so the fair default is equal caps).
    /// `ttisLearningRates`: TTIS runs once per rate (the paper's 1e-3 by default).
    public static func run(model: StableDiffusion, image: Tensor, caption: String, target: String, steps: Int,
                           inner: Int = 10, ttisLearningRates: [Float] = [1e-3],
                           context: RunContext = .detached) throws -> InversionComparison {
        guard !ttisLearningRates.isEmpty, ttisLearningRates.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw EditingError("bench baret: TTIS learning rates must be positive and finite, got \(ttisLearningRates)")
        }
        func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
            let start = Date()
            let value = try body()
            return (value, Date().timeIntervalSince(start))
        }
        func invert(_ prompt: String) throws -> (InversionSetup, InversionResult, Double) {
            let setup = try GradMode.withoutGradient { try InversionSetup(model: model, image: image, prompt: prompt, steps: steps, op: "bench") }
            let ddim = try DDIMInversion(setup: setup)
            let (_, seconds) = try timed { try ddim.run(context) }
            return (setup, ddim.result, seconds)
        }
        let (ntiSetup, ntiPivot, ntiInvert) = try invert(caption)
        let nti = try NullTextInversion(setup: ntiSetup, pivot: ntiPivot, settings: NullTextSettings(inner: inner))
        let (_, ntiSeconds) = try timed { try nti.run(context) }
        func converged(_ losses: [[Float]], _ threshold: (Int) -> Float) -> Int {
            losses.enumerated().filter { i, l in (l.last ?? .infinity) < threshold(i) }.count
        }
        let (ttisSetup, ttisPivot, ttisInvert) = try invert(target)
        let targetText = try ttisLearningRates.map { rate -> InversionCost in
            var settings = TargetTextInversionSettings(iterationsPerStep: inner, learningRate: rate)
            settings.epsilon = nti.settings.epsilon
            settings.thresholdSlope = nti.settings.thresholdSlope
            let ttis = try TargetTextInversion(setup: ttisSetup, pivot: ttisPivot, settings: settings)
            let (_, seconds) = try timed { try ttis.run(context) }
            return InversionCost(method: "TTIS (lr \(rate))", iterations: ttis.iterations.reduce(0, +),
                                 convergedSteps: converged(ttis.state.losses, ttis.settings.threshold(step:)), steps: steps,
                                 seconds: seconds, reconstructionError: try ttis.reconstructionError())
        }
        return InversionComparison(
            nullText: InversionCost(method: "null-text (lr 0.01)", iterations: nti.iterations.reduce(0, +),
                                    convergedSteps: converged(nti.state.losses, nti.settings.threshold(step:)), steps: steps,
                                    seconds: ntiSeconds, reconstructionError: try nti.reconstructionError()),
            targetText: targetText, inversionSeconds: (ntiInvert, ttisInvert))
    }

    /// One report line per method.
    public var lines: [String] {
        ([nullText] + targetText).map { c in
            "\(c.method): \(c.iterations) inner iterations, \(c.convergedSteps)/\(c.steps) steps under the threshold, "
                + String(format: "%.2f s, reconstruction MSE %.4g", c.seconds, Double(c.reconstructionError))
        }
    }
}
