import SwapTensor

/// Multi-head attention with Q from the tokens and K/V from a context, followed by `to_out.0`.
/// Matches diffusers `models/attention_processor.py` (`Attention` run by `AttnProcessor`) as used
/// by the UNet's transformer blocks (`attn1`, `attn2`; projections without bias) and the VAE
/// mid block (with bias, one head).
///
/// It is also the place the attention hooks act (see `AttentionHook` for the contract).
public struct AttentionLayer: Sendable {
    public var toQ: Linear, toK: Linear, toV: Linear, toOut: Linear
    public let heads: Int
    public let headDim: Int

    /// Loads `to_q`, `to_k`, `to_v` and `to_out.0` under `prefix`.
    public init(_ store: WeightStore, _ prefix: String, queryDim: Int, contextDim: Int, heads: Int,
                qkvBias: Bool) throws {
        guard heads > 0, queryDim % heads == 0 else {
            throw ModelLoadError("\(prefix): \(queryDim) channels do not split into \(heads) heads")
        }
        self.heads = heads
        headDim = queryDim / heads
        toQ = try Linear(store, prefix + ".to_q", inFeatures: queryDim, outFeatures: queryDim, bias: qkvBias)
        toK = try Linear(store, prefix + ".to_k", inFeatures: contextDim, outFeatures: queryDim, bias: qkvBias)
        toV = try Linear(store, prefix + ".to_v", inFeatures: contextDim, outFeatures: queryDim, bias: qkvBias)
        toOut = try Linear(store, prefix + ".to_out.0", inFeatures: queryDim, outFeatures: queryDim)
    }

    /// Builds a layer from given projections (tests, synthetic layers).
    public init(toQ: Linear, toK: Linear, toV: Linear, toOut: Linear, heads: Int) throws {
        let inner = toQ.weight.shape[0]
        guard heads > 0, inner % heads == 0 else {
            throw ModelLoadError("attention: \(inner) features do not split into \(heads) heads")
        }
        (self.toQ, self.toK, self.toV, self.toOut) = (toQ, toK, toV, toOut)
        self.heads = heads
        headDim = inner / heads
    }

    /// Attention of tokens `x` [B, Lq, C] over `context` [B, Lk, Ckv] (nil: self-attention),
    /// without hooks (the fused kernel).
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil) throws -> Tensor {
        try forward(x, context: context, hooks: [], makeCall: nil)
    }

    /// Attention with hooks outside a UNet (experiments, tests): the hooks see `layer` as the
    /// layer description, `height`×`width` as the query grid (Lq must equal their product), and
    /// `rows`/`timesteps` (one per batch row).
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, hooks: [any AttentionHook], layer info: AttentionLayerInfo,
                               height: Int, width: Int, rows: [RowRole], timesteps: [Float]) throws -> Tensor {
        guard x.rank == 3, x.shape[1] == height * width, rows.count == x.shape[0], timesteps.count == x.shape[0],
              info.heads == heads, info.headDim == headDim else {
            throw TensorError("attention", "tokens \(formatShape(x.shape)) do not match a \(height)x\(width) grid with \(rows.count) row roles, \(timesteps.count) timesteps and \(info.heads)x\(info.headDim) heads")
        }
        return try forward(x, context: context, hooks: hooks) { input, ctx in
            AttentionCall(layer: info, height: height, width: width, rows: rows, timesteps: timesteps,
                          input: input, context: ctx, toK: toK, toV: toV, toOut: toOut)
        }
    }

    /// The forward pass with hooks; `makeCall` builds the call record only when hooks exist.
    func forward(_ x: Tensor, context: Tensor?, hooks: [any AttentionHook],
                 makeCall: ((_ input: Tensor, _ context: Tensor) -> AttentionCall)?) throws -> Tensor {
        let ctx = context ?? x
        guard x.rank == 3, ctx.rank == 3, ctx.shape[0] == x.shape[0] else {
            throw TensorError("attention", "tokens \(formatShape(x.shape)) and context \(formatShape(ctx.shape)) must be [B, L, C] with the same B")
        }
        let (b, lq) = (x.shape[0], x.shape[1])
        let q = try Self.splitHeads(toQ(x), heads: heads)
        var k = try Self.splitHeads(toK(ctx), heads: heads)
        var v = try Self.splitHeads(toV(ctx), heads: heads)

        var out: Tensor
        if let makeCall, !hooks.isEmpty {
            let call = makeCall(x, ctx)
            for hook in hooks {
                if let (newK, newV) = try hook.keysAndValues(call, query: q, key: k, value: v) {
                    guard newK.rank == 4, newV.rank == 4, newK.shape[0] == b, newK.shape[1] == heads,
                          newK.shape[3] == headDim, newV.shape[0] == b, newV.shape[1] == heads,
                          newV.shape[2] == newK.shape[2] else {
                        throw TensorError("attention hook", "\(call.layer.path): replacement keys \(formatShape(newK.shape)) / values \(formatShape(newV.shape)) must be [\(b),\(heads),Lk,\(headDim)] with equal Lk")
                    }
                    (k, v) = (newK, newV)
                }
            }
            let access = hooks.map { $0.probabilityAccess(call) }
            let strongest = access.max() ?? ProbabilityAccess.none
            if strongest == .none {
                out = try Self.fusedAttention(query: q, key: k, value: v, keep: false).output
            } else {
                var (o, p) = strongest == .replace
                    ? try Self.classicAttention(query: q, key: k, value: v, scale: 1 / Float(headDim).squareRoot())
                    : try Self.fusedAttention(query: q, key: k, value: v, keep: true)
                var replaced = false
                for (hook, a) in zip(hooks, access) where a != .none {
                    guard let newP = try hook.probabilities(call, p) else { continue }
                    guard a == .replace else {
                        throw TensorError("attention hook", "\(call.layer.path): a hook returned probabilities but declared only .observe access")
                    }
                    guard newP.shape == p.shape else {
                        throw TensorError("attention hook", "\(call.layer.path): replacement probabilities \(formatShape(newP.shape)), expected \(formatShape(p.shape))")
                    }
                    p = newP
                    replaced = true
                }
                if replaced { o = try p.matmul(v) }
                out = o
            }
            for hook in hooks {
                if let newOut = try hook.output(call, out, query: q, key: k, value: v) {
                    guard newOut.shape == out.shape else {
                        throw TensorError("attention hook", "\(call.layer.path): replacement output \(formatShape(newOut.shape)), expected \(formatShape(out.shape))")
                    }
                    out = newOut
                }
            }
        } else {
            out = try Self.fusedAttention(query: q, key: k, value: v, keep: false).output
        }
        let merged = try out.permuted([0, 2, 1, 3]).reshaped([b, lq, heads * headDim])
        return try toOut(merged)
    }

    /// [B, L, H·D] → [B, H, L, D].
    static func splitHeads(_ x: Tensor, heads: Int) throws -> Tensor {
        guard x.rank == 3, x.shape[2] % heads == 0 else {
            throw TensorError("attention", "cannot split \(formatShape(x.shape)) into \(heads) heads")
        }
        return try x.reshaped([x.shape[0], x.shape[1], heads, x.shape[2] / heads]).permuted([0, 2, 1, 3])
    }

    /// The fused kernel on [B, H, L, D] tensors; probabilities [B, H, Lq, Lk] when `keep`.
    static func fusedAttention(query q: Tensor, key k: Tensor, value v: Tensor,
                               keep: Bool) throws -> (output: Tensor, probabilities: Tensor) {
        let (b, h, lq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let lk = k.shape[2]
        let (o, p) = try Tensor.attention(query: q.reshaped([b * h, lq, d]), key: k.reshaped([b * h, lk, d]),
                                          value: v.reshaped([b * h, lk, v.shape[3]]), keepProbabilities: keep)
        let output = try o.reshaped([b, h, lq, v.shape[3]])
        let probabilities = try p.map { try $0.reshaped([b, h, lq, lk]) } ?? Tensor(zeros: [0])
        return (output, probabilities)
    }

    /// softmax(Q·Kᵀ·scale)·V from separate differentiable ops, on [B, H, L, D] tensors.
    static func classicAttention(query q: Tensor, key k: Tensor, value v: Tensor,
                                 scale: Float) throws -> (output: Tensor, probabilities: Tensor) {
        let p = try (q.matmul(k.transposedLastTwo()) * scale).softmax()
        return (try p.matmul(v), p)
    }
}
