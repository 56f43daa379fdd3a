import Foundation
import SwapTensor

/// The configuration of an `AutoencoderKL`, from diffusers' `vae/config.json`
/// (`models/autoencoders/autoencoder_kl.py` `__init__`), with the class defaults for missing keys.
public struct VAEConfig: Sendable, Equatable {
    public var inChannels = 3
    public var outChannels = 3
    public var latentChannels = 4
    public var blockOutChannels = [64]
    public var layersPerBlock = 1
    public var normNumGroups = 32
    /// Latents are multiplied by this after encoding (0.18215 for SD when the key is absent).
    public var scalingFactor: Float = 0.18215
    public var midBlockAddAttention = true

    public init() {}

    public init(contentsOf path: String) throws {
        let json = try ModelConfigJSON(path: path)
        inChannels = try json.int("in_channels", default: inChannels)
        outChannels = try json.int("out_channels", default: outChannels)
        latentChannels = try json.int("latent_channels", default: latentChannels)
        blockOutChannels = try json.ints("block_out_channels", default: blockOutChannels)
        layersPerBlock = try json.int("layers_per_block", default: layersPerBlock)
        normNumGroups = try json.int("norm_num_groups", default: normNumGroups)
        scalingFactor = try json.float("scaling_factor", default: scalingFactor)
        midBlockAddAttention = try json.bool("mid_block_add_attention", default: midBlockAddAttention)
        let file = json.file
        for t in try json.strings("down_block_types", default: ["DownEncoderBlock2D"]) where t != "DownEncoderBlock2D" {
            throw ModelLoadError("\(file): unsupported down block type '\(t)'")
        }
        for t in try json.strings("up_block_types", default: ["UpDecoderBlock2D"]) where t != "UpDecoderBlock2D" {
            throw ModelLoadError("\(file): unsupported up block type '\(t)'")
        }
        if try !json.bool("use_quant_conv", default: true) || !json.bool("use_post_quant_conv", default: true) {
            throw ModelLoadError("\(file): use_quant_conv and use_post_quant_conv must be true")
        }
        if json.has("shift_factor") || json.has("latents_mean") {
            throw ModelLoadError("\(file): shift_factor / latents_mean are not supported (SD 1.x/2.x VAEs leave them null)")
        }
        guard !blockOutChannels.isEmpty, blockOutChannels.allSatisfy({ $0 > 0 && $0 % normNumGroups == 0 }) else {
            throw ModelLoadError("\(file): block_out_channels \(blockOutChannels) must be multiples of norm_num_groups \(normNumGroups)")
        }
    }

    /// Pixels per latent cell, 2^(levels − 1).
    public var downsampleFactor: Int { 1 << (blockOutChannels.count - 1) }
}

/// The encoder's output distribution: a diagonal Gaussian per latent element. Matches diffusers
/// `models/autoencoders/vae.py` `DiagonalGaussianDistribution` (logvar clamped to [−30, 20]).
public struct DiagonalGaussian: Sendable {
    public let mean: Tensor
    public let logvar: Tensor

    /// Splits moments [B, 2·C, h, w] into mean and clamped log-variance.
    init(moments: Tensor) throws {
        let halves = try moments.chunked(2, axis: 1)
        mean = halves[0]
        logvar = halves[1].clamped(min: -30, max: 20)
    }

    /// exp(logvar / 2).
    public var std: Tensor { (logvar * 0.5).exp() }

    /// The mode, which is the mean.
    public var mode: Tensor { mean }

    /// mean + std · noise, with `noise` ~ N(0, 1) of the mean's shape supplied by the caller.
    public func sample(noise: Tensor) throws -> Tensor {
        guard noise.shape == mean.shape else {
            throw ModelLoadError("vae: noise has shape \(formatShape(noise.shape)), expected \(formatShape(mean.shape))")
        }
        return try mean + std * noise
    }
}

/// The Stable Diffusion VAE. Matches diffusers `models/autoencoders/autoencoder_kl.py`
/// `AutoencoderKL` (with `vae.py` `Encoder`/`Decoder`), Float32, no tiling or slicing.
///
/// `encode` maps images in [−1, 1] to the latent posterior; `decode` maps latents back, like
/// diffusers' `vae.decode` (no scaling: divide latents by `scalingFactor` first, as pipelines do).
public struct AutoencoderKL: Sendable {
    public let config: VAEConfig
    var encoder: VAEEncoder, decoder: VAEDecoder
    var quantConv: Conv2d, postQuantConv: Conv2d

    public var scalingFactor: Float { config.scalingFactor }

    public init(config: VAEConfig, store: WeightStore) throws {
        self.config = config
        encoder = try VAEEncoder(store, config: config)
        decoder = try VAEDecoder(store, config: config)
        let z = config.latentChannels
        quantConv = try Conv2d(store, "quant_conv", inChannels: 2 * z, outChannels: 2 * z, kernel: 1)
        postQuantConv = try Conv2d(store, "post_quant_conv", inChannels: z, outChannels: z, kernel: 1)
    }

    /// Loads a diffusers `vae/` folder.
    public init(directory: String) throws {
        let config = try VAEConfig(contentsOf: (directory as NSString).appendingPathComponent("config.json"))
        try self.init(config: config, store: WeightStore(paths: diffusersWeightFiles(in: directory)))
    }

    /// The posterior for images [B, in_channels, H, W] in [−1, 1]; H and W must be multiples of
    /// the downsample factor.
    public func encode(_ image: Tensor) throws -> DiagonalGaussian {
        let f = config.downsampleFactor
        guard image.rank == 4, image.shape[1] == config.inChannels else {
            throw ModelLoadError("vae: image has shape \(formatShape(image.shape)), expected [B,\(config.inChannels),H,W]")
        }
        guard image.shape[0] > 0, image.shape[2] > 0, image.shape[2] % f == 0, image.shape[3] > 0, image.shape[3] % f == 0 else {
            throw ModelLoadError("vae: image has shape \(formatShape(image.shape)); H and W must be positive multiples of \(f)")
        }
        return try DiagonalGaussian(moments: quantConv(encoder(image)))
    }

    /// Images [B, out_channels, f·h, f·w] (roughly in [−1, 1]) for latents [B, latent, h, w].
    public func decode(_ latent: Tensor) throws -> Tensor {
        guard latent.rank == 4, latent.shape[1] == config.latentChannels, latent.shape[0] > 0,
              latent.shape[2] > 0, latent.shape[3] > 0 else {
            throw ModelLoadError("vae: latent has shape \(formatShape(latent.shape)), expected [B,\(config.latentChannels),h,w]")
        }
        return try decoder(postQuantConv(latent))
    }
}
