import SwapModels
import SwapTensor

// Contrastive Denoising Score's patch-contrastive term (Nam et al. CVPR 2024; code
// HyelinNAM/ContrastiveDenoisingScore utils/loss.py `CutLoss` and pipeline_cds.py; spec §3):
// reference features R_l = the source branch's conditional output of every decoder
// self-attention (after to_out, before the residual), current features Q_l = the same layers of
// the target's conditional row computed with gradients; per layer and patch size p: p×p
// average pooling, L2 normalisation over channels, the same random min(256, M) locations for
// both, PatchNCE with τ = 0.07 and the diagonal of the negatives set to −10.

/// Captures the decoder self-attention outputs (after `to_out`) of the rows with one role.
/// With `stopAfter` (a layer path), it throws `UNetForwardStop` once that layer is captured:
/// nothing after the last decoder self-attention feeds L_CUT (spec §3's saving).
final class DecoderFeatureCapture: AttentionHook {
    var role: RowRole
    let stopAfter: String?
    /// Per captured layer in forward order: (grid height, width, features [b, L, C]).
    var features: [(height: Int, width: Int, value: Tensor)] = []

    init(role: RowRole, stopAfter: String? = nil) {
        self.role = role
        self.stopAfter = stopAfter
    }

    /// The path of the UNet's last decoder self-attention layer.
    static func lastDecoderSelfAttention(_ unet: UNet2DConditionModel) -> String? {
        unet.attentionLayers.last { $0.place == .up && $0.kind == .selfAttention }?.path
    }

    func output(_ call: AttentionCall, _ output: Tensor, query: Tensor, key: Tensor, value: Tensor) throws -> Tensor? {
        guard call.layer.place == .up, call.layer.kind == .selfAttention else { return nil }
        let rows = call.rowIndices { $0 == role }
        guard !rows.isEmpty else { return nil }
        features.append((call.height, call.width, try call.projectOutput(output.indexSelect(axis: 0, rows))))
        if call.layer.path == stopAfter { throw UNetForwardStop() }
        return nil
    }
}

/// The contrastive term of CDS and its gradient with respect to the latent.
final class ContrastiveDenoisingScore {
    let settings: DistillationSettings
    /// The last iteration's loss per layer (sum over patch sizes), for inspection.
    private(set) var lastLayerLosses: [Double] = []

    init(settings: DistillationSettings) throws {
        guard settings.patchSizes.allSatisfy({ $0 >= 1 }), settings.patchCount >= 1, settings.temperature > 0 else {
            throw EditingError("cds: patch sizes and patch count must be ≥ 1 and the temperature > 0")
        }
        self.settings = settings
    }

    /// PatchNCE over the sampled locations: reference r [n, C] (no gradient) and current q
    /// [n, C], both L2-normalised; mean over i of −log softmax([r_i·q_i, r_i·q_j≠i (−10 on the
    /// diagonal)] / τ)[0].
    static func patchNCE(reference r: Tensor, current q: Tensor, temperature: Float) throws -> Tensor {
        let n = r.shape[0]
        let positive = try (r * q).sum(axes: [1], keepDims: true)                  // [n, 1]
        let negatives = try r.matmul(q.transposedLastTwo())                         // [n, n]
        let eye = Tensor(shape: [n, n], scalars: (0..<(n * n)).map { $0 / n == $0 % n ? 1 : 0 })
        let masked = try negatives * (1 - eye) + eye * -10
        let logits = try Tensor.concat([positive, masked], axis: 1) / temperature   // [n, n+1]
        let peak = try logits.detached().max(axes: [1], keepDims: true)
        let logSumExp = try (logits - peak).exp().sum(axes: [1], keepDims: true).log() + peak
        return try (logSumExp - positive / temperature).mean()
    }

    /// Features [1, L, C] of a `height`×`width` grid → pooled p×p, normalised, [M, C].
    static func pooledNormalised(_ features: Tensor, height: Int, width: Int, patch p: Int) throws -> Tensor {
        let c = features.shape[2]
        var x = try features.reshaped([height, width, c])
        if p > 1 {
            let (h, w) = (height / p, width / p)
            guard h > 0, w > 0 else { throw EditingError("cds: patch size \(p) exceeds the \(height)x\(width) grid") }
            x = try x.sliced(axis: 0, start: 0, end: h * p).sliced(axis: 1, start: 0, end: w * p)
            x = try x.reshaped([h, p, w, p, c]).mean(axes: [1, 3])
        }
        let flat = try x.reshaped([x.count / c, c])
        let norm = try flat.squared().sum(axes: [1], keepDims: true).sqrt().clamped(min: 1e-12, max: .greatestFiniteMagnitude)
        return try flat / norm
    }

    /// A random permutation of 0..<m, cut to its first `count`, from Philox (seed, stream).
    static func patchIDs(_ m: Int, count: Int, seed: UInt64, stream: UInt64) -> [Int] {
        var generator = PhiloxGenerator(seed: seed, stream: stream)
        let keys = generator.uniform(m)
        return Array((0..<m).sorted { (keys[$0], $0) < (keys[$1], $1) }.prefix(Swift.min(count, m)))
    }

    /// L_CUT summed over layers and patch sizes for reference and current feature lists.
    func loss(reference: [(height: Int, width: Int, value: Tensor)], current: [(height: Int, width: Int, value: Tensor)],
              seed: UInt64, iteration: Int) throws -> Tensor {
        guard reference.count == current.count, !reference.isEmpty else {
            throw EditingError("cds: captured \(reference.count) reference and \(current.count) current decoder self-attention layers")
        }
        var total: Tensor?
        var perLayer: [Double] = []
        for (l, (r, q)) in zip(reference, current).enumerated() {
            var layerLoss: Tensor?
            for (k, p) in settings.patchSizes.enumerated() {
                let rp = try Self.pooledNormalised(r.value.detached(), height: r.height, width: r.width, patch: p)
                let qp = try Self.pooledNormalised(q.value, height: q.height, width: q.width, patch: p)
                let stream = (UInt64(iteration) << 20) | (UInt64(l) << 8) | UInt64(k) | (1 << 44)
                let ids = Self.patchIDs(rp.shape[0], count: settings.patchCount, seed: seed, stream: stream)
                let term = try Self.patchNCE(reference: rp.indexSelect(axis: 0, ids), current: qp.indexSelect(axis: 0, ids),
                                             temperature: settings.temperature)
                layerLoss = try layerLoss.map { try $0 + term } ?? term
            }
            if let layerLoss {
                perLayer.append(Double(layerLoss.item))
                total = try total.map { try $0 + layerLoss } ?? layerLoss
            }
        }
        lastLayerLosses = perLayer
        return total ?? Tensor(scalar: 0)
    }

    /// The combined gradient in DDS units: w_dds·g_dds + (h·w / lossScale)·w_cut·∇_ẑ L_CUT, so
    /// that the surrogate SGD step applies lr·2000/(h·w) to the DDS term and lr alone to the
    /// contrastive term, as pipeline_cds.py accumulates them.
    func gradient(dds: Tensor, process p: ScoreDistillation, iteration: Int, t: Int, eps: Tensor,
                  reference: [(height: Int, width: Int, value: Tensor)]) throws -> Tensor {
        let capture = DecoderFeatureCapture(role: RowRole(.conditional, branch: 1),
                                            stopAfter: settings.earlyExit ? DecoderFeatureCapture.lastDecoderSelfAttention(p.predictor.model.unet) : nil)
        let saved = p.predictor.hooks
        p.predictor.hooks = saved + [capture]
        defer { p.predictor.hooks = saved }
        let cutGradient: Tensor = try GradMode.withGradient {
            let leaf = p.state.latent.requiringGrad()
            let zt = try p.noised(leaf, eps, t)
            do {
                _ = try p.predictor.predict([PredictionRow(latent: zt, timestep: Float(t), embedding: p.prompts.target,
                                                           role: RowRole(.conditional, branch: 1))])
            } catch is UNetForwardStop {}
            let l = try loss(reference: reference, current: capture.features, seed: p.settings.seed, iteration: iteration)
            capture.features = []
            return l.gradient(with: [leaf])[0]
        }
        let (h, w) = (dds.shape[2], dds.shape[3])
        let scale = settings.cutWeight * Float(h * w) / settings.optimizer.lossScale
        return try dds * settings.ddsWeight + cutGradient * scale
    }
}
