import SwapTensor

// The input of the image metrics (spec clic-p3s-metrics.md §6): planes of Double pixels.

/// An image as the metrics read it: `channels` planes of `height`×`width` pixels, row-major,
/// in Double (every metric accumulates in Double, so results do not depend on summation order
/// beyond the last bits).
public struct MetricImage: Sendable, Equatable {
    public let channels: Int, height: Int, width: Int
    /// Plane c, row y, column x is `pixels[(c * height + y) * width + x]`.
    public let pixels: [Double]

    /// An image from its planes; throws when the count does not match the sizes.
    public init(channels: Int, height: Int, width: Int, pixels: [Double]) throws {
        guard channels > 0, height > 0, width > 0, pixels.count == channels * height * width else {
            throw EditingError("metrics: \(pixels.count) pixels do not make \(channels) planes of \(height)x\(width)")
        }
        (self.channels, self.height, self.width, self.pixels) = (channels, height, width, pixels)
    }

    /// An image from a tensor of shape [H, W] (grey), [C, H, W] or [1, C, H, W].
    public init(_ tensor: Tensor, _ op: String) throws {
        let s = tensor.shape
        let dims: (Int, Int, Int)
        switch s.count {
        case 2: dims = (1, s[0], s[1])
        case 3: dims = (s[0], s[1], s[2])
        case 4 where s[0] == 1: dims = (s[1], s[2], s[3])
        default:
            throw EditingError("\(op): expected an image tensor of shape [H, W], [C, H, W] or [1, C, H, W], got \(formatShape(s))")
        }
        guard dims.0 > 0, dims.1 > 0, dims.2 > 0 else { throw EditingError("\(op): empty image tensor \(formatShape(s))") }
        try self.init(channels: dims.0, height: dims.1, width: dims.2, pixels: tensor.scalars.map(Double.init))
    }

    /// The pixels of plane `c`.
    public func plane(_ c: Int) -> ArraySlice<Double> {
        pixels[(c * height * width)..<((c + 1) * height * width)]
    }

    /// Throws unless `other` has the same channels, height and width.
    public func checkSameSize(_ other: MetricImage, _ op: String) throws {
        guard channels == other.channels, height == other.height, width == other.width else {
            throw EditingError("\(op): the images differ in size: \(channels)x\(height)x\(width) and \(other.channels)x\(other.height)x\(other.width) (channels x height x width)")
        }
    }
}
