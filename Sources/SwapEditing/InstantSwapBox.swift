import SwapTensor

// The integer bounding box of InstantSwap and what is derived from it: the BGM latent mask
// (InstantSwap.py: the 512² box mask binarised and downsampled to 64² by nearest, so latent
// cell (i, j) takes pixel (8i, 8j); spec §4.2) and the SECR region of an attention layer
// (utils/Attn_proce.py: r0 = int(top·R), r1 = int(bottom·R) with top/bottom the min/max
// nonzero row of the mask divided by the image height; spec §4.3). Boxes stay integers; the
// official code's JPEG round trip of the mask is not reproduced.

/// A rectangle of image pixels: rows `top..<bottom`, columns `left..<right`.
public struct PixelBox: Sendable, Hashable, CustomStringConvertible {
    public var top: Int, left: Int, bottom: Int, right: Int

    /// A box; throws when it is empty or negative.
    public init(top: Int, left: Int, bottom: Int, right: Int) throws {
        guard top >= 0, left >= 0, top < bottom, left < right else {
            throw EditingError("box: box rows \(top)..<\(bottom), columns \(left)..<\(right) must be non-empty and non-negative")
        }
        (self.top, self.left, self.bottom, self.right) = (top, left, bottom, right)
    }

    public var height: Int { bottom - top }
    public var width: Int { right - left }

    public var description: String { "box rows \(top)..<\(bottom) cols \(left)..<\(right)" }

    /// Throws unless the box lies inside an image of `height`×`width` pixels.
    public func check(imageHeight height: Int, width: Int, _ op: String) throws {
        guard bottom <= height, right <= width else {
            throw EditingError("\(op): \(self) does not fit a \(width)x\(height) image")
        }
    }

    /// The BGM mask [1, 1, h, w] for a latent of `latentHeight`×`latentWidth` cells with
    /// `scale` pixels per cell: 1 where pixel (scale·i, scale·j) lies in the box (nearest
    /// downsampling of the pixel mask), else 0.
    public func latentMask(latentHeight h: Int, latentWidth w: Int, scale: Int) -> Tensor {
        var values = [Float](repeating: 0, count: h * w)
        for i in 0..<h where (top..<bottom).contains(i * scale) {
            for j in 0..<w where (left..<right).contains(j * scale) { values[i * w + j] = 1 }
        }
        return Tensor(shape: [1, 1, h, w], scalars: values)
    }

    /// The SECR region at an attention layer of `resolution`×`resolution` (height × width
    /// given separately for non-square latents) for an image of `imageHeight`×`imageWidth`:
    /// `int(top/H·R) ..< int(bottomInclusive/H·R)`, where bottomInclusive = bottom − 1 is the
    /// last nonzero row of the box mask, as the official processor reads it. The region may be
    /// empty for small boxes.
    public func attentionRegion(imageHeight: Int, imageWidth: Int, gridHeight: Int, gridWidth: Int) -> (rows: Range<Int>, cols: Range<Int>) {
        func cell(_ pixel: Int, _ size: Int, _ grid: Int) -> Int {
            Int((Double(pixel) / Double(size)) * Double(grid))
        }
        let r0 = cell(top, imageHeight, gridHeight), r1 = cell(bottom - 1, imageHeight, gridHeight)
        let c0 = cell(left, imageWidth, gridWidth), c1 = cell(right - 1, imageWidth, gridWidth)
        return (r0..<max(r0, r1), c0..<max(c0, c1))
    }

    /// The query-token indices (y·width + x) of the SECR region.
    public func attentionTokens(imageHeight: Int, imageWidth: Int, gridHeight: Int, gridWidth: Int) -> [Int] {
        let (rows, cols) = attentionRegion(imageHeight: imageHeight, imageWidth: imageWidth, gridHeight: gridHeight, gridWidth: gridWidth)
        return rows.flatMap { y in cols.map { x in y * gridWidth + x } }
    }
}
