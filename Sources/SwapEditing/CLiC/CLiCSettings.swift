import SwapTensor

// The switches and hyperparameters of CLiC (Safaee et al. 2024, "CLiC: Concept Learning in
// Context"), spec clic-p3s-metrics.md §1–§3. Where the paper and the official code
// (Mehdi0xC/clic: learning.py, transfer.py, segmentation/seg_diff.py, reproduce.sh) disagree,
// `CLiCVariant.code` is the default and `.paper` selects the paper's version of every choice.

/// Which reading of CLiC a setting follows.
public enum CLiCVariant: String, Sendable, CaseIterable {
    /// The official code (the default).
    case code
    /// The paper's equations.
    case paper
}

/// Which cross-attention projections are trained next to the token embedding.
public enum CLiCTrainedProjections: String, Sendable, CaseIterable {
    /// to_q, to_k, to_v and to_out.0 (weight and bias) of every cross-attention layer
    /// (code: `train_q_out: True` in configs/default.yaml).
    case all
    /// to_k and to_v only (Custom Diffusion's `crossattn-kv`, which the paper cites).
    case keyValue = "kv"
    /// None: the token alone (the paper's RoI-matching token).
    case none

    /// The projection names this choice trains.
    public var names: [String] {
        switch self {
        case .all: return ["to_q", "to_k", "to_v", "to_out.0"]
        case .keyValue: return ["to_k", "to_v"]
        case .none: return []
        }
    }
}

/// The settings of `clic_learn` (spec §1.2; defaults: reproduce.sh with the code's choices).
public struct CLiCLearningSettings: Sendable, Equatable {
    public var steps = 500
    /// AdamW (β 0.9/0.999, ε 1e-8) on the token row and the trained projections.
    public var learningRate: Float = 1e-5
    public var weightDecay: Float = 0.1
    /// Global gradient-norm clip (code: 1.0; ≤ 0 disables).
    public var clipNorm: Float = 1
    /// λ of l_att, l_con and l_RoI (code reproduce.sh 0.25/0.5/0.25; paper 0.5/1/0.5).
    public var attentionWeight: Float = 0.25
    public var contextWeight: Float = 0.5
    public var roiWeight: Float = 0.25
    /// Min-max normalisation of the averaged map before l_att (code: yes; paper: no).
    public var normalizeAttention = true
    /// Context-loss weights: code `where(M < 0.05, 0.25, M)` on the squared error, normalised by
    /// Σ M_ctx (×4 over the channels); paper `M_soft = α + (1 − α)·M`, α = 0.5, inside the norm:
    /// mean((M_soft ⊙ (ε̂ − ε))²).
    public var contextAlphaRule: CLiCVariant = .code
    /// RoI branch: code encodes the masked clean pixels (outside → 0, mid grey) and noises them
    /// with the same ε and t, loss weighted by the mask; paper feeds M ⊙ x_t, plain mean.
    public var roiMasking: CLiCVariant = .code
    public var trained: CLiCTrainedProjections = .all
    /// Detach the start token's keys and values in cross-attention (Custom Diffusion; code: yes).
    public var detachStartToken = true
    /// Horizontal flip (p 0.5) and brightness jitter (factor in [0.5, 1.5]) of the training image.
    public var augment = true
    /// Timesteps are drawn uniformly from this range (code: 0..<1000).
    public var timestepRange = 0..<1000
    public var seed: UInt64 = 0
    /// The main prompt; `{token}` and `{object}` are replaced (code: "a {object} with {token} style").
    public var prompt = "a {object} with {token} style"
    /// The RoI prompts, one drawn per step (code: 8 templates); the paper uses the first only.
    public var roiPrompts = ["a photo of {token}", "a pattern of {token}", "{token}", "{token} style",
                             "{token} style on a blank background", "a {token} texture", "an image of {token}",
                             "a close-up photo of {token}"]

    public init() {}

    /// The settings of one variant (code: the defaults above; paper: §3.1 and §4).
    public init(variant: CLiCVariant) {
        if variant == .paper {
            attentionWeight = 0.5
            contextWeight = 1
            roiWeight = 0.5
            normalizeAttention = false
            contextAlphaRule = .paper
            roiMasking = .paper
            trained = .keyValue
            weightDecay = 0
            clipNorm = 0
            augment = false
            timestepRange = 1..<1000
            roiPrompts = ["a photo of {token}"]
        }
    }
}

/// How the transfer's attention guidance moves the latent.
public enum CLiCGuidanceUpdate: String, Sendable, CaseIterable {
    /// One step of a fresh Adam per timestep: lr·g/(|g| + 1e-8), a signed step (code).
    case freshAdam = "adam"
    /// x ← x − η·∇ (paper eq. 7).
    case gradient
}

/// The settings of `clic_transfer` (spec §2; defaults: transfer.py with reproduce.sh).
public struct CLiCTransferSettings: Sendable, Equatable {
    public var steps = 50
    /// Steps i < tStart take the noised target as the latent (an SDEdit start); from then on
    /// the background is blended in (code 15 or 20; paper 5–15).
    public var tStart = 15
    /// Blending happens at steps i ≤ blendEnd (code 45 of 50).
    public var blendEnd = 45
    /// Attention guidance at steps i < guidanceSteps (code 30 of 50).
    public var guidanceSteps = 30
    /// Learning rate of the guidance update (code 0.001·att_opt with att_opt 10; paper η).
    public var guidanceRate: Float = 0.01
    public var update: CLiCGuidanceUpdate = .freshAdam
    /// Guidance target: all ones (code) or the mask (paper eq. 7).
    public var targetOnes = true
    /// Classifier-free guidance scale.
    public var guidance: Float = 7.5
    /// DDIM η (code 1.0, stochastic).
    public var eta: Float = 1
    public var seed: UInt64 = 0

    public init() {}

    public init(variant: CLiCVariant) {
        if variant == .paper {
            tStart = 10
            update = .gradient
            targetOnes = false
            guidanceRate = 1
            blendEnd = Int.max
        }
    }

    /// A run of `steps` steps whose windows (t_start, blending, guidance) keep their fraction
    /// of the current run length (the code's 15, 45 and 30 of 50).
    public mutating func rescaleWindows(toSteps steps: Int) {
        func scaled(_ i: Int) -> Int { i == Int.max ? i : Int((Double(i) * Double(steps) / Double(self.steps)).rounded()) }
        tStart = scaled(tStart)
        blendEnd = scaled(blendEnd)
        guidanceSteps = scaled(guidanceSteps)
        self.steps = steps
    }
}
