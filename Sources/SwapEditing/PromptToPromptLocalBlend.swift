import SwapModels
import SwapTensor

// Matches LocalBlend of google/prompt-to-prompt: prompt-to-prompt_stable.ipynb (threshold 0.3,
// max-pooled mask) and null_text_w_ptp.ipynb (start_blend, th = (0.3, 0.3), substruct_words);
// Hertz et al. 2022, §3.3 "Local editing".

/// Local blending: after each scheduler step, the target latent keeps the source latent outside
/// a mask made from the cross-attention of the blend words, so only the edited region changes.
///
/// The mask of a row is Σ over steps so far, layers at ``resolution`` and heads of the row's
/// maps of its blend words; max-pooled 3×3 (stride 1, padding 1), resized (nearest) to the
/// latent, divided by its maximum and thresholded (> ``threshold``). The source's and the
/// target's masks are united, and z_tgt ← z_src + mask·(z_tgt − z_src). The reference averages
/// over the layer×head maps; that scale cancels in the division by the maximum.
public final class LocalBlend {
    /// Accumulated maps: for each query resolution (side), the sums of the source and target
    /// rows ([side²] each) for the blend words and the subtracted words.
    public struct Maps {
        public var blend: [Int: (source: Tensor, target: Tensor)] = [:]
        public var subtract: [Int: (source: Tensor, target: Tensor)] = [:]
    }

    /// Token positions of the blend words in the source and target prompts.
    public let sourceTokens: [Int], targetTokens: [Int]
    /// Token positions whose region is removed from the mask (null-text notebook's
    /// `substruct_words`; empty: none).
    public let subtractSourceTokens: [Int], subtractTargetTokens: [Int]
    /// The mask threshold (0.3 in both notebooks).
    public let threshold: Float
    /// The threshold of the subtracted mask (unpooled; 0.3).
    public let subtractThreshold: Float
    /// Blending runs from this step on (0 in the stable notebook; ⌊0.2·N⌋ in the null-text one).
    public let startStep: Int
    /// Max-pool the blend mask (both notebooks do; the subtracted mask is never pooled).
    public let maxPool: Bool
    /// The query resolution of the maps (16 = the five 16×16 cross layers of SD 1.x, as the
    /// reference's `down_cross[2:4] + up_cross[:3]`); nil picks 16 when captured, else the
    /// captured resolution nearest to 16 (tiny models).
    public let resolution: Int?
    /// The sums so far.
    public var maps = Maps()

    public init(sourceTokens: [Int], targetTokens: [Int], threshold: Float = 0.3, startStep: Int = 0, maxPool: Bool = true,
                subtractSourceTokens: [Int] = [], subtractTargetTokens: [Int] = [], subtractThreshold: Float = 0.3,
                resolution: Int? = nil) {
        self.sourceTokens = sourceTokens
        self.targetTokens = targetTokens
        self.threshold = threshold
        self.startStep = startStep
        self.maxPool = maxPool
        self.subtractSourceTokens = subtractSourceTokens
        self.subtractTargetTokens = subtractTargetTokens
        self.subtractThreshold = subtractThreshold
        self.resolution = resolution
    }

    /// Maps are collected at cross-attention layers of at most 32×32 queries (the reference's
    /// store skips 64×64).
    func collects(_ call: AttentionCall) -> Bool {
        call.layer.kind == .crossAttention && call.height == call.width && call.height <= 32
            && (resolution == nil || resolution == call.height)
    }

    /// Adds a layer's maps of the source and target rows (`rows`) of `p` [B, H, Lq, Lk].
    func collect(_ call: AttentionCall, _ p: Tensor, rows: [Int]) throws {
        func tokenSum(_ row: Int, _ tokens: [Int]) throws -> Tensor {
            guard !tokens.isEmpty else { return Tensor(zeros: [p.shape[2]]) }   // a word only the other prompt has
            let r = try p.sliced(axis: 0, start: row, end: row + 1)
            return try r.indexSelect(axis: 3, tokens).sum(axes: [0, 1, 3])
        }
        func add(_ table: inout [Int: (source: Tensor, target: Tensor)], _ src: [Int], _ tgt: [Int]) throws {
            let s = try tokenSum(rows[0], src), t = try tokenSum(rows[1], tgt)
            if let old = table[call.height] {
                table[call.height] = (try old.source + s, try old.target + t)
            } else {
                table[call.height] = (s, t)
            }
        }
        try GradMode.withoutGradient {
            try add(&maps.blend, sourceTokens, targetTokens)
            if !subtractSourceTokens.isEmpty || !subtractTargetTokens.isEmpty {
                try add(&maps.subtract, subtractSourceTokens, subtractTargetTokens)
            }
        }
    }

    /// The query resolution whose maps make the mask.
    public func chosenSide() throws -> Int {
        if let resolution {
            guard maps.blend[resolution] != nil else {
                throw EditingError("local blend: no cross-attention maps at \(resolution)x\(resolution) were collected (model layers at: \(maps.blend.keys.sorted().map(String.init).joined(separator: ", ")))")
            }
            return resolution
        }
        guard let side = maps.blend.keys.min(by: { (abs($0 - 16), $0) < (abs($1 - 16), $1) }) else {
            throw EditingError("local blend: no cross-attention maps were collected (no cross-attention layer of at most 32x32)")
        }
        return side
    }

    /// The 0/1 mask [1, 1, h, w] for latents of `height`×`width`.
    public func mask(height: Int, width: Int) throws -> Tensor {
        let side = try chosenSide()
        let sums = maps.blend[side]!
        var m = try Self.binaryMask(sums.source, side: side, height: height, width: width, pool: maxPool, threshold: threshold)
        let t = try Self.binaryMask(sums.target, side: side, height: height, width: width, pool: maxPool, threshold: threshold)
        m = zip(m, t).map { $0 || $1 }
        if let sub = maps.subtract[side] {
            let a = try Self.binaryMask(sub.source, side: side, height: height, width: width, pool: false, threshold: subtractThreshold)
            let b = try Self.binaryMask(sub.target, side: side, height: height, width: width, pool: false, threshold: subtractThreshold)
            m = m.indices.map { m[$0] && !(a[$0] || b[$0]) }
        }
        return Tensor(shape: [1, 1, height, width], scalars: m.map { $0 ? 1 : 0 })
    }

    /// Blends `target` [1, C, h, w] toward `source` outside the mask at step `step` (a no-op
    /// before ``startStep``): z_src + mask·(z_tgt − z_src), the reference's formula.
    public func apply(source: Tensor, target: Tensor, step: Int) throws -> Tensor {
        guard step >= startStep else { return target }
        let m = try mask(height: target.shape[2], width: target.shape[3])
        return try source + m * (target - source)
    }

    /// Max-pool (optional), nearest resize, divide by the maximum, threshold.
    static func binaryMask(_ map: Tensor, side: Int, height: Int, width: Int, pool: Bool, threshold: Float) throws -> [Bool] {
        var v = map.scalars
        guard v.count == side * side else { throw EditingError("local blend: a \(side)x\(side) map has \(v.count) values") }
        if pool {
            var pooled = v
            for y in 0..<side {
                for x in 0..<side {
                    var best = -Float.infinity
                    for dy in -1...1 {
                        for dx in -1...1 {
                            let (yy, xx) = (y + dy, x + dx)
                            if yy >= 0, yy < side, xx >= 0, xx < side { best = max(best, v[yy * side + xx]) }
                        }
                    }
                    pooled[y * side + x] = best
                }
            }
            v = pooled
        }
        // torch nearest: source index ⌊dst·(in/out)⌋.
        let sy = Float(side) / Float(height), sx = Float(side) / Float(width)
        var resized = [Float](repeating: 0, count: height * width)
        for y in 0..<height {
            let yy = min(Int(Float(y) * sy), side - 1)
            for x in 0..<width { resized[y * width + x] = v[yy * side + min(Int(Float(x) * sx), side - 1)] }
        }
        let peak = resized.max() ?? 0
        return resized.map { $0 / peak > threshold }
    }
}
