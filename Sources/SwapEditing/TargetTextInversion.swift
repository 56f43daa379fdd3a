import SwapModels
import SwapSchedulers
import SwapTensor

// BARET's Target-Text Inversion Schedule (Qiao et al. 2024, §TTIS, equations 1–2 as
// reconstructed in shared/spec/baret-p2p-nulltext-masactrl.md §8.1): null-text inversion with
// the roles swapped. Step i optimises the conditional embedding C_i, initialised from e_tgt
// (then from C_{i−1}), with ∅ = encode("") fixed, so that one guided DDIM step from z̄ lands on
// the pivot z*_{N−1−i}; the gradient reaches C through the cross-attention K/V projections.
// Every choice the paper leaves open ([I] in the spec) is a setting.

/// When the early stop tests the loss relative to the Adam update.
public enum EarlyStopCheck: String, Sendable, CaseIterable {
    /// After the update, as null-text inversion (the stored embedding is one update past the
    /// measured loss) [I].
    case afterUpdate = "after"
    /// Before the update (the stored embedding is the one whose loss passed).
    case beforeUpdate = "before"
}

/// The hyperparameters of TTIS (paper: Adam, lr 1e-3, 5 iterations per step; the rest [I]).
public struct TargetTextInversionSettings: Sendable, Equatable {
    /// Inner iterations per step at most (5; 0 runs no optimisation: plain DDIM sampling from
    /// the inversion with e_tgt, the paper's I_init).
    public var iterationsPerStep: Int = 5
    /// Adam's learning rate at step 0 (1e-3).
    public var learningRate: Float = 1e-3
    /// Linear decay per step: step i uses lr·(1 − i·decay) (0: constant [I]; NTI uses 0.01).
    public var learningRateDecay: Float = 0
    /// Early stop when loss < epsilon + i·slope (NTI's progressive threshold, 1e-5 + i·2e-5 [I]).
    public var epsilon: Float = 1e-5
    public var thresholdSlope: Float = 2e-5
    public var earlyStop: EarlyStopCheck = .afterUpdate
    /// A fresh Adam every step (NTI's choice [I]); false keeps its moments across steps.
    public var resetOptimizer = true
    /// Start step i from C_{i−1} (true [I]) or from e_tgt again (with a fresh optimiser).
    public var warmStart = true
    /// Classifier-free guidance of the reconstruction (7.5).
    public var guidance: Float = 7.5

    public init(iterationsPerStep: Int = 5, learningRate: Float = 1e-3, guidance: Float = 7.5) {
        self.iterationsPerStep = iterationsPerStep
        self.learningRate = learningRate
        self.guidance = guidance
    }

    public func learningRate(step i: Int) -> Float { learningRate * (1 - Float(i) * learningRateDecay) }
    public func threshold(step i: Int) -> Float { epsilon + Float(i) * thresholdSlope }
}

/// What TTIS produces: the pivot (DDIM inversion with e_tgt), the tuned embedding C_i of every
/// sampling step, and the fixed embeddings it used. BARET's three branches start from it.
public struct TargetTextInversionResult {
    public var pivot: InversionResult
    /// C_i, one [1, 77, d] per sampling step.
    public var embeddings: [Tensor]
    /// e_tgt and ∅ = encode("").
    public var target: Tensor, unconditional: Tensor
    public var guidance: Float
    /// The target prompt.
    public var prompt: String { pivot.prompt }
}

/// TTIS as a steppable process (`ttis(model, image, target_prompt, ...)`).
public final class TargetTextInversion: ValueStateProcess {
    public struct State {
        /// z̄ at the next sampling step's timestep (z*_T before the first step).
        public var latent: Tensor
        public var index: Int
        /// The current conditional embedding (C after the last step; e_tgt at first).
        public var embedding: Tensor
        public var embeddings: [Tensor]
        /// The loss after each inner iteration, per step.
        public var losses: [[Float]]
        /// Adam carried across steps when ``TargetTextInversionSettings/resetOptimizer`` is false.
        public var optimizer: Adam?
    }

    public let setup: InversionSetup
    public let pivot: InversionResult
    /// Changing them between steps affects the following steps (`back` then `step` re-runs one).
    public var settings: TargetTextInversionSettings
    public let predictor: NoisePredictor
    public var state: State
    public let history = ProcessHistory()
    public var trace = ProcessTrace()
    public var kindName: String { "ttis" }

    /// - Parameters:
    ///   - setup: made with the target prompt (its conditional embedding is e_tgt).
    ///   - pivot: a complete DDIM inversion on `setup`'s grid (with e_tgt, guidance 1 [I]).
    public init(setup: InversionSetup, pivot: InversionResult, settings: TargetTextInversionSettings = TargetTextInversionSettings()) throws {
        guard settings.iterationsPerStep >= 0 else { throw EditingError("ttis: iters_per_step must be ≥ 0, got \(settings.iterationsPerStep)") }
        guard settings.guidance.isFinite, settings.epsilon.isFinite, settings.thresholdSlope.isFinite,
              settings.learningRate.isFinite, settings.learningRate > 0, settings.learningRateDecay.isFinite else {
            throw EditingError("ttis: guidance, thresholds and learning rate must be finite (lr > 0)")
        }
        guard pivot.latents.count == setup.scheduler.stepCount + 1 else {
            throw EditingError("ttis: the pivot trajectory has \(pivot.latents.count) latents for \(setup.scheduler.stepCount) steps")
        }
        self.setup = setup
        self.pivot = pivot
        self.settings = settings
        predictor = NoisePredictor(model: setup.pipeline.model)
        state = State(latent: pivot.startLatent, index: 0, embedding: setup.conditional, embeddings: [], losses: [], optimizer: nil)
    }

    public var index: Int { state.index }
    public var totalSteps: Int? { setup.scheduler.stepCount }
    public var isDone: Bool { state.index >= setup.scheduler.stepCount }
    public var timestep: Double? { nextTimestep.map(Double.init) }
    var nextTimestep: Int? { isDone ? nil : setup.scheduler.integerTimesteps[state.index] }
    /// Inner iterations of each step done.
    public var iterations: [Int] { state.losses.map(\.count) }

    public var progressSummary: String {
        var text = "ttis step \(index)/\(setup.scheduler.stepCount)" + (nextTimestep.map { "  t=\($0)" } ?? "  done")
        if let last = state.losses.last, let loss = last.last { text += "  loss=\(String(format: "%.3e", loss)) (\(last.count) it)" }
        return text
    }

    public func step(_ context: RunContext) throws {
        let i = state.index
        guard let t = nextTimestep else { throw EditingError("ttis: already finished") }
        let scheduler = setup.scheduler
        let z = state.latent
        let target = try pivot.pivot(afterSamplingStep: i)
        let w = settings.guidance
        predictor.beginStep(i)
        try context.checkCancelled()
        // The mirror image of NTI: the unconditional prediction is fixed, the conditional one carries gradient.
        let unconditional = try GradMode.withoutGradient {
            try predictor.predict([PredictionRow(latent: z, timestep: Float(t), embedding: setup.unconditional, role: .unconditional)])
        }
        // A carried optimiser holds C_{i−1} itself (its moments belong to that value).
        var adam = (settings.resetOptimizer ? nil : state.optimizer)
            ?? Adam([settings.warmStart ? state.embedding : setup.conditional], learningRate: settings.learningRate(step: i))
        adam.learningRate = settings.learningRate(step: i)
        var losses: [Float] = []
        for _ in 0..<settings.iterationsPerStep {
            try context.checkCancelled()
            let leaf = adam.parameters[0]
            let loss = try GradMode.withGradient { () throws -> Tensor in
                let cond = try predictor.predict([PredictionRow(latent: z, timestep: Float(t), embedding: leaf, role: .conditional)])
                let eps = try ClassifierFreeGuidance.combine(uncond: unconditional, cond: cond, scale: w)
                let previous = try scheduler.step(eps, timestep: t, sample: z).previous
                return try (previous - target).squared().mean()
            }
            let value = loss.item
            guard value.isFinite else {
                throw EditingError("ttis: the loss became \(value) at step \(i) (t=\(t)); try a lower learning rate")
            }
            losses.append(value)
            let passed = value < settings.threshold(step: i)
            if passed && settings.earlyStop == .beforeUpdate { break }
            adam.step(gradients: loss.gradient(with: [leaf]))
            if passed { break }
        }
        let tuned = adam.values[0].detached()
        try context.checkCancelled()
        let eps = try GradMode.withoutGradient {
            try predictor.guided([GuidedBranch(latent: z, timestep: Float(t), conditional: tuned,
                                               unconditional: setup.unconditional, guidance: w)])[0].guided
        }
        let next = try scheduler.step(eps, timestep: t, sample: z).previous
        let drift = try (tuned - setup.conditional).squared().sum().item.squareRoot()
        state.latent = next
        state.embedding = tuned
        state.embeddings.append(tuned)
        state.losses.append(losses)
        state.optimizer = settings.resetOptimizer ? nil : adam
        state.index = i + 1
        trace.record(step: i, [("t", Double(t)), ("loss", Double(losses.last ?? .nan)),
                               ("inner_iterations", Double(losses.count)),
                               ("threshold", Double(settings.threshold(step: i))),
                               ("lr", Double(settings.learningRate(step: i))),
                               ("embedding_drift", Double(drift)),
                               ("pivot_error", Double(try (next - target).squared().mean().item))])
    }

    /// The result with the embeddings tuned so far (complete once done).
    public var result: TargetTextInversionResult {
        TargetTextInversionResult(pivot: pivot, embeddings: state.embeddings, target: setup.conditional,
                                  unconditional: setup.unconditional, guidance: settings.guidance)
    }

    /// The per-step error ‖z̄_{i+1} − z*_{N−1−i}‖² (mean) of the steps done: the trace's pivot_error.
    public var pivotErrors: [Double] { trace.series("pivot_error") ?? [] }

    /// The reconstruction's mean squared error against z*₀ (once done).
    public func reconstructionError() throws -> Float {
        guard isDone else { throw EditingError("ttis: not finished (\(index)/\(setup.scheduler.stepCount) steps)") }
        return try (state.latent - pivot.encodedLatent).squared().mean().item
    }
}
