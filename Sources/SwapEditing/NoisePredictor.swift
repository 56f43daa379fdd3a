import SwapModels
import SwapSchedulers
import SwapTensor

// DESIGN.md "Noise predictor": every method asks this type for noise predictions and none calls
// the UNet itself, so batching across branches, classifier-free guidance, the hook chain,
// attention capture and UNet call counting (and later SSGU) live in one place.
// Guidance matches diffusers pipeline_stable_diffusion.py (`noise_pred_uncond + s·(cond − uncond)`,
// `rescale_noise_cfg`), with the UNet batch in diffusers' order [uncond rows; cond rows].

/// One group of batch rows of a UNet call: a model input (already scaled by the scheduler's
/// `scale_model_input`), its timestep, its text embedding and its role.
public struct PredictionRow {
    /// [b, C, h, w].
    public var latent: Tensor
    public var timestep: Float
    /// [b, L, d] (a batch of 1 is repeated over the latent's rows).
    public var embedding: Tensor
    /// The role of each of the b rows.
    public var role: RowRole

    public init(latent: Tensor, timestep: Float, embedding: Tensor, role: RowRole) {
        self.latent = latent
        self.timestep = timestep
        self.embedding = embedding
        self.role = role
    }
}

/// One branch of a guided prediction (source, target, reconstruction, ...): ε̂ = ε_u + s·(ε_c − ε_u).
public struct GuidedBranch {
    /// The model input [b, C, h, w] (after `scale_model_input`).
    public var latent: Tensor
    public var timestep: Float
    /// The conditional text embedding [1 or b, L, d].
    public var conditional: Tensor
    /// The unconditional (negative or null-text) embedding; guidance runs only when it is
    /// given and ``guidance`` > 1, as in diffusers.
    public var unconditional: Tensor?
    /// The guidance scale s.
    public var guidance: Float
    /// φ of `rescale_noise_cfg` (0 = off).
    public var rescale: Float
    /// The branch number the attention hooks see in ``RowRole/branch``.
    public var branch: Int

    public init(latent: Tensor, timestep: Float, conditional: Tensor, unconditional: Tensor?, guidance: Float,
                rescale: Float = 0, branch: Int = 0) {
        self.latent = latent
        self.timestep = timestep
        self.conditional = conditional
        self.unconditional = unconditional
        self.guidance = guidance
        self.rescale = rescale
        self.branch = branch
    }

    /// True when this branch runs an unconditional row and combines.
    public var guides: Bool { unconditional != nil && guidance > 1 }
}

/// The guided prediction of one branch, with the raw halves it was combined from.
public struct GuidedPrediction {
    /// ε̂ after guidance (and rescale); the conditional prediction when the branch does not guide.
    public var guided: Tensor
    public var conditional: Tensor
    public var unconditional: Tensor?
}

/// Receives the index of the step about to run (P2P windows, attention capture).
public protocol StepAwareHook: AttentionHook {
    func beginStep(_ index: Int)
}

/// Owns a model, the attention-hook chain and the UNet call counter; turns rows of (latent,
/// timestep, embedding, role) into noise predictions with one UNet call per request.
public final class NoisePredictor {
    /// The model whose UNet runs.
    public let model: StableDiffusion
    /// Attention controllers, in order (P2P, MasaCtrl, ...). ``capture`` runs after them, so
    /// it stores the maps the controllers produced (P2P's store keeps post-edit maps too).
    public var hooks: [any AttentionHook]
    /// Attention capture (nil: off, and with no hooks the fused kernel runs).
    public var capture: AttentionStore?
    /// UNet forward calls made so far (one per ``predict(_:)`` / ``guided(_:)``).
    public private(set) var unetCalls = 0
    /// Batch rows evaluated so far (the cost measure when comparing methods).
    public private(set) var rowsEvaluated = 0
    /// The step index last passed to ``beginStep(_:)``.
    public private(set) var stepIndex = 0

    public init(model: StableDiffusion, hooks: [any AttentionHook] = [], capture: AttentionStore? = nil) {
        self.model = model
        self.hooks = hooks
        self.capture = capture
    }

    /// The whole chain as the UNet sees it: controllers, then capture.
    public var hookChain: [any AttentionHook] { hooks + (capture.map { [$0] } ?? []) }

    /// Tells step-aware hooks (and the capture) which step the next calls belong to.
    public func beginStep(_ index: Int) {
        stepIndex = index
        for hook in hookChain { (hook as? StepAwareHook)?.beginStep(index) }
    }

    /// One UNet call over all rows, in order: returns [Σb, C, h, w] (row groups concatenated).
    public func predict(_ rows: [PredictionRow]) throws -> Tensor {
        guard !rows.isEmpty else { throw EditingError("noise predictor: no rows") }
        var latents: [Tensor] = [], embeddings: [Tensor] = [], timesteps: [Float] = [], roles: [RowRole] = []
        for (i, row) in rows.enumerated() {
            guard row.latent.rank == 4, row.embedding.rank == 3 else {
                throw EditingError("noise predictor: row \(i) has latent \(formatShape(row.latent.shape)) and embedding \(formatShape(row.embedding.shape)); expected [b, C, h, w] and [b, L, d]")
            }
            let b = row.latent.shape[0]
            var embedding = row.embedding
            if embedding.shape[0] == 1 && b > 1 {
                embedding = try embedding.broadcast(to: [b] + Array(embedding.shape.dropFirst()))
            }
            guard embedding.shape[0] == b else {
                throw EditingError("noise predictor: row \(i) has \(b) latents but \(embedding.shape[0]) embeddings")
            }
            latents.append(row.latent)
            embeddings.append(embedding)
            timesteps += Array(repeating: row.timestep, count: b)
            roles += Array(repeating: row.role, count: b)
        }
        let input = latents.count == 1 ? latents[0] : try Tensor.concat(latents, axis: 0)
        let context = embeddings.count == 1 ? embeddings[0] : try Tensor.concat(embeddings, axis: 0)
        let chain = hookChain
        let sameTime = timesteps.allSatisfy { $0 == timesteps[0] }
        defer {
            unetCalls += 1
            rowsEvaluated += input.shape[0]
        }
        return try model.unet(input, timesteps: sameTime ? [timesteps[0]] : timesteps, encoderHiddenStates: context,
                              hooks: chain, rowRoles: chain.isEmpty ? nil : roles)
    }

    /// Guided predictions for several branches from **one** UNet call, batched as
    /// [uncond of the guiding branches; cond of every branch] (diffusers' order for one branch).
    public func guided(_ branches: [GuidedBranch]) throws -> [GuidedPrediction] {
        guard !branches.isEmpty else { throw EditingError("noise predictor: no branches") }
        for b in branches where !b.guidance.isFinite || !b.rescale.isFinite || b.rescale < 0 {
            throw EditingError("noise predictor: guidance must be finite and rescale ≥ 0 (branch \(b.branch): \(b.guidance), \(b.rescale))")
        }
        var rows: [PredictionRow] = []
        for b in branches {
            if b.guides, let u = b.unconditional {
                rows.append(PredictionRow(latent: b.latent, timestep: b.timestep, embedding: u, role: RowRole(.unconditional, branch: b.branch)))
            }
        }
        for b in branches {
            rows.append(PredictionRow(latent: b.latent, timestep: b.timestep, embedding: b.conditional, role: RowRole(.conditional, branch: b.branch)))
        }
        let output = try predict(rows)
        let sizes = rows.map { $0.latent.shape[0] }
        let parts = sizes.count == 1 ? [output] : try output.split(axis: 0, sizes: sizes)
        let guiding = branches.filter(\.guides).count
        var uncondIndex = 0
        var results: [GuidedPrediction] = []
        for (k, b) in branches.enumerated() {
            let cond = parts[guiding + k]
            guard b.guides else {
                results.append(GuidedPrediction(guided: cond, conditional: cond, unconditional: nil))
                continue
            }
            let uncond = parts[uncondIndex]
            uncondIndex += 1
            var eps = try ClassifierFreeGuidance.combine(uncond: uncond, cond: cond, scale: b.guidance)
            if b.rescale > 0 { eps = try ClassifierFreeGuidance.rescale(eps, cond: cond, rescale: b.rescale) }
            results.append(GuidedPrediction(guided: eps, conditional: cond, unconditional: uncond))
        }
        return results
    }

    /// Counts reset (the counters belong to the predictor, not the process state).
    public func resetCounters() {
        unetCalls = 0
        rowsEvaluated = 0
    }
}

/// Thrown by a hook that has captured everything its caller needs, to stop the UNet forward
/// early (CDS stops after the last decoder self-attention). `predict` counts the call and
/// rethrows it; the caller catches it.
public struct UNetForwardStop: Error {
    public init() {}
}
