import SwapModels
import SwapTensor

// MasaCtrl's attention variants, after TencentARC/MasaCtrl masactrl/masactrl.py
// (MutualSelfAttentionControlUnion, MutualSelfAttentionControlMask and
// MutualSelfAttentionControlMaskAuto; Cao et al. 2023 §3.3 "mask-guided mutual self-attention"):
// - union: a target row attends to the source's and its own keys and values together;
// - mask: a target row attends twice to the source, once restricted to the source's
//   foreground keys and once to its background keys, and the two outputs are blended with the
//   target's foreground mask (masks supplied by the user);
// - mask_auto: the same, with both masks read from the current step's 16×16 cross-attention
//   of chosen tokens (min-max normalised, threshold 0.1).

/// Which form of mutual self-attention a target row uses inside the gate.
public enum MasaCtrlVariant: String, Sendable, CaseIterable {
    /// softmax(Q_tgt·K_srcᵀ)·V_src (MutualSelfAttentionControl).
    case replace
    /// Keys and values of the source and the target concatenated (…ControlUnion).
    case union
    /// Foreground and background attention from user masks (…ControlMask).
    case mask
    /// The masks from cross-attention of chosen tokens (…ControlMaskAuto).
    case maskAuto = "mask_auto"
}

/// A binary mask at any resolution (row-major, 1 = foreground), resized to each layer's grid
/// by nearest neighbour as `F.interpolate(mode="nearest")`.
public struct AttentionMask: Sendable, Equatable {
    public let height: Int, width: Int
    public let values: [Bool]

    /// Values above 0.5 are foreground (the official code adds the raw mask to the scores, so
    /// anything but 0 and 1 has no clear meaning there).
    public init(height: Int, width: Int, values: [Float]) throws {
        guard height > 0, width > 0, values.count == height * width else {
            throw EditingError("masactrl: a mask of \(values.count) values is not \(height)×\(width)")
        }
        guard values.allSatisfy(\.isFinite) else { throw EditingError("masactrl: the mask has a non-finite value") }
        self.height = height
        self.width = width
        self.values = values.map { $0 > 0.5 }
    }

    init(height: Int, width: Int, bits: [Bool]) {
        self.height = height
        self.width = width
        values = bits
    }

    /// The mask at `h`×`w`: source index ⌊i·H/h⌋ (PyTorch's legacy "nearest").
    public func resized(height h: Int, width w: Int) -> AttentionMask {
        if h == height && w == width { return self }
        var bits = [Bool](repeating: false, count: h * w)
        for y in 0..<h {
            let sy = Swift.min(Int(Float(y) * Float(height) / Float(h)), height - 1)
            for x in 0..<w {
                let sx = Swift.min(Int(Float(x) * Float(width) / Float(w)), width - 1)
                bits[y * w + x] = values[sy * width + sx]
            }
        }
        return AttentionMask(height: h, width: w, bits: bits)
    }

    /// The foreground as 0/1 floats.
    public var floats: [Float] { values.map { $0 ? 1 : 0 } }
}

/// The user masks of the `mask` variant: the source's foreground selects the keys, the
/// target's foreground selects which of the two outputs each query keeps.
public struct MasaCtrlMasks: Sendable, Equatable {
    public var source: AttentionMask, target: AttentionMask
    public init(source: AttentionMask, target: AttentionMask) {
        self.source = source
        self.target = target
    }
}

/// The attention arithmetic of the variants, on one row's per-head tensors [1, H, L, D].
public enum MasaCtrlAttention {
    /// union: softmax(Q·[K_src; K_own]ᵀ·scale)·[V_src; V_own].
    public static func union(query: Tensor, sourceKey: Tensor, sourceValue: Tensor, ownKey: Tensor, ownValue: Tensor,
                             scale: Float) throws -> Tensor {
        let key = try Tensor.concat([sourceKey, ownKey], axis: 2)
        let value = try Tensor.concat([sourceValue, ownValue], axis: 2)
        return try (query.matmul(key.transposedLastTwo()) * scale).softmax().matmul(value)
    }

    /// mask: fg = attention over the source's foreground keys, bg = over its background keys
    /// (the other keys get the most negative float added, as the official masked_fill), then
    /// fg·m_tgt + bg·(1 − m_tgt) per query. `keyMask` and `queryMask` are at the layer's grid.
    /// The official code also adds 1 to the allowed foreground scores, a constant shift that
    /// softmax ignores; it is left out.
    public static func masked(query: Tensor, key: Tensor, value: Tensor, keyMask: AttentionMask, queryMask: AttentionMask,
                              scale: Float) throws -> Tensor {
        let (lq, lk) = (query.shape[2], key.shape[2])
        guard keyMask.values.count == lk, queryMask.values.count == lq else {
            throw EditingError("masactrl: masks of \(keyMask.values.count) keys and \(queryMask.values.count) queries for attention \(formatShape(query.shape)) × \(formatShape(key.shape))")
        }
        let scores = try query.matmul(key.transposedLastTwo()) * scale
        let blocked = -Float.greatestFiniteMagnitude
        let foregroundBias = Tensor(shape: [1, 1, 1, lk], scalars: keyMask.values.map { $0 ? 0 : blocked })
        let backgroundBias = Tensor(shape: [1, 1, 1, lk], scalars: keyMask.values.map { $0 ? blocked : 0 })
        let foreground = try (scores + foregroundBias).softmax().matmul(value)
        let background = try (scores + backgroundBias).softmax().matmul(value)
        let m = Tensor(shape: [1, 1, lq, 1], scalars: queryMask.floats)
        return try foreground * m + background * (1 - m)
    }
}

/// The cross-attention statistics that `mask_auto` reads: per batch row, the head-mean
/// probabilities of every cross-attention call at the chosen resolution in the current step.
struct CrossAttentionAggregate {
    /// [B, Lq, T] per recorded call.
    private(set) var maps: [Tensor] = []
    var height = 0, width = 0

    var isEmpty: Bool { maps.isEmpty }
    mutating func reset() { maps = [] }

    mutating func record(_ call: AttentionCall, _ probabilities: Tensor) throws {
        maps.append(try probabilities.mean(axes: [1]))
        (height, width) = (call.height, call.width)
    }

    /// The mean over recorded calls of row `row`, summed over `tokens`, min-max normalised and
    /// thresholded (MaskAuto.aggregate_cross_attn_map, then `>= thres`). A flat map (max = min;
    /// NaN in the official code) is all background.
    func mask(row: Int, tokens: [Int], threshold: Float) throws -> AttentionMask {
        let stacked = try Tensor.concat(maps.map { try $0.sliced(axis: 0, start: row, end: row + 1) }, axis: 0)
        let mean = try stacked.mean(axes: [0])
        let t = mean.shape[1]
        guard !tokens.isEmpty else { throw EditingError("masactrl: mask_auto needs at least one token index") }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= t }) {
            throw EditingError("masactrl: mask token index \(bad) is outside the prompt's 0..<\(t) tokens")
        }
        let image = try mean.indexSelect(axis: 1, tokens).sum(axes: [1]).scalars
        let (lo, hi) = (image.min() ?? 0, image.max() ?? 0)
        let bits = image.map { hi > lo && ($0 - lo) / (hi - lo) >= threshold }
        return AttentionMask(height: height, width: width, bits: bits)
    }
}
