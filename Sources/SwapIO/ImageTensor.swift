import SwapTensor

/// The value range of image tensors.
public enum TensorRange: Sendable, Equatable {
    /// Samples in [0, 1], like the image itself.
    case zeroToOne
    /// Samples in [-1, 1], the convention of Stable Diffusion's VAE (`2x - 1`).
    case minusOneToOne
}

/// Conversions between `Image` and `Tensor`s of shape [1, C, H, W] (or [C, H, W]).
extension Image {
    /// The image as a tensor of shape [1, C, H, W] (C = `channels`), in `range`.
    public func tensor(range: TensorRange = .minusOneToOne) -> Tensor {
        let plane = width * height
        var scalars = [Float](repeating: 0, count: plane * channels)
        for i in 0..<plane {
            for c in 0..<channels {
                let x = pixels[i * channels + c]
                scalars[c * plane + i] = range == .minusOneToOne ? x * 2 - 1 : x
            }
        }
        return Tensor(shape: [1, channels, height, width], scalars: scalars)
    }

    /// Creates an image from a tensor of shape [1, C, H, W] or [C, H, W] with C in 1...4.
    ///
    /// Values are mapped like diffusers' `postprocess`: for `.minusOneToOne`, `x / 2 + 0.5`;
    /// then clamped to [0, 1] and rounded to the 8-bit grid (`round(x * 255) / 255`), so the
    /// image equals what `save` writes and reloading it gives the same pixels. NaN becomes 0.
    /// Throws `ImageError` (`.invalidArgument`) for any other shape.
    public init(tensor: Tensor, range: TensorRange = .minusOneToOne) throws {
        let shape = tensor.shape
        let dims: [Int]
        if shape.count == 4, shape[0] == 1 {
            dims = Array(shape[1...])
        } else if shape.count == 3 {
            dims = shape
        } else {
            throw ImageError.argument(
                "image tensor must have shape [1, C, H, W] or [C, H, W], got \(shape)")
        }
        try self.init(planes: tensor.scalars, offset: 0, channels: dims[0], height: dims[1],
                      width: dims[2], range: range)
    }

    /// Splits a batch tensor of shape [N, C, H, W] into N images (see `init(tensor:range:)`).
    public static func images(fromBatch tensor: Tensor,
                              range: TensorRange = .minusOneToOne) throws -> [Image] {
        let shape = tensor.shape
        guard shape.count == 4 else {
            throw ImageError.argument("batch tensor must have shape [N, C, H, W], got \(shape)")
        }
        let scalars = tensor.scalars
        let size = shape[1] * shape[2] * shape[3]
        return try (0..<shape[0]).map {
            try Image(planes: scalars, offset: $0 * size, channels: shape[1], height: shape[2],
                      width: shape[3], range: range)
        }
    }

    /// Builds an image from CHW planes starting at `offset` in `scalars`.
    private init(planes scalars: [Float], offset: Int, channels: Int, height: Int, width: Int,
                 range: TensorRange) throws {
        guard (1...4).contains(channels), width >= 1, height >= 1 else {
            throw ImageError.argument(
                "image tensor needs 1 to 4 channels and a non-empty size, got C=\(channels) H=\(height) W=\(width)")
        }
        let plane = width * height
        guard offset >= 0, offset + plane * channels <= scalars.count else {
            throw ImageError.argument("tensor has too few elements for \(channels)×\(height)×\(width)")
        }
        var pixels = [Float](repeating: 0, count: plane * channels)
        for c in 0..<channels {
            let base = offset + c * plane
            for i in 0..<plane {
                var x = scalars[base + i]
                if range == .minusOneToOne { x = x / 2 + 0.5 }
                pixels[i * channels + c] = Float(Image.quantize(x)) / 255
            }
        }
        self.init(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
    }
}
