import SwapModels
import SwapTensor

// The cross-attention side of CLiC (spec §1.2 items 6 and 12, §2.2 (b), §3 extraction): the
// token's map from every up-block cross-attention layer (the code's `cross_up_*` processors),
// mean over heads, bilinear to the latent grid, averaged over layers, kept in the autograd graph;
// and Custom Diffusion's start-token detach (the keys and values of token 0 carry no gradient).

/// An attention hook that records one token's differentiable cross-attention map at the
/// up-block cross-attention layers (conditional rows), and optionally detaches the start token's
/// keys and values in every cross-attention layer.
public final class CLiCAttentionHook: AttentionHook {
    /// The prompt position whose column is recorded (nil: record nothing).
    public var tokenIndex: Int?
    /// Detach the keys and values of token 0 (forward unchanged, no gradient through them).
    public var detachStartToken: Bool
    /// The latent grid the maps are resized to.
    public let height: Int, width: Int
    /// One map per recorded layer, [b, 1, height, width] (b: the conditional rows), in forward order.
    public private(set) var maps: [Tensor] = []
    /// The paths of the recorded layers, in the order of ``maps``.
    public private(set) var layers: [String] = []

    public init(tokenIndex: Int?, height: Int, width: Int, detachStartToken: Bool = false) {
        self.tokenIndex = tokenIndex
        self.height = height
        self.width = width
        self.detachStartToken = detachStartToken
    }

    /// Forgets the maps of the previous UNet call.
    public func reset() {
        maps = []
        layers = []
    }

    public func keysAndValues(_ call: AttentionCall, query: Tensor, key: Tensor, value: Tensor) throws -> (key: Tensor, value: Tensor)? {
        guard detachStartToken, call.layer.kind == .crossAttention, key.shape[2] > 1 else { return nil }
        func detachFirst(_ x: Tensor) throws -> Tensor {
            try x.replacing(axis: 2, at: [0], with: x.sliced(axis: 2, start: 0, end: 1).detached())
        }
        return (try detachFirst(key), try detachFirst(value))
    }

    func records(_ call: AttentionCall) -> Bool {
        tokenIndex != nil && call.layer.kind == .crossAttention && call.layer.place == .up
            && call.rows.contains { $0.guidance == .conditional }
    }

    public func probabilityAccess(_ call: AttentionCall) -> ProbabilityAccess {
        // .replace runs the separate differentiable ops, so the map carries gradients.
        records(call) ? .replace : .none
    }

    public func probabilities(_ call: AttentionCall, _ probabilities: Tensor) throws -> Tensor? {
        guard records(call), let token = tokenIndex else { return nil }
        guard token >= 0, token < probabilities.shape[3] else {
            throw TensorError("clic attention", "\(call.layer.path): token index \(token) outside 0..<\(probabilities.shape[3])")
        }
        let rows = call.rowIndices { $0.guidance == .conditional }
        let p = rows.count == call.batch ? probabilities : try probabilities.indexSelect(axis: 0, rows)
        let column = try p.sliced(axis: 3, start: token, end: token + 1).mean(axes: [1])   // [b, Lq, 1]
        let grid = try column.reshaped([rows.count, 1, call.height, call.width])
        let resized = call.height == height && call.width == width ? grid : try grid.resizedBilinear(height: height, width: width)
        maps.append(resized)
        layers.append(call.layer.path)
        return nil
    }

    /// The recorded maps averaged over layers, [b, 1, height, width].
    public func averagedMap() throws -> Tensor {
        guard let first = maps.first else {
            throw TensorError("clic attention", "no up-block cross-attention map was recorded (does the UNet have up-block cross-attention?)")
        }
        var sum = first
        for m in maps.dropFirst() { sum = try sum + m }
        return sum * (1 / Float(maps.count))
    }

    /// (A − min)/(max − min) over the whole map (learning.py's normalisation; differentiable).
    public static func minMaxNormalized(_ a: Tensor) throws -> Tensor {
        let low = a.min(), high = a.max()
        return try (a - low) / (high - low + 1e-12)
    }
}
