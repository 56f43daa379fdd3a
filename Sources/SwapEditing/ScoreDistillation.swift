import Foundation
import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// Score-distillation editing as one steppable process: SDS (DreamFusion; editing variant of
// google/prompt-to-prompt DDS_zeroshot.ipynb `get_sds_loss`), DDS (Hertz et al. 2023, same
// notebook `get_dds_loss`), CDS (Nam et al. 2024, HyelinNAM/ContrastiveDenoisingScore
// pipeline_cds.py) and InstantSwap's DDS core with BGM and SECR (chenyangzhu1/InstantSwap
// InstantSwap.py), all with SSGU (InstantSwap §3.2.4). Spec: instantswap-sds-dds-cds.md §1–§4.

/// Which score the process follows.
public enum DistillationMethod: String, Sendable, Equatable, CaseIterable {
    /// g = w(t)·(ε̂(z_t; y) − ε).
    case sds
    /// g = w(t)·(ε̂(ẑ_t; y) − ε̂(z̃_t; ỹ)) with shared t and ε.
    case dds
    /// DDS plus the patch-contrastive loss on the decoder's self-attention features.
    case cds
    /// DDS with BGM and SECR (the InstantSwap defaults: sorted timesteps, SSGU 5, seed 42).
    case instantswap
}

/// The settings of a score-distillation run; the defaults are the official code's for each
/// method (``init(method:)``).
public struct DistillationSettings: Sendable, Equatable {
    public var method: DistillationMethod
    /// Iterations (DDS/SDS/CDS 200, InstantSwap 550).
    public var iterations: Int
    /// Timesteps are drawn in `timestepLow..<timestepHigh` (DDS 50..<950, InstantSwap 100..<900).
    public var timestepLow: Int, timestepHigh: Int
    public var sampling: TimestepSampling
    /// CFG scale of every branch (7.5).
    public var guidanceScale: Float = 7.5
    /// SGD on the surrogate loss (lr 0.1, loss × 2000 / (h·w)).
    public var optimizer = SurrogateSGD()
    /// SSGU factor k (1 = off; InstantSwap 5).
    public var ssgu: Int
    /// Seed of the timestep draws and of the noise (InstantSwap.py: 42).
    public var seed: UInt64
    /// Share ε between the branches (the method; off only for teaching).
    public var shareNoise = true
    /// Share t between the branches (the method; off only for teaching).
    public var shareTimestep = true
    /// w(t) = α_t^alphaExponent · σ_t^sigmaExponent (official editing code: both 0, w = 1;
    /// DreamFusion's weighting is sigmaExponent 2).
    public var alphaExponent: Float = 0, sigmaExponent: Float = 0
    /// CDS: weights of the DDS and patch-contrastive terms, patch sizes, patches per layer,
    /// temperature (pipeline_cds.py / utils/loss.py: 1, 3, [1, 2], 256, 0.07).
    public var ddsWeight: Float = 1, cutWeight: Float = 3
    public var patchSizes: [Int] = [1, 2]
    public var patchCount = 256
    public var temperature: Float = 0.07
    /// CDS: stop the gradient pass's UNet forward after the last decoder self-attention (its
    /// output is not used); false runs the full forward (same loss and gradient, slower).
    public var earlyExit = true

    public init(method: DistillationMethod) {
        self.method = method
        switch method {
        case .instantswap:
            (iterations, timestepLow, timestepHigh, sampling, ssgu, seed) = (550, 100, 900, .sortedDescending, 5, 42)
        case .sds, .dds, .cds:
            (iterations, timestepLow, timestepHigh, sampling, ssgu, seed) = (200, 50, 950, .uniform, 1, 0)
        }
    }

    /// Whether the method has a source branch.
    public var hasSourceBranch: Bool { method != .sds }
}

/// The text embeddings a run uses, each [1, 77, D].
public struct DistillationPrompts {
    /// E("") for the unconditional rows.
    public var null: Tensor
    /// E(ỹ), the source prompt (unused by SDS).
    public var source: Tensor?
    /// E(y), the target prompt.
    public var target: Tensor

    public init(null: Tensor, source: Tensor?, target: Tensor) {
        self.null = null
        self.source = source
        self.target = target
    }
}

/// A score-distillation optimisation of a latent, one iteration per step.
///
/// Each step draws its iteration's t (from ``schedule``) and, at SSGU anchors, a fresh ε from a
/// counter-based stream (element values depend only on seed and iteration, so `back` and replays
/// reproduce them), asks the ``NoisePredictor`` for the guided predictions of every branch in
/// one UNet call ([src_u, tgt_u, src_c, tgt_c] for DDS), forms g, masks it (BGM), stores it for
/// the iterations up to the next anchor and updates `z ← z − η_eff·g`.
public final class ScoreDistillation: ValueStateProcess {
    /// Everything that changes from iteration to iteration.
    public struct State {
        public var latent: Tensor
        /// Iterations completed.
        public var index = 0
        /// The gradient of the last anchor, reused until the next one.
        public var storedGradient: Tensor?
        /// The last iteration's drawn timestep, gradient, its norm and whether it called the UNet.
        public var t: Int?
        public var gradient: Tensor?
        public var gradientNorm: Double = .nan
        public var anchor = false
        /// What the last anchor computed (nil before the first).
        public var lastAnchor: AnchorResult?
    }

    /// One anchor's evaluation, kept for inspection.
    public struct AnchorResult {
        /// g before masking.
        public var gradient: Tensor
        /// t and ε of the target branch and its noised latent ẑ_t.
        public var t: Int
        public var noise: Tensor
        public var noisyTarget: Tensor
        /// Guided ε̂ of the target and (DDS family) source branches.
        public var epsTarget: Tensor
        public var epsSource: Tensor?
    }

    public let settings: DistillationSettings
    public let predictor: NoisePredictor
    public let schedule: DistillationSchedule
    /// The source branch's own timesteps when ``DistillationSettings/shareTimestep`` is off.
    public let sourceSchedule: DistillationSchedule?
    public let prompts: DistillationPrompts
    /// The source latent z_src [1, C, h, w] (also the start of ẑ).
    public let source: Tensor
    /// The BGM mask [1, 1, h, w] (nil: no masking).
    public let mask: Tensor?
    /// The contrastive term of CDS (nil for the other methods).
    let contrastive: ContrastiveDenoisingScore?
    let alphas: [Float], sigmas: [Float]
    let predictionIsV: Bool

    public var state: State
    public let history = ProcessHistory()
    public var trace = ProcessTrace()

    /// - Parameters:
    ///   - predictor: the model and hooks (SECR goes into its hooks before the first step).
    ///   - source: z_src [1, C, h, w]; the optimised latent starts there.
    ///   - start: another starting latent (default: the source).
    ///   - mask: BGM mask [1, 1, h, w] of 0/1 (InstantSwap), or nil.
    public init(predictor: NoisePredictor, source: Tensor, prompts: DistillationPrompts, settings: DistillationSettings,
                mask: Tensor? = nil, start: Tensor? = nil) throws {
        let model = predictor.model
        guard source.rank == 4, source.shape[0] == 1, source.shape[1] == model.unet.config.inChannels else {
            throw EditingError("\(settings.method.rawValue): source latent has shape \(formatShape(source.shape)), expected [1, \(model.unet.config.inChannels), h, w]")
        }
        if let start, start.shape != source.shape {
            throw EditingError("\(settings.method.rawValue): start latent \(formatShape(start.shape)) differs from the source \(formatShape(source.shape))")
        }
        if let mask, mask.shape != [1, 1, source.shape[2], source.shape[3]] {
            throw EditingError("\(settings.method.rawValue): mask has shape \(formatShape(mask.shape)), expected [1, 1, \(source.shape[2]), \(source.shape[3])]")
        }
        let width = model.textEncoder.config.hiddenSize
        for (name, e) in [("null", prompts.null), ("source", prompts.source), ("target", prompts.target)] {
            if let e, e.rank != 3 || e.shape[0] != 1 || e.shape[2] != width {
                throw EditingError("\(settings.method.rawValue): \(name) embedding has shape \(formatShape(e.shape)), expected [1, 77, \(width)]")
            }
        }
        if settings.hasSourceBranch, prompts.source == nil {
            throw EditingError("\(settings.method.rawValue): needs a source prompt")
        }
        guard settings.guidanceScale.isFinite, settings.optimizer.learningRate.isFinite, settings.optimizer.lossScale.isFinite else {
            throw EditingError("\(settings.method.rawValue): guidance, learning rate and loss scale must be finite")
        }
        self.settings = settings
        self.predictor = predictor
        schedule = try DistillationSchedule(iterations: settings.iterations, low: settings.timestepLow, high: settings.timestepHigh,
                                            sampling: settings.sampling, ssgu: settings.ssgu, seed: settings.seed)
        sourceSchedule = settings.shareTimestep ? nil
            : try DistillationSchedule(iterations: settings.iterations, low: settings.timestepLow, high: settings.timestepHigh,
                                       sampling: settings.sampling, ssgu: settings.ssgu, seed: settings.seed ^ 0x5EED_5EED)
        self.prompts = prompts
        self.source = source
        self.mask = mask
        contrastive = settings.method == .cds ? try ContrastiveDenoisingScore(settings: settings) : nil
        let config = try StableDiffusionPipeline(model: model).schedulerConfig(.ddpm)
        let cumulative = NoiseSchedule(config: config).alphasCumprod
        alphas = cumulative.map { $0.squareRoot() }
        sigmas = cumulative.map { (1 - $0).squareRoot() }
        predictionIsV = config.predictionType == .vPrediction
        state = State(latent: start ?? source)
    }

    // MARK: Process

    public var kindName: String { settings.method.rawValue }
    public var index: Int { state.index }
    public var totalSteps: Int? { settings.iterations }
    public var isDone: Bool { state.index >= settings.iterations }
    /// The timestep the next iteration draws (nil when done).
    public var timestep: Double? { isDone ? nil : Double(schedule.timesteps[state.index]) }
    /// Only InstantSwap's sorted schedule descends.
    public var timestepsDescend: Bool { settings.sampling == .sortedDescending }

    public var progressSummary: String {
        var text = "\(kindName) step \(index)/\(settings.iterations)"
        if let t = state.t { text += "  t=\(t)" }
        if state.gradientNorm.isFinite { text += "  |g|=" + String(format: "%.4g", state.gradientNorm) }
        return text + "  unet calls \(predictor.unetCalls)"
    }

    public func step(_ context: RunContext) throws {
        let i = state.index
        let t = schedule.timesteps[i]
        let anchor = schedule.isAnchor(i) || state.storedGradient == nil
        var g: Tensor
        if anchor {
            try context.checkCancelled()
            predictor.beginStep(i)
            let result = try freshGradient(iteration: i, t: t, eps: noise(iteration: i, source: false))
            g = try masked(result.gradient)
            state.lastAnchor = result
        } else {
            g = state.storedGradient!
        }
        let before = state.latent
        let after = try settings.optimizer.update(before, gradient: g)
        let norm = Double(g.squared().sum().item).squareRoot()
        let change = Double((try after - before).squared().sum().item).squareRoot()
        state.latent = after
        state.storedGradient = g
        state.gradient = g
        state.gradientNorm = norm
        state.t = t
        state.anchor = anchor
        state.index = i + 1
        trace.record(step: i, [("t", Double(t)), ("grad_norm", norm), ("latent_change", change),
                               ("anchor", anchor ? 1 : 0), ("unet_calls", Double(predictor.unetCalls))])
    }

    // MARK: The gradient at an anchor

    /// ε for iteration `i`: Philox stream `i` of the run's seed (the source's own stream when
    /// noise sharing is off).
    func noise(iteration i: Int, source: Bool) -> Tensor {
        var generator = PhiloxGenerator(seed: settings.seed, stream: source ? UInt64(i) | (1 << 40) : UInt64(i))
        return generator.randn(self.source.shape)
    }

    /// `z_t = α_t·z + σ_t·ε` (spec §0).
    func noised(_ z: Tensor, _ eps: Tensor, _ t: Int) throws -> Tensor {
        try z * alphas[t] + eps * sigmas[t]
    }

    /// ε from the model output after guidance: v-prediction models convert with
    /// ε = α_t·v + σ_t·z_t (linear, so after CFG equals before).
    func epsilon(_ output: Tensor, noisy: Tensor, _ t: Int) throws -> Tensor {
        predictionIsV ? try output * alphas[t] + noisy * sigmas[t] : output
    }

    /// w(t) of the spec (1 by default).
    func weight(_ t: Int) -> Float {
        var w: Float = 1
        if settings.alphaExponent != 0 { w *= Foundation.pow(alphas[t], settings.alphaExponent) }
        if settings.sigmaExponent != 0 { w *= Foundation.pow(sigmas[t], settings.sigmaExponent) }
        return w
    }

    /// x̂₀ = (ẑ_t − σ_t·ε̂_tgt)/α_t of the last anchor: the target branch's predicted clean latent.
    public func predictedClean() throws -> Tensor? {
        guard let a = state.lastAnchor else { return nil }
        return try (a.noisyTarget - a.epsTarget * sigmas[a.t]) / alphas[a.t]
    }

    /// g with non-finite entries zeroed, times the BGM mask.
    func masked(_ g: Tensor) throws -> Tensor {
        let clean = Self.zeroingNonFinite(g)
        return try mask.map { try clean * $0 } ?? clean
    }

    /// SSGU's premise checked at the current iteration: the gradient a fresh evaluation would
    /// give here (this iteration's t and ε, masked) against the one in use. Costs one
    /// evaluation (counted in the predictor's UNet calls); the process state does not change.
    public func probe() throws -> (cosine: Double, relativeError: Double, t: Int) {
        guard !isDone else { throw EditingError("\(kindName): probe needs a next iteration (the run is done)") }
        guard let stored = state.storedGradient else { throw EditingError("\(kindName): probe needs a stored gradient (step once first)") }
        let i = state.index
        let fresh = try masked(freshGradient(iteration: i, t: schedule.timesteps[i], eps: noise(iteration: i, source: false)).gradient)
        let dot = Double(try (fresh * stored).sum().item)
        let (a, b) = (Double(fresh.squared().sum().item).squareRoot(), Double(stored.squared().sum().item).squareRoot())
        let difference = Double(try (fresh - stored).squared().sum().item).squareRoot()
        return (a > 0 && b > 0 ? dot / (a * b) : .nan, a > 0 ? difference / a : .nan, schedule.timesteps[i])
    }

    /// The score evaluation of iteration `i` at timestep `t` with noise `eps` from the current
    /// latent (g before masking).
    func freshGradient(iteration i: Int, t: Int, eps: Tensor) throws -> AnchorResult {
        let z = state.latent
        let zt = try noised(z, eps, t)
        let s = settings.guidanceScale
        switch settings.method {
        case .sds:
            let out = try predictor.guided([GuidedBranch(latent: zt, timestep: Float(t), conditional: prompts.target,
                                                         unconditional: prompts.null, guidance: s, branch: 1)])
            let epsTarget = try epsilon(out[0].guided, noisy: zt, t)
            return AnchorResult(gradient: try (epsTarget - eps) * weight(t), t: t, noise: eps, noisyTarget: zt, epsTarget: epsTarget, epsSource: nil)
        case .dds, .instantswap, .cds:
            let tSource = sourceSchedule?.timesteps[i] ?? t
            let noiseSource = settings.shareNoise ? eps : noise(iteration: i, source: true)
            let ztSource = try noised(source, noiseSource, tSource)
            // CDS reads the source branch's decoder self-attention features from this call.
            let reference = contrastive == nil ? nil : DecoderFeatureCapture(role: RowRole(.conditional, branch: 0))
            let saved = predictor.hooks
            if let reference { predictor.hooks = saved + [reference] }
            defer { predictor.hooks = saved }
            let out = try predictor.guided([
                GuidedBranch(latent: ztSource, timestep: Float(tSource), conditional: prompts.source!, unconditional: prompts.null,
                             guidance: s, branch: 0),
                GuidedBranch(latent: zt, timestep: Float(t), conditional: prompts.target, unconditional: prompts.null,
                             guidance: s, branch: 1),
            ])
            let (epsTarget, epsSource) = (try epsilon(out[1].guided, noisy: zt, t), try epsilon(out[0].guided, noisy: ztSource, tSource))
            var g = try (epsTarget - epsSource) * weight(t)
            if let contrastive, let reference {
                predictor.hooks = saved
                g = try contrastive.gradient(dds: g, process: self, iteration: i, t: t, eps: eps, reference: reference.features)
            }
            return AnchorResult(gradient: g, t: t, noise: eps, noisyTarget: zt, epsTarget: epsTarget, epsSource: epsSource)
        }
    }

    /// Non-finite entries of g replaced by 0 (spec §1 step 3), so a masked gradient is exactly
    /// zero outside the box.
    static func zeroingNonFinite(_ g: Tensor) -> Tensor {
        var out = g
        out.withUnsafeMutableBufferPointer { buf in
            for k in buf.indices where !buf[k].isFinite { buf[k] = 0 }
        }
        return out
    }
}
