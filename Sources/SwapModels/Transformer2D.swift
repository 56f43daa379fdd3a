import SwapTensor

/// GEGLU feed-forward `ff`. Matches diffusers `models/attention.py` `FeedForward` with
/// `activation_fn="geglu"` (`models/activations.py` `GEGLU`): `net.0.proj` C → 2·4C, split
/// into value (first half) and gate (second half), value · GELU(gate) (fused, `Tensor.geglu`),
/// then `net.2` 4C → C.
struct GEGLUFeedForward: Sendable {
    var proj: Linear, out: Linear
    let inner: Int

    init(_ store: WeightStore, _ prefix: String, dim: Int) throws {
        inner = 4 * dim
        proj = try Linear(store, prefix + ".net.0.proj", inFeatures: dim, outFeatures: 2 * inner)
        out = try Linear(store, prefix + ".net.2", inFeatures: inner, outFeatures: dim)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try out(proj(x).geglu())
    }
}

/// Pre-norm transformer block: self-attention, cross-attention, GEGLU. Matches diffusers
/// `models/attention.py` `BasicTransformerBlock` (layer norms, eps 1e-5).
struct BasicTransformerBlock: Sendable {
    var norm1: LayerNorm, attn1: AttentionLayer
    var norm2: LayerNorm, attn2: AttentionLayer
    var norm3: LayerNorm, ff: GEGLUFeedForward
    let selfInfo: AttentionLayerInfo, crossInfo: AttentionLayerInfo

    init(_ store: WeightStore, _ prefix: String, dim: Int, contextDim: Int, heads: Int,
         selfInfo: AttentionLayerInfo, crossInfo: AttentionLayerInfo) throws {
        norm1 = try LayerNorm(store, prefix + ".norm1", dimension: dim, eps: 1e-5)
        attn1 = try AttentionLayer(store, prefix + ".attn1", queryDim: dim, contextDim: dim, heads: heads, qkvBias: false)
        norm2 = try LayerNorm(store, prefix + ".norm2", dimension: dim, eps: 1e-5)
        attn2 = try AttentionLayer(store, prefix + ".attn2", queryDim: dim, contextDim: contextDim, heads: heads, qkvBias: false)
        norm3 = try LayerNorm(store, prefix + ".norm3", dimension: dim, eps: 1e-5)
        ff = try GEGLUFeedForward(store, prefix + ".ff", dim: dim)
        self.selfInfo = selfInfo
        self.crossInfo = crossInfo
    }

    func callAsFunction(_ x: Tensor, context: Tensor, height: Int, width: Int,
                        environment env: AttentionEnvironment?) throws -> Tensor {
        func caller(_ info: AttentionLayerInfo, _ layer: AttentionLayer) -> ((Tensor, Tensor) -> AttentionCall)? {
            guard let env, !env.hooks.isEmpty else { return nil }
            return { input, ctx in
                AttentionCall(layer: info, height: height, width: width, rows: env.rows, timesteps: env.timesteps,
                              input: input, context: ctx, toK: layer.toK, toV: layer.toV, toOut: layer.toOut)
            }
        }
        let hooks = env?.hooks ?? []
        var h = x
        h = try h + attn1.forward(norm1(h), context: nil, hooks: hooks, makeCall: caller(selfInfo, attn1))
        h = try h + attn2.forward(norm2(h), context: context, hooks: hooks, makeCall: caller(crossInfo, attn2))
        return try h + ff(norm3(h))
    }
}

/// Spatial transformer `attentions.j`. Matches diffusers `models/transformers/transformer_2d.py`
/// `Transformer2DModel` for continuous inputs: GroupNorm (eps 1e-6) → `proj_in` → transformer
/// blocks → `proj_out` → + input. `proj_in`/`proj_out` are 1x1 convs applied on [B, C, H, W]
/// (SD1) or Linears applied on the tokens (`use_linear_projection`, SD2).
struct Transformer2DModel: Sendable {
    var norm: GroupNorm
    var projInConv: Conv2d?, projOutConv: Conv2d?
    var projInLinear: Linear?, projOutLinear: Linear?
    var blocks: [BasicTransformerBlock]
    let channels: Int

    /// `infos(k)` gives the (self, cross) layer descriptions of transformer block k.
    init(_ store: WeightStore, _ prefix: String, channels: Int, heads: Int, contextDim: Int, depth: Int,
         groups: Int, linearProjection: Bool, infos: (Int) -> (AttentionLayerInfo, AttentionLayerInfo)) throws {
        self.channels = channels
        norm = try GroupNorm(store, prefix + ".norm", groups: groups, channels: channels, eps: 1e-6)
        if linearProjection {
            projInLinear = try Linear(store, prefix + ".proj_in", inFeatures: channels, outFeatures: channels)
            projOutLinear = try Linear(store, prefix + ".proj_out", inFeatures: channels, outFeatures: channels)
        } else {
            projInConv = try Conv2d(store, prefix + ".proj_in", inChannels: channels, outChannels: channels, kernel: 1)
            projOutConv = try Conv2d(store, prefix + ".proj_out", inChannels: channels, outChannels: channels, kernel: 1)
        }
        blocks = try (0..<depth).map { k in
            let (s, c) = infos(k)
            return try BasicTransformerBlock(store, prefix + ".transformer_blocks.\(k)", dim: channels,
                                             contextDim: contextDim, heads: heads, selfInfo: s, crossInfo: c)
        }
    }

    func callAsFunction(_ x: Tensor, context: Tensor, environment: AttentionEnvironment?) throws -> Tensor {
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var t = try norm(x)
        if let projInConv { t = try projInConv(t) }
        t = try t.reshaped([b, c, h * w]).permuted([0, 2, 1])
        if let projInLinear { t = try projInLinear(t) }
        for block in blocks {
            t = try block(t, context: context, height: h, width: w, environment: environment)
        }
        if let projOutLinear { t = try projOutLinear(t) }
        t = try t.permuted([0, 2, 1]).reshaped([b, c, h, w])
        if let projOutConv { t = try projOutConv(t) }
        return try t + x
    }
}
