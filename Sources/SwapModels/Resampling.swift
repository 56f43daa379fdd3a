import SwapTensor

/// Stride-2 3x3 convolution `downsamplers.0.conv`. Matches diffusers `models/downsampling.py`
/// `Downsample2D` with `use_conv=True`: padding 1 on every side in the UNet; in the VAE
/// encoder (`padding=0`) the input is first padded with zeros on the right and bottom only.
public struct Downsample2D: Sendable {
    var conv: Conv2d
    let asymmetricPadding: Bool

    public init(_ store: WeightStore, _ prefix: String, channels: Int, padding: Int) throws {
        conv = try Conv2d(store, prefix + ".conv", inChannels: channels, outChannels: channels, kernel: 3,
                          stride: 2, padding: padding)
        asymmetricPadding = padding == 0
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard asymmetricPadding else { return try conv(x) }
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let right = try Tensor.concat([x, Tensor(zeros: [b, c, h, 1])], axis: 3)
        return try conv(Tensor.concat([right, Tensor(zeros: [b, c, 1, w + 1])], axis: 2))
    }
}

/// Nearest-neighbour upsampling then a 3x3 conv `upsamplers.0.conv`. Matches diffusers
/// `models/upsampling.py` `Upsample2D` with `use_conv=True`: 2x, or an explicit output size
/// (the UNet passes the skip's size when the latent is not a multiple of 2^levels).
public struct Upsample2D: Sendable {
    var conv: Conv2d

    public init(_ store: WeightStore, _ prefix: String, channels: Int) throws {
        conv = try Conv2d(store, prefix + ".conv", inChannels: channels, outChannels: channels, kernel: 3, padding: 1)
    }

    public func callAsFunction(_ x: Tensor, size: (height: Int, width: Int)? = nil) throws -> Tensor {
        let (h, w) = (x.shape[2], x.shape[3])
        if let size, size != (2 * h, 2 * w) {
            return try conv(Self.nearest(x, height: size.height, width: size.width))
        }
        return try conv(x.upsampleNearest2x())
    }

    /// torch `interpolate(mode="nearest", size=…)`: source index floor(o · in / out), via
    /// index-select so it stays differentiable.
    static func nearest(_ x: Tensor, height: Int, width: Int) throws -> Tensor {
        let (h, w) = (x.shape[2], x.shape[3])
        func taps(_ input: Int, _ output: Int) -> [Int] {
            let scale = Float(input) / Float(output)
            return (0..<output).map { Swift.min(Int((Float($0) * scale).rounded(.down)), input - 1) }
        }
        return try x.indexSelect(axis: 2, taps(h, height)).indexSelect(axis: 3, taps(w, width))
    }
}
