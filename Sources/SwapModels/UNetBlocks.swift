import SwapTensor

/// Hands out `AttentionLayerInfo`s in forward order while the UNet is built.
struct AttentionLayerNamer {
    private(set) var layers: [AttentionLayerInfo] = []

    /// The (self, cross) descriptions for transformer block `k` of attention `j` of a block.
    mutating func pair(place: AttentionPlace, block: Int, attention: Int, transformerBlock k: Int, depth: Int,
                       heads: Int, headDim: Int) -> (AttentionLayerInfo, AttentionLayerInfo) {
        let base = (place == .mid ? "mid" : "\(place.rawValue).\(block)") + ".attn.\(attention)" + (depth > 1 ? ".t\(k)" : "")
        func make(_ kind: AttentionKind) -> AttentionLayerInfo {
            let info = AttentionLayerInfo(path: base + "." + kind.rawValue, place: place, kind: kind, block: block,
                                          attention: attention, transformerBlock: k, heads: heads, headDim: headDim,
                                          order: layers.count)
            layers.append(info)
            return info
        }
        let s = make(.selfAttention)
        return (s, make(.crossAttention))
    }

    /// Loads a Transformer2DModel of the UNet at `prefix`, naming its layers.
    mutating func transformer(_ store: WeightStore, _ prefix: String, place: AttentionPlace, block: Int, attention: Int,
                              channels: Int, heads: Int, contextDim: Int, depth: Int,
                              config c: UNetConfig) throws -> Transformer2DModel {
        try Transformer2DModel(store, prefix, channels: channels, heads: heads, contextDim: contextDim, depth: depth,
                               groups: c.normNumGroups, linearProjection: c.useLinearProjection) { k in
            pair(place: place, block: block, attention: attention, transformerBlock: k, depth: depth,
                 heads: heads, headDim: channels / heads)
        }
    }
}

/// `down_blocks.i`. Matches diffusers `models/unets/unet_2d_blocks.py` `CrossAttnDownBlock2D`
/// (with attentions) and `DownBlock2D` (without): resnets (each followed by its
/// Transformer2DModel) then an optional stride-2 downsampler. Every output is a skip.
struct UNetDownBlock: Sendable {
    var resnets: [ResnetBlock2D] = []
    var attentions: [Transformer2DModel] = []
    var downsampler: Downsample2D?

    init(_ store: WeightStore, index i: Int, config c: UNetConfig, inChannels: Int, namer: inout AttentionLayerNamer) throws {
        let prefix = "down_blocks.\(i)"
        let out = c.blockOutChannels[i]
        for j in 0..<c.layersPerBlock[i] {
            resnets.append(try ResnetBlock2D(store, "\(prefix).resnets.\(j)", inChannels: j == 0 ? inChannels : out,
                                             outChannels: out, timeEmbeddingDim: c.timeEmbeddingDim,
                                             groups: c.normNumGroups, eps: c.normEps))
            if c.downBlockTypes[i] == "CrossAttnDownBlock2D" {
                attentions.append(try namer.transformer(
                    store, "\(prefix).attentions.\(j)", place: .down, block: i, attention: j, channels: out,
                    heads: c.attentionHeads[i], contextDim: c.crossAttentionDim[i], depth: c.transformerLayersPerBlock[i], config: c))
            }
        }
        downsampler = i == c.blockOutChannels.count - 1 ? nil
            : try Downsample2D(store, "\(prefix).downsamplers.0", channels: out, padding: c.downsamplePadding)
    }

    /// Returns the block output and appends its skips.
    func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor, environment: AttentionEnvironment?,
                        skips: inout [Tensor]) throws -> Tensor {
        var h = x
        for (j, resnet) in resnets.enumerated() {
            h = try resnet(h, temb: temb)
            if !attentions.isEmpty { h = try attentions[j](h, context: context, environment: environment) }
            skips.append(h)
        }
        if let downsampler {
            h = try downsampler(h)
            skips.append(h)
        }
        return h
    }
}

/// `mid_block`. Matches diffusers `unet_2d_blocks.py` `UNetMidBlock2DCrossAttn`:
/// resnet → Transformer2DModel → resnet at the last level's width, heads from the last entry.
struct UNetMidBlock: Sendable {
    var resnet0: ResnetBlock2D, attention: Transformer2DModel, resnet1: ResnetBlock2D

    init(_ store: WeightStore, config c: UNetConfig, namer: inout AttentionLayerNamer) throws {
        let ch = c.blockOutChannels[c.blockOutChannels.count - 1]
        let last = c.blockOutChannels.count - 1
        resnet0 = try ResnetBlock2D(store, "mid_block.resnets.0", inChannels: ch, outChannels: ch,
                                    timeEmbeddingDim: c.timeEmbeddingDim, groups: c.normNumGroups, eps: c.normEps)
        attention = try namer.transformer(store, "mid_block.attentions.0", place: .mid, block: 0, attention: 0, channels: ch,
                                          heads: c.attentionHeads[last], contextDim: c.crossAttentionDim[last],
                                          depth: c.transformerLayersPerBlock[last], config: c)
        resnet1 = try ResnetBlock2D(store, "mid_block.resnets.1", inChannels: ch, outChannels: ch,
                                    timeEmbeddingDim: c.timeEmbeddingDim, groups: c.normNumGroups, eps: c.normEps)
    }

    func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor, environment: AttentionEnvironment?) throws -> Tensor {
        let h = try attention(resnet0(x, temb: temb), context: context, environment: environment)
        return try resnet1(h, temb: temb)
    }
}

/// `up_blocks.i`. Matches diffusers `unet_2d_blocks.py` `CrossAttnUpBlock2D` / `UpBlock2D`:
/// layers+1 resnets, each taking [hidden, popped skip] concatenated on channels, each followed
/// by its Transformer2DModel, then an optional upsampler.
struct UNetUpBlock: Sendable {
    var resnets: [ResnetBlock2D] = []
    var attentions: [Transformer2DModel] = []
    var upsampler: Upsample2D?

    init(_ store: WeightStore, index i: Int, config c: UNetConfig, namer: inout AttentionLayerNamer) throws {
        let prefix = "up_blocks.\(i)"
        let n = c.blockOutChannels.count
        let reversed = Array(c.blockOutChannels.reversed())
        let out = reversed[i]
        let prev = reversed[Swift.max(i - 1, 0)]
        let input = reversed[Swift.min(i + 1, n - 1)]
        // Per-block lists are reversed on the way up (diffusers reverses heads, layers, dims).
        let r = n - 1 - i
        let layers = c.layersPerBlock[r] + 1
        for j in 0..<layers {
            let skipChannels = j == layers - 1 ? input : out
            let resIn = j == 0 ? prev : out
            resnets.append(try ResnetBlock2D(store, "\(prefix).resnets.\(j)", inChannels: resIn + skipChannels,
                                             outChannels: out, timeEmbeddingDim: c.timeEmbeddingDim,
                                             groups: c.normNumGroups, eps: c.normEps))
            if c.upBlockTypes[i] == "CrossAttnUpBlock2D" {
                attentions.append(try namer.transformer(
                    store, "\(prefix).attentions.\(j)", place: .up, block: i, attention: j, channels: out,
                    heads: c.attentionHeads[r], contextDim: c.crossAttentionDim[r], depth: c.transformerLayersPerBlock[r], config: c))
            }
        }
        upsampler = i == n - 1 ? nil : try Upsample2D(store, "\(prefix).upsamplers.0", channels: out)
    }

    /// Consumes `resnets.count` skips from the end of `skips`; `upsampleSize` is the spatial
    /// size the upsampler must produce (nil: 2x).
    func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor, environment: AttentionEnvironment?,
                        skips: inout [Tensor], upsampleSize: (height: Int, width: Int)?) throws -> Tensor {
        var h = x
        for (j, resnet) in resnets.enumerated() {
            guard let skip = skips.popLast() else { throw TensorError("unet", "ran out of skip connections") }
            h = try resnet(Tensor.concat([h, skip], axis: 1), temb: temb)
            if !attentions.isEmpty { h = try attentions[j](h, context: context, environment: environment) }
        }
        if let upsampler { h = try upsampler(h, size: upsampleSize) }
        return h
    }
}
