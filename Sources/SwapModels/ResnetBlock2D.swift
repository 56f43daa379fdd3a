import SwapTensor

/// The residual block of the UNet and the VAE. Matches diffusers `models/resnet.py`
/// `ResnetBlock2D` with `time_embedding_norm="default"`, SiLU, output scale 1.
///
/// h = conv1(SiLU(norm1(x))) [+ time_emb_proj(SiLU(temb)) broadcast over H, W];
/// h = conv2(SiLU(norm2(h))); out = shortcut(x) + h, where the shortcut is a 1x1 conv exactly
/// when the channel count changes.
public struct ResnetBlock2D: Sendable {
    public let inChannels: Int, outChannels: Int
    var norm1: GroupNorm, conv1: Conv2d, norm2: GroupNorm, conv2: Conv2d
    var timeEmbProj: Linear?
    var convShortcut: Conv2d?

    /// Loads the block under `prefix`; `timeEmbeddingDim` nil means no time input (VAE).
    public init(_ store: WeightStore, _ prefix: String, inChannels: Int, outChannels: Int,
                timeEmbeddingDim: Int?, groups: Int, eps: Float) throws {
        self.inChannels = inChannels
        self.outChannels = outChannels
        norm1 = try GroupNorm(store, prefix + ".norm1", groups: groups, channels: inChannels, eps: eps)
        conv1 = try Conv2d(store, prefix + ".conv1", inChannels: inChannels, outChannels: outChannels, kernel: 3, padding: 1)
        timeEmbProj = try timeEmbeddingDim.map {
            try Linear(store, prefix + ".time_emb_proj", inFeatures: $0, outFeatures: outChannels)
        }
        norm2 = try GroupNorm(store, prefix + ".norm2", groups: groups, channels: outChannels, eps: eps)
        conv2 = try Conv2d(store, prefix + ".conv2", inChannels: outChannels, outChannels: outChannels, kernel: 3, padding: 1)
        convShortcut = inChannels == outChannels ? nil
            : try Conv2d(store, prefix + ".conv_shortcut", inChannels: inChannels, outChannels: outChannels, kernel: 1)
    }

    /// `x` [B, in, H, W], `temb` [B, T] (required when the block has a time projection).
    public func callAsFunction(_ x: Tensor, temb: Tensor?) throws -> Tensor {
        var h = try conv1(norm1(x).silu())
        if let timeEmbProj {
            guard let temb else { throw TensorError("resnet", "this block needs a time embedding") }
            let t = try timeEmbProj(temb.silu())
            h = try h + t.reshaped([t.shape[0], t.shape[1], 1, 1])
        }
        h = try conv2(norm2(h).silu())
        let shortcut = try convShortcut.map { try $0(x) } ?? x
        return try shortcut + h
    }
}
