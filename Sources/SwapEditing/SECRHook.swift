import SwapModels
import SwapTensor

// InstantSwap's Semantic-Enhanced Concept Representation (paper §3.2.3, Eqs. 12–13; code
// chenyangzhu1/InstantSwap utils/Attn_proce.py `MyAttnProcessor` with region arguments; spec
// §4.3): at every cross-attention layer, the queries inside the box attend to a short concept
// prompt (K = W_k·c, V = W_v·c); outside the box the layer's result is its own head-split
// normalised input (the official choice, which makes the full prompts inert).

/// What SECR puts outside the box.
public enum SECROutside: String, Sendable, Equatable, CaseIterable {
    /// The official code: the head-split layer input (LayerNorm2(h)) itself.
    case passthrough
    /// Not official (experiments): ordinary cross-attention to the full prompt.
    case prompt
}

/// The SECR output-stage hook. Rows of branch b use `concepts[b]`: a [2, 77, D] tensor with
/// the embeddings of "" (for the unconditional row) and of the concept prompt (for the
/// conditional row). Branches without a concept, or switched off, keep the standard output.
public final class SECRHook: AttentionHook {
    /// The box in image pixels and the image size it refers to.
    public let box: PixelBox
    public let imageHeight: Int, imageWidth: Int
    /// Per branch: [E(""), E(concept)] as [2, 77, D], or nil to leave that branch unchanged.
    public var concepts: [Int: Tensor]
    public var outside: SECROutside

    public init(box: PixelBox, imageHeight: Int, imageWidth: Int, concepts: [Int: Tensor], outside: SECROutside = .passthrough) throws {
        try box.check(imageHeight: imageHeight, width: imageWidth, "secr")
        for (branch, c) in concepts where c.rank != 3 || c.shape[0] != 2 {
            throw EditingError("secr: concept embeddings of branch \(branch) have shape \(formatShape(c.shape)), expected [2, 77, D]")
        }
        self.box = box
        self.imageHeight = imageHeight
        self.imageWidth = imageWidth
        self.concepts = concepts
        self.outside = outside
    }

    public func output(_ call: AttentionCall, _ output: Tensor, query: Tensor, key: Tensor, value: Tensor) throws -> Tensor? {
        guard call.layer.kind == .crossAttention else { return nil }
        let rows = call.rowIndices { concepts[$0.branch] != nil }
        guard !rows.isEmpty else { return nil }
        let tokens = box.attentionTokens(imageHeight: imageHeight, imageWidth: imageWidth,
                                         gridHeight: call.height, gridWidth: call.width)
        guard call.input.shape[2] == call.layer.heads * call.layer.headDim else {
            throw EditingError("secr: \(call.layer.path): input width \(call.input.shape[2]) differs from the attention width \(call.layer.heads * call.layer.headDim)")
        }
        // Per row: the outside part, then the box part from the concept keys and values.
        var perRow: [Tensor] = []
        for r in rows {
            var rowOut = try output.sliced(axis: 0, start: r, end: r + 1)
            if outside == .passthrough {
                rowOut = try call.splitHeads(call.input.sliced(axis: 0, start: r, end: r + 1))
            }
            if !tokens.isEmpty, let concept = concepts[call.rows[r].branch] {
                let half = call.rows[r].guidance == .conditional ? 1 : 0
                let (k, v) = try call.keysAndValues(for: concept.sliced(axis: 0, start: half, end: half + 1))
                let q = try query.sliced(axis: 0, start: r, end: r + 1).indexSelect(axis: 2, tokens)
                rowOut = try rowOut.replacing(axis: 2, at: tokens, with: call.attend(query: q, key: k, value: v))
            }
            perRow.append(rowOut)
        }
        return try output.replacing(axis: 0, at: rows, with: Tensor.concat(perRow, axis: 0))
    }
}
