import SwapTensor

/// The VAE's mid-block self-attention `mid_block.attentions.0`. Matches diffusers
/// `models/attention_processor.py` `Attention` built with `_from_deprecated_attn_block=True`
/// (one head of width C, q/k/v/out with bias, GroupNorm eps 1e-6 on the input, residual added).
/// Accepts the current names (`to_q`, `to_k`, `to_v`, `to_out.0`) and the legacy ones old
/// diffusers files use (`query`, `key`, `value`, `proj_attn`), as 2-D or 1x1-conv weights.
struct VAEAttention: Sendable {
    var groupNorm: GroupNorm
    var attention: AttentionLayer

    init(_ store: WeightStore, _ prefix: String, channels: Int, groups: Int) throws {
        groupNorm = try GroupNorm(store, prefix + ".group_norm", groups: groups, channels: channels, eps: 1e-6)
        let legacy = !store.contains(prefix + ".to_q.weight") && store.contains(prefix + ".query.weight")
        let names = legacy ? ["query", "key", "value", "proj_attn"] : ["to_q", "to_k", "to_v", "to_out.0"]
        let linears = try names.map { try Self.linear(store, "\(prefix).\($0)", channels: channels) }
        attention = try AttentionLayer(toQ: linears[0], toK: linears[1], toV: linears[2], toOut: linears[3], heads: 1)
    }

    /// A C→C projection stored as [C, C] or as a 1x1 conv [C, C, 1, 1].
    static func linear(_ store: WeightStore, _ name: String, channels c: Int) throws -> Linear {
        var weight = try store.tensor(name + ".weight")
        if weight.shape == [c, c, 1, 1] { weight = try weight.reshaped([c, c]) }
        guard weight.shape == [c, c] else {
            throw ModelLoadError("tensor '\(name).weight' has shape \(formatShape(weight.shape)), expected \(formatShape([c, c]))")
        }
        return Linear(weight: weight, bias: try store.tensor(name + ".bias", shape: [c]))
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let tokens = try groupNorm(x).reshaped([b, c, h * w]).permuted([0, 2, 1])
        let out = try attention(tokens).permuted([0, 2, 1]).reshaped([b, c, h, w])
        return try out + x
    }
}

/// `encoder.mid_block` / `decoder.mid_block`. Matches diffusers `unet_2d_blocks.py`
/// `UNetMidBlock2D` as the VAE builds it: resnet → attention → resnet, no time input, eps 1e-6.
struct VAEMidBlock: Sendable {
    var resnet0: ResnetBlock2D, attention: VAEAttention?, resnet1: ResnetBlock2D

    init(_ store: WeightStore, _ prefix: String, channels: Int, groups: Int, addAttention: Bool) throws {
        resnet0 = try ResnetBlock2D(store, prefix + ".resnets.0", inChannels: channels, outChannels: channels,
                                    timeEmbeddingDim: nil, groups: groups, eps: 1e-6)
        attention = addAttention ? try VAEAttention(store, prefix + ".attentions.0", channels: channels, groups: groups) : nil
        resnet1 = try ResnetBlock2D(store, prefix + ".resnets.1", inChannels: channels, outChannels: channels,
                                    timeEmbeddingDim: nil, groups: groups, eps: 1e-6)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = try resnet0(x, temb: nil)
        if let attention { h = try attention(h) }
        return try resnet1(h, temb: nil)
    }
}

/// `encoder`. Matches diffusers `models/autoencoders/vae.py` `Encoder` with
/// DownEncoderBlock2D levels and `double_z`: conv_in → levels (resnets, then a right/bottom
/// padded stride-2 conv except at the last) → mid → GroupNorm → SiLU → conv_out (2·latent).
struct VAEEncoder: Sendable {
    var convIn: Conv2d
    var levels: [(resnets: [ResnetBlock2D], downsampler: Downsample2D?)]
    var mid: VAEMidBlock
    var convNormOut: GroupNorm, convOut: Conv2d

    init(_ store: WeightStore, config c: VAEConfig) throws {
        let ch = c.blockOutChannels
        convIn = try Conv2d(store, "encoder.conv_in", inChannels: c.inChannels, outChannels: ch[0], kernel: 3, padding: 1)
        levels = try ch.indices.map { i in
            let resnets = try (0..<c.layersPerBlock).map { j in
                try ResnetBlock2D(store, "encoder.down_blocks.\(i).resnets.\(j)", inChannels: j == 0 ? ch[max(i - 1, 0)] : ch[i],
                                  outChannels: ch[i], timeEmbeddingDim: nil, groups: c.normNumGroups, eps: 1e-6)
            }
            let down = i == ch.count - 1 ? nil
                : try Downsample2D(store, "encoder.down_blocks.\(i).downsamplers.0", channels: ch[i], padding: 0)
            return (resnets, down)
        }
        mid = try VAEMidBlock(store, "encoder.mid_block", channels: ch[ch.count - 1], groups: c.normNumGroups,
                              addAttention: c.midBlockAddAttention)
        convNormOut = try GroupNorm(store, "encoder.conv_norm_out", groups: c.normNumGroups, channels: ch[ch.count - 1], eps: 1e-6)
        convOut = try Conv2d(store, "encoder.conv_out", inChannels: ch[ch.count - 1], outChannels: 2 * c.latentChannels,
                             kernel: 3, padding: 1)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = try convIn(x)
        for level in levels {
            for resnet in level.resnets { h = try resnet(h, temb: nil) }
            if let down = level.downsampler { h = try down(h) }
        }
        h = try mid(h)
        return try convOut(convNormOut(h).silu())
    }
}

/// `decoder`. Matches diffusers `models/autoencoders/vae.py` `Decoder` with UpDecoderBlock2D
/// levels: conv_in → mid → levels over the reversed widths (layers+1 resnets, then nearest 2x
/// and a conv except at the last) → GroupNorm → SiLU → conv_out.
struct VAEDecoder: Sendable {
    var convIn: Conv2d
    var mid: VAEMidBlock
    var levels: [(resnets: [ResnetBlock2D], upsampler: Upsample2D?)]
    var convNormOut: GroupNorm, convOut: Conv2d

    init(_ store: WeightStore, config c: VAEConfig) throws {
        let reversed = Array(c.blockOutChannels.reversed())
        convIn = try Conv2d(store, "decoder.conv_in", inChannels: c.latentChannels, outChannels: reversed[0], kernel: 3, padding: 1)
        mid = try VAEMidBlock(store, "decoder.mid_block", channels: reversed[0], groups: c.normNumGroups,
                              addAttention: c.midBlockAddAttention)
        levels = try reversed.indices.map { i in
            let prev = reversed[max(i - 1, 0)]
            let resnets = try (0...c.layersPerBlock).map { j in
                try ResnetBlock2D(store, "decoder.up_blocks.\(i).resnets.\(j)", inChannels: j == 0 ? prev : reversed[i],
                                  outChannels: reversed[i], timeEmbeddingDim: nil, groups: c.normNumGroups, eps: 1e-6)
            }
            let up = i == reversed.count - 1 ? nil
                : try Upsample2D(store, "decoder.up_blocks.\(i).upsamplers.0", channels: reversed[i])
            return (resnets, up)
        }
        let c0 = c.blockOutChannels[0]
        convNormOut = try GroupNorm(store, "decoder.conv_norm_out", groups: c.normNumGroups, channels: c0, eps: 1e-6)
        convOut = try Conv2d(store, "decoder.conv_out", inChannels: c0, outChannels: c.outChannels, kernel: 3, padding: 1)
    }

    func callAsFunction(_ z: Tensor) throws -> Tensor {
        var h = try mid(convIn(z))
        for level in levels {
            for resnet in level.resnets { h = try resnet(h, temb: nil) }
            if let up = level.upsampler { h = try up(h) }
        }
        return try convOut(convNormOut(h).silu())
    }
}
