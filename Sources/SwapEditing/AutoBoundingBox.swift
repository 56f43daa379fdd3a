import SwapIO
import SwapTensor

// InstantSwap's automatic bounding box, post-processing half (paper §3.2.1, Eqs. 7–8; code
// chenyangzhu1/InstantSwap get_bbox.py; spec §4.1): from the averaged cross-attention A_c
// [N, 77] and self-attention A_s [N, N] of one pass, the map M = A_s · (A_c)^∘τ at the concept
// token, normalised to 0…255 and truncated to uint8, bicubic-resized (Pillow) to the image,
// thresholded at λ, reduced to its largest 4-connected component; the union over passes gives
// the box (rows/cols min ..< max, the code's exclusive max).

/// The settings of the box extraction (defaults: get_bbox.py / paper §4.1).
public struct AutoBoxSettings: Sendable, Equatable {
    /// τ, the element-wise exponent of the cross-attention.
    public var exponent: Float = 2
    /// λ, the threshold on the max-normalised map.
    public var threshold: Float = 0.5
    /// Keep only the largest 4-connected component of each pass's mask (code-only detail).
    public var largestComponent = true
    /// Timesteps of the attention passes (`linspace(100, 500, 3)` sorted descending).
    public var timesteps: [Int] = [500, 300, 100]
    /// Average over the conditional half only (the code averages both halves).
    public var conditionalOnly = false

    public init() {}
}

/// The per-pass product of the box extraction, kept for inspection.
public struct AutoBoxPass: Sendable {
    public let timestep: Int
    /// Ã_c[:, k] reshaped to the attention grid, before normalisation.
    public let map: Heatmap
    /// The uint8 map resized to the image (Pillow bicubic).
    public let resized: [UInt8]
    /// The thresholded mask after the component filter (image size, row-major).
    public let mask: [Bool]
}

/// Pure steps of the box extraction.
public enum AutoBoundingBox {
    /// `A_s · (A_c)^∘τ` at token column `token`: crossAttention [N, L], selfAttention [N, N] → [N].
    public static func tokenMap(crossAttention: Tensor, selfAttention: Tensor, token: Int, exponent: Float) throws -> [Float] {
        guard crossAttention.rank == 2, selfAttention.rank == 2, selfAttention.shape[0] == selfAttention.shape[1],
              selfAttention.shape[1] == crossAttention.shape[0] else {
            throw EditingError("auto_bbox: cross-attention \(formatShape(crossAttention.shape)) and self-attention \(formatShape(selfAttention.shape)) must be [N, L] and [N, N]")
        }
        guard token >= 0, token < crossAttention.shape[1] else {
            throw EditingError("auto_bbox: token index \(token) outside 0..<\(crossAttention.shape[1])")
        }
        let column = try crossAttention.sliced(axis: 1, start: token, end: token + 1).pow(exponent)
        return try selfAttention.matmul(column).scalars
    }

    /// The map as uint8, `astype(uint8)` of `255·m / max(m)` (truncation toward zero); an
    /// all-zero or non-finite map gives zeros.
    public static func quantized(_ map: [Float]) -> [UInt8] {
        let peak = map.max() ?? 0
        guard peak > 0, peak.isFinite else { return [UInt8](repeating: 0, count: map.count) }
        return map.map { v in
            let scaled = 255 * v / peak
            return scaled.isFinite ? UInt8(Swift.min(Swift.max(scaled, 0), 255).rounded(.towardZero)) : 0
        }
    }

    /// One pass: quantise the `gridHeight`×`gridWidth` map, resize it to the image, threshold
    /// `value/255 ≥ λ`, keep the largest component.
    public static func passMask(_ map: [Float], gridHeight: Int, gridWidth: Int, imageHeight: Int, imageWidth: Int,
                                settings: AutoBoxSettings) -> (resized: [UInt8], mask: [Bool]) {
        let resized = PillowResample.bicubic(quantized(map), width: gridWidth, height: gridHeight,
                                             outWidth: imageWidth, outHeight: imageHeight)
        var mask = resized.map { Double($0) / 255 >= Double(settings.threshold) }
        if settings.largestComponent { mask = largestComponent(mask, width: imageWidth, height: imageHeight) }
        return (resized, mask)
    }

    /// The largest 4-connected component of `mask` (scipy `ndimage.label` default structure;
    /// labels in raster order of their first pixel, ties go to the lowest label as
    /// `np.argmax` does). An empty mask stays empty.
    public static func largestComponent(_ mask: [Bool], width: Int, height: Int) -> [Bool] {
        var labels = [Int](repeating: 0, count: mask.count)
        var sizes: [Int] = []
        var stack: [Int] = []
        for start in mask.indices where mask[start] && labels[start] == 0 {
            sizes.append(0)
            let label = sizes.count
            labels[start] = label
            stack.append(start)
            while let p = stack.popLast() {
                sizes[label - 1] += 1
                let (y, x) = (p / width, p % width)
                for (ny, nx) in [(y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)]
                where ny >= 0 && ny < height && nx >= 0 && nx < width {
                    let q = ny * width + nx
                    if mask[q] && labels[q] == 0 { labels[q] = label; stack.append(q) }
                }
            }
        }
        guard let best = sizes.indices.max(by: { sizes[$0] < sizes[$1] || (sizes[$0] == sizes[$1] && $0 > $1) }) else { return mask }
        return labels.map { $0 == best + 1 }
    }

    /// The box of the union of `masks` (image `width`×`height`): rows `min ..< max` and cols
    /// `min ..< max` of the set pixels, the official `bbox_out[st_h:ed_h, st_w:ed_w]` (the last
    /// row and column are left out, as in the code). nil when nothing is set or the box is empty.
    public static func box(union masks: [[Bool]], width: Int, height: Int) -> PixelBox? {
        var (top, left, bottom, right) = (Int.max, Int.max, -1, -1)
        for y in 0..<height {
            for x in 0..<width where masks.contains(where: { $0[y * width + x] }) {
                top = Swift.min(top, y); bottom = Swift.max(bottom, y)
                left = Swift.min(left, x); right = Swift.max(right, x)
            }
        }
        guard bottom >= 0 else { return nil }
        return try? PixelBox(top: top, left: left, bottom: bottom, right: right)
    }
}
