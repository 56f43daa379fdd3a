import SwapModels
import SwapSchedulers
import SwapTensor

// Matches NullInversion.null_optimization of google/prompt-to-prompt null_text_w_ptp.ipynb
// (Mokady et al. 2022, Algorithm 1): per step a fresh Adam on the unconditional embedding,
// lr 1e-2·(1 − i/100), at most N_inner iterations, early stop at loss < ε + i·2e-5 checked
// after the Adam step; then one guided DDIM step with the optimised embedding.

/// The hyperparameters of null-text inversion (spec §3 defaults).
public struct NullTextSettings: Sendable, Equatable {
    /// Inner iterations per step at most (N_inner = 10).
    public var inner: Int = 10
    /// ε of the early stop (1e-5).
    public var epsilon: Float = 1e-5
    /// Growth of the early-stop threshold per step (2e-5): threshold_i = ε + i·slope.
    public var thresholdSlope: Float = 2e-5
    /// Adam's learning rate at step 0 (1e-2); step i uses lr·(1 − i·decay).
    public var learningRate: Float = 1e-2
    /// The linear decay of the learning rate per step (1/100).
    public var learningRateDecay: Float = 0.01
    /// Classifier-free guidance of the reconstruction (7.5).
    public var guidance: Float = 7.5

    public init(inner: Int = 10, epsilon: Float = 1e-5, guidance: Float = 7.5) {
        self.inner = inner
        self.epsilon = epsilon
        self.guidance = guidance
    }

    public func learningRate(step i: Int) -> Float { learningRate * (1 - Float(i) * learningRateDecay) }
    public func threshold(step i: Int) -> Float { epsilon + Float(i) * thresholdSlope }
}

/// Null-text inversion as a steppable process (`null_text_invert(model, image, prompt, ...)`).
///
/// It starts from a DDIM inversion (the pivot trajectory z*₀ … z*_N) and walks the sampling
/// steps: step i optimises ∅_i so that one guided DDIM step from z̄ lands on z*_{N−1−i}, by
/// gradient descent through the UNet (autograd on the unconditional pass only; the conditional
/// prediction is computed once without gradient), then advances z̄ with the final ∅_i. Once
/// done, ``latent`` is the reconstruction of z*₀ that `sample(…, inversion: r)` reproduces.
public final class NullTextInversion: ValueStateProcess {
    public struct State {
        /// z̄ at the next sampling step's timestep (z*_T before the first step).
        public var latent: Tensor
        /// Sampling steps done.
        public var index: Int
        /// The current unconditional embedding (carried over between steps: a warm start).
        public var null: Tensor
        /// The optimised embedding of every step done.
        public var embeddings: [Tensor]
        /// The loss after each inner iteration, per step.
        public var losses: [[Float]]
    }

    public let setup: InversionSetup
    public let pivot: InversionResult
    /// The hyperparameters; changing them between steps affects the following steps (they are
    /// not part of snapshots, so `back` then `step` re-runs a step with the new values).
    public var settings: NullTextSettings
    public let predictor: NoisePredictor
    public var state: State
    public let history = ProcessHistory()
    public var trace = ProcessTrace()
    public var kindName: String { "null_text_inversion" }

    /// - Parameter pivot: a complete DDIM inversion on `setup`'s grid (``DDIMInversion/result``).
    public init(setup: InversionSetup, pivot: InversionResult, settings: NullTextSettings = NullTextSettings()) throws {
        guard settings.inner >= 1 else { throw EditingError("null_text_invert: inner must be ≥ 1, got \(settings.inner)") }
        guard settings.guidance.isFinite, settings.epsilon.isFinite, settings.learningRate > 0 else {
            throw EditingError("null_text_invert: guidance, epsilon and learning rate must be finite (lr > 0)")
        }
        guard pivot.latents.count == setup.scheduler.stepCount + 1 else {
            throw EditingError("null_text_invert: the pivot trajectory has \(pivot.latents.count) latents for \(setup.scheduler.stepCount) steps")
        }
        self.setup = setup
        self.pivot = pivot
        self.settings = settings
        predictor = NoisePredictor(model: setup.pipeline.model)
        state = State(latent: pivot.startLatent, index: 0, null: setup.unconditional, embeddings: [], losses: [])
    }

    public var index: Int { state.index }
    public var totalSteps: Int? { setup.scheduler.stepCount }
    public var isDone: Bool { state.index >= setup.scheduler.stepCount }
    /// The sampling timestep of the next step (nil when done).
    public var timestep: Double? { nextTimestep.map(Double.init) }
    var nextTimestep: Int? { isDone ? nil : setup.scheduler.integerTimesteps[state.index] }
    /// Inner iterations of each step done.
    public var iterations: [Int] { state.losses.map(\.count) }

    public var progressSummary: String {
        var text = "\(kindName) step \(index)/\(setup.scheduler.stepCount)" + (nextTimestep.map { "  t=\($0)" } ?? "  done")
        if let last = state.losses.last, let loss = last.last { text += "  loss=\(String(format: "%.3e", loss)) (\(last.count) it)" }
        return text
    }

    public func step(_ context: RunContext) throws {
        let i = state.index
        guard let t = nextTimestep else { throw EditingError("\(kindName): already finished") }
        let scheduler = setup.scheduler
        let z = state.latent
        let target = try pivot.pivot(afterSamplingStep: i)
        let w = settings.guidance
        predictor.beginStep(i)
        try context.checkCancelled()
        let conditional = try GradMode.withoutGradient {
            try predictor.predict([PredictionRow(latent: z, timestep: Float(t), embedding: setup.conditional, role: .conditional)])
        }
        var adam = Adam([state.null], learningRate: settings.learningRate(step: i))
        var losses: [Float] = []
        for _ in 0..<settings.inner {
            try context.checkCancelled()
            let leaf = adam.parameters[0]
            let loss = try GradMode.withGradient { () throws -> Tensor in
                let uncond = try predictor.predict([PredictionRow(latent: z, timestep: Float(t), embedding: leaf, role: .unconditional)])
                let eps = try ClassifierFreeGuidance.combine(uncond: uncond, cond: conditional, scale: w)
                let previous = try scheduler.step(eps, timestep: t, sample: z).previous
                return try (previous - target).squared().mean()
            }
            let gradient = loss.gradient(with: [leaf])
            adam.step(gradients: gradient)
            let value = loss.item
            guard value.isFinite else {
                throw EditingError("\(kindName): the loss became \(value) at step \(i) (t=\(t)); try a lower learning rate")
            }
            losses.append(value)
            if value < settings.threshold(step: i) { break }
        }
        let null = adam.values[0].detached()
        try context.checkCancelled()
        let eps = try GradMode.withoutGradient {
            try predictor.guided([GuidedBranch(latent: z, timestep: Float(t), conditional: setup.conditional,
                                               unconditional: null, guidance: w)])[0].guided
        }
        let next = try scheduler.step(eps, timestep: t, sample: z).previous
        let drift = try (null - setup.unconditional).squared().sum().item.squareRoot()
        state.latent = next
        state.null = null
        state.embeddings.append(null)
        state.losses.append(losses)
        state.index = i + 1
        trace.record(step: i, [("t", Double(t)), ("loss", Double(losses.last ?? .nan)),
                               ("inner_iterations", Double(losses.count)),
                               ("lr", Double(settings.learningRate(step: i))),
                               ("threshold", Double(settings.threshold(step: i))),
                               ("null_drift", Double(drift)),
                               ("pivot_error", Double(try (next - target).squared().mean().item))])
    }

    /// The inversion result with the embeddings optimised so far (complete once done).
    public var result: InversionResult {
        var r = pivot
        r.nullEmbeddings = state.embeddings
        return r
    }

    /// The reconstruction's mean squared error against z*₀ (once done).
    public func reconstructionError() throws -> Float {
        guard isDone else { throw EditingError("\(kindName): not finished (\(index)/\(setup.scheduler.stepCount) steps)") }
        return try (state.latent - pivot.encodedLatent).squared().mean().item
    }
}
