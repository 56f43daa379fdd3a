import SwapTensor

// The attention-hook seam: every UNet attention layer (self and cross) offers each call to the
// attached hooks, which may observe or change it. P2P, MasaCtrl, BARET, InstantSwap's SECR and
// attention capture are all written as hooks; the model knows none of them.

/// Where an attention layer sits in the UNet.
public enum AttentionPlace: String, Sendable, Hashable, CaseIterable {
    case down, mid, up
}

/// Self-attention (keys from the image tokens, `attn1`) or cross-attention (keys from the
/// text states, `attn2`).
public enum AttentionKind: String, Sendable, Hashable, CaseIterable {
    case selfAttention = "self"
    case crossAttention = "cross"
}

/// A fixed description of one attention layer, known when the model is built.
public struct AttentionLayerInfo: Sendable, Hashable, CustomStringConvertible {
    /// Stable name: `down.1.attn.0.self`, `mid.attn.0.cross`, `up.2.attn.1.cross`.
    /// `attn.j` is the j-th Transformer2DModel of the block (`attentions.j` in diffusers).
    /// When a Transformer2DModel holds more than one transformer block, `.tK` is inserted
    /// before the kind (`down.1.attn.0.t1.self`).
    public let path: String
    public let place: AttentionPlace
    public let kind: AttentionKind
    /// The down or up block index (0 for mid).
    public let block: Int
    /// The Transformer2DModel index inside the block.
    public let attention: Int
    /// The BasicTransformerBlock index inside the Transformer2DModel.
    public let transformerBlock: Int
    public let heads: Int
    public let headDim: Int
    /// Position in forward order among all attention layers of the model, counting self and
    /// cross (0, 1, 2, …; SD 1.5 has 32). MasaCtrl's layer index is `order / 2`.
    public let order: Int

    public init(path: String, place: AttentionPlace, kind: AttentionKind, block: Int, attention: Int,
                transformerBlock: Int, heads: Int, headDim: Int, order: Int) {
        self.path = path
        self.place = place
        self.kind = kind
        self.block = block
        self.attention = attention
        self.transformerBlock = transformerBlock
        self.heads = heads
        self.headDim = headDim
        self.order = order
    }

    public var description: String { path }
}

/// Which classifier-free-guidance half a batch row belongs to.
public enum GuidanceRole: String, Sendable, Hashable {
    case unconditional, conditional
}

/// The role of one batch row in a forward call, supplied by the caller: the guidance half and
/// the edit branch (e.g. 0 = source/reconstruction, 1 = target/edit, 2 = transition).
public struct RowRole: Sendable, Hashable, CustomStringConvertible {
    public var guidance: GuidanceRole
    public var branch: Int

    public init(_ guidance: GuidanceRole, branch: Int = 0) {
        self.guidance = guidance
        self.branch = branch
    }

    public static let unconditional = RowRole(.unconditional)
    public static let conditional = RowRole(.conditional)

    /// Rows [uncond × branches, cond × branches], the diffusers CFG order.
    public static func guidanceBatch(branches: Int) -> [RowRole] {
        (0..<branches).map { RowRole(.unconditional, branch: $0) } + (0..<branches).map { RowRole(.conditional, branch: $0) }
    }

    public var description: String { "\(guidance == .conditional ? "cond" : "uncond")/\(branch)" }
}

/// What a hook does with the attention probabilities at a call.
public enum ProbabilityAccess: Int, Sendable, Comparable {
    /// Never looks at them: the fused kernel runs without materialising them.
    case none = 0
    /// Reads them (capture, statistics): the fused kernel keeps them; the output is unchanged.
    case observe = 1
    /// May return replacements (P2P): scores, softmax and P·V run as separate differentiable
    /// ops so gradients flow through the replacement.
    case replace = 2

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// One call of one attention layer, as the hooks see it.
///
/// Layout conventions (B = batch rows, H = heads, Lq/Lk = query/key tokens, D = head width):
/// queries, keys and values are [B, H, L, D]; probabilities [B, H, Lq, Lk]; the output before
/// the heads are merged and `to_out` is applied is [B, H, Lq, D]. Head h owns features
/// [h·D, (h+1)·D) of the projections, as in diffusers. Query token index = y·width + x.
public struct AttentionCall {
    public let layer: AttentionLayerInfo
    /// Spatial size of the query tokens at this layer.
    public let height: Int, width: Int
    /// One role per batch row.
    public let rows: [RowRole]
    /// The timestep of each batch row.
    public let timesteps: [Float]
    /// The layer's input after its LayerNorm, [B, Lq, C] (what `to_q` sees).
    public let input: Tensor
    /// What `to_k`/`to_v` see, [B, Lk, Ckv]: `input` for self-attention, the text states for
    /// cross-attention.
    public let context: Tensor
    let toK: Linear, toV: Linear
    /// The layer's output projection (nil in calls built without it, e.g. by tests).
    var toOut: Linear? = nil

    /// Scale applied to Q·Kᵀ, head_dim^−0.5.
    public var scale: Float { 1 / Float(layer.headDim).squareRoot() }
    public var batch: Int { rows.count }

    /// The batch rows whose role satisfies `predicate`.
    public func rowIndices(where predicate: (RowRole) -> Bool) -> [Int] {
        rows.indices.filter { predicate(rows[$0]) }
    }

    /// [B, L, H·D] → [B, H, L, D] for this layer's head count.
    public func splitHeads(_ x: Tensor) throws -> Tensor {
        try AttentionLayer.splitHeads(x, heads: layer.heads)
    }

    /// Keys and values computed by this layer's own `to_k`/`to_v` from another context
    /// [B', Lk', Ckv] (SECR's concept prompt), each [B', H, Lk', D]. Differentiable with
    /// respect to the context and the weights.
    public func keysAndValues(for context: Tensor) throws -> (key: Tensor, value: Tensor) {
        (try splitHeads(toK(context)), try splitHeads(toV(context)))
    }

    /// A per-head output [B', H, Lq, D] with its heads merged and this layer's `to_out`
    /// applied, [B', Lq, C]: what the layer returns for it (CDS reads self-attention features
    /// this way). Differentiable.
    public func projectOutput(_ perHead: Tensor) throws -> Tensor {
        guard let toOut else { throw TensorError("attention", "\(layer.path): this call carries no output projection") }
        guard perHead.rank == 4, perHead.shape[1] == layer.heads, perHead.shape[3] == layer.headDim else {
            throw TensorError("attention", "\(layer.path): output \(formatShape(perHead.shape)) is not [B, \(layer.heads), L, \(layer.headDim)]")
        }
        let (b, l) = (perHead.shape[0], perHead.shape[2])
        return try toOut(perHead.permuted([0, 2, 1, 3]).reshaped([b, l, layer.heads * layer.headDim]))
    }

    /// softmax(Q·Kᵀ·scale)·V with this layer's scale on [B, H, L, D] tensors (differentiable).
    public func attend(query: Tensor, key: Tensor, value: Tensor) throws -> Tensor {
        try AttentionLayer.classicAttention(query: query, key: key, value: value, scale: scale).output
    }
}

/// A participant in attention layers' calls. All requirements have do-nothing defaults, so a
/// hook implements only the stages it needs.
///
/// Contract, for one call of one layer with hooks [h₀, h₁, …] attached:
/// 1. **Keys and values.** Q, K, V are projected and split into heads. Each hook in order may
///    return replacement K and V (`keysAndValues`); the next hook sees the replacement. The key
///    count may change (MasaCtrl-Union concatenates), but batch, heads and D may not.
///    Typical use: MasaCtrl and BARET's balanced attention copy the source branch's rows.
/// 2. **Probabilities.** If any hook answers `.replace` from `probabilityAccess`, scores,
///    softmax and P·V are computed by separate differentiable ops; if the strongest answer is
///    `.observe`, the fused kernel keeps P; with `.none` everywhere P never exists. Each
///    hook that asked for access then gets P in order through `probabilities`; a returned
///    tensor (same shape) replaces P for later hooks and for the output, which becomes P′·V.
///    Returning nil leaves P unchanged. Typical use: capture, P2P replace/refine/reweight.
/// 3. **Output.** Each hook in order may return a replacement for the per-head output
///    [B, H, Lq, D] (`output`), given the final Q, K, V. Typical use: SECR computes a
///    different output inside a box from its own keys and values (`call.keysAndValues(for:)`)
///    and `call.splitHeads(call.input)` outside it.
/// Then heads are merged and `to_out` applied. Everything a hook returns stays in the autograd
/// graph, so gradients flow through edits built from differentiable ops. With no hooks the
/// layer runs the fused kernel and builds no `AttentionCall` at all.
///
/// Hooks are classes so they can keep state (step counters, stores); the model calls them
/// synchronously, in forward order, on the caller's thread.
public protocol AttentionHook: AnyObject {
    func keysAndValues(_ call: AttentionCall, query: Tensor, key: Tensor, value: Tensor) throws -> (key: Tensor, value: Tensor)?
    func probabilityAccess(_ call: AttentionCall) -> ProbabilityAccess
    func probabilities(_ call: AttentionCall, _ probabilities: Tensor) throws -> Tensor?
    func output(_ call: AttentionCall, _ output: Tensor, query: Tensor, key: Tensor, value: Tensor) throws -> Tensor?
}

extension AttentionHook {
    public func keysAndValues(_ call: AttentionCall, query: Tensor, key: Tensor, value: Tensor) throws -> (key: Tensor, value: Tensor)? { nil }
    public func probabilityAccess(_ call: AttentionCall) -> ProbabilityAccess { .none }
    public func probabilities(_ call: AttentionCall, _ probabilities: Tensor) throws -> Tensor? { nil }
    public func output(_ call: AttentionCall, _ output: Tensor, query: Tensor, key: Tensor, value: Tensor) throws -> Tensor? { nil }
}

/// What a UNet forward call passes down to its attention layers.
struct AttentionEnvironment {
    var hooks: [any AttentionHook]
    var rows: [RowRole]
    var timesteps: [Float]
}

extension Tensor {
    /// A copy with the entries `indices` along `axis` replaced, in order, by the entries of
    /// `values` (whose `axis` extent is `indices.count`). Built from concat and index-select,
    /// so gradients reach both `self` (outside `indices`) and `values`. Hooks use it to edit
    /// some rows, heads or tokens.
    public func replacing(axis: Int, at indices: [Int], with values: Tensor) throws -> Tensor {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank, values.rank == rank, values.shape[a] == indices.count,
              (0..<rank).allSatisfy({ $0 == a || values.shape[$0] == shape[$0] }) else {
            throw TensorError("replacing", "cannot place \(formatShape(values.shape)) at \(indices.count) entries of axis \(axis) of \(formatShape(shape))")
        }
        let n = shape[a]
        var source = Array(0..<n)
        for (j, i) in indices.enumerated() {
            guard i >= 0, i < n else { throw TensorError("replacing", "index \(i) out of range 0..<\(n)") }
            source[i] = n + j
        }
        return try Tensor.concat([self, values], axis: a).indexSelect(axis: a, source)
    }
}
