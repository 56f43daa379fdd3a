import Foundation

/// The configuration of a `UNet2DConditionModel`, read from diffusers' `unet/config.json`
/// (`models/unets/unet_2d_condition.py` `__init__`), with the class defaults for missing keys.
///
/// Only the options Stable Diffusion 1.x/2.x use are supported; a config that turns on anything
/// else (class embeddings, other block types, scale-shift resnets) is refused with a message
/// naming the key rather than silently computing something different.
public struct UNetConfig: Sendable, Equatable {
    public var inChannels = 4
    public var outChannels = 4
    public var flipSinToCos = true
    public var freqShift: Float = 0
    public var downBlockTypes = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
    public var midBlockType = "UNetMidBlock2DCrossAttn"
    public var upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
    public var blockOutChannels = [320, 640, 1280, 1280]
    /// Resnets per down block (up blocks have one more), one entry per down block.
    public var layersPerBlock = [2, 2, 2, 2]
    public var downsamplePadding = 1
    public var midBlockScaleFactor: Float = 1
    public var normNumGroups = 32
    public var normEps: Float = 1e-5
    /// Cross-attention (text) width, one entry per down block.
    public var crossAttentionDim = [1280, 1280, 1280, 1280]
    /// Transformer blocks inside each Transformer2DModel, one entry per down block.
    public var transformerLayersPerBlock = [1, 1, 1, 1]
    /// Heads per down block. diffusers fills this from the config's `attention_head_dim`,
    /// which despite its name is the head **count** (spec §3.2).
    public var attentionHeads = [8, 8, 8, 8]
    public var useLinearProjection = false
    /// fp16-only options: no effect in Float32, kept so configs round-trip.
    public var upcastAttention = false
    public var sampleSize = 64

    /// The SD 1.x defaults.
    public init() {}

    /// Reads `config.json`.
    public init(contentsOf path: String) throws {
        try self.init(ModelConfigJSON(path: path))
    }

    /// Parses config JSON bytes (`file` names it in errors).
    public init(jsonData: Data, file: String = "config.json") throws {
        try self.init(ModelConfigJSON(data: jsonData, file: file))
    }

    init(_ json: ModelConfigJSON) throws {
        let file = json.file
        inChannels = try json.int("in_channels", default: inChannels)
        outChannels = try json.int("out_channels", default: outChannels)
        flipSinToCos = try json.bool("flip_sin_to_cos", default: flipSinToCos)
        freqShift = try json.float("freq_shift", default: freqShift)
        downBlockTypes = try json.strings("down_block_types", default: downBlockTypes)
        midBlockType = try json.string("mid_block_type", default: midBlockType)
        upBlockTypes = try json.strings("up_block_types", default: upBlockTypes)
        blockOutChannels = try json.ints("block_out_channels", default: blockOutChannels)
        let n = downBlockTypes.count
        layersPerBlock = try json.ints("layers_per_block", default: [2], count: n)
        downsamplePadding = try json.int("downsample_padding", default: downsamplePadding)
        midBlockScaleFactor = try json.float("mid_block_scale_factor", default: midBlockScaleFactor)
        normNumGroups = try json.int("norm_num_groups", default: normNumGroups)
        normEps = try json.float("norm_eps", default: normEps)
        crossAttentionDim = try json.ints("cross_attention_dim", default: [1280], count: n)
        transformerLayersPerBlock = try json.ints("transformer_layers_per_block", default: [1], count: n)
        if json.has("num_attention_heads") {
            throw ModelLoadError("\(file): 'num_attention_heads' is set; diffusers refuses it for UNet2DConditionModel (use attention_head_dim)")
        }
        attentionHeads = try json.ints("attention_head_dim", default: [8], count: n)
        useLinearProjection = try json.bool("use_linear_projection", default: useLinearProjection)
        upcastAttention = try json.bool("upcast_attention", default: upcastAttention)
        sampleSize = try json.int("sample_size", default: sampleSize)
        for (i, list) in [layersPerBlock, crossAttentionDim, transformerLayersPerBlock, attentionHeads].enumerated() where list.count == 1 {
            switch i {
            case 0: layersPerBlock = Array(repeating: list[0], count: n)
            case 1: crossAttentionDim = Array(repeating: list[0], count: n)
            case 2: transformerLayersPerBlock = Array(repeating: list[0], count: n)
            default: attentionHeads = Array(repeating: list[0], count: n)
            }
        }

        // Options SD never uses: refuse them instead of ignoring them.
        let unsupported = ["class_embed_type", "addition_embed_type", "encoder_hid_dim", "time_cond_proj_dim",
                           "time_embedding_dim", "timestep_post_act", "num_class_embeds", "time_embedding_act_fn",
                           "cross_attention_norm"]
        for key in unsupported where json.has(key) {
            throw ModelLoadError("\(file): '\(key)' is not supported (Stable Diffusion 1.x/2.x UNets leave it null)")
        }
        let expected: [(String, String)] = [("act_fn", "silu"), ("resnet_time_scale_shift", "default"),
                                            ("time_embedding_type", "positional")]
        for (key, value) in expected {
            let got = try json.string(key, default: value)
            if got != value { throw ModelLoadError("\(file): '\(key)' must be \"\(value)\" (got \"\(got)\")") }
        }
        if try json.bool("center_input_sample", default: false) || json.bool("dual_cross_attention", default: false)
            || json.bool("only_cross_attention", default: false) || json.bool("resnet_skip_time_act", default: false) {
            throw ModelLoadError("\(file): center_input_sample, dual_cross_attention, only_cross_attention and resnet_skip_time_act must be false")
        }
        if try json.int("conv_in_kernel", default: 3) != 3 || json.int("conv_out_kernel", default: 3) != 3 {
            throw ModelLoadError("\(file): conv_in_kernel and conv_out_kernel must be 3")
        }
        if try json.float("resnet_out_scale_factor", default: 1) != 1 {
            throw ModelLoadError("\(file): resnet_out_scale_factor must be 1")
        }
        try validate(file: file)
    }

    /// Checks the lists agree in length and the block types are known.
    public func validate(file: String = "config") throws {
        let n = downBlockTypes.count
        guard n > 0, upBlockTypes.count == n, blockOutChannels.count == n else {
            throw ModelLoadError("\(file): down_block_types, up_block_types and block_out_channels must have the same non-zero length")
        }
        for (name, list) in [("layers_per_block", layersPerBlock), ("cross_attention_dim", crossAttentionDim),
                             ("transformer_layers_per_block", transformerLayersPerBlock), ("attention_head_dim", attentionHeads)]
        where list.count != n {
            throw ModelLoadError("\(file): '\(name)' has \(list.count) entries, expected \(n) (one per down block)")
        }
        for t in downBlockTypes where t != "CrossAttnDownBlock2D" && t != "DownBlock2D" {
            throw ModelLoadError("\(file): unsupported down block type '\(t)'")
        }
        for t in upBlockTypes where t != "CrossAttnUpBlock2D" && t != "UpBlock2D" {
            throw ModelLoadError("\(file): unsupported up block type '\(t)'")
        }
        guard midBlockType == "UNetMidBlock2DCrossAttn" else {
            throw ModelLoadError("\(file): unsupported mid block type '\(midBlockType)'")
        }
        for (i, c) in blockOutChannels.enumerated() {
            guard c > 0, c % normNumGroups == 0 else {
                throw ModelLoadError("\(file): block_out_channels[\(i)] = \(c) is not a multiple of norm_num_groups \(normNumGroups)")
            }
            // Heads matter only where a Transformer2DModel uses this entry: cross-attention
            // down block i, the up block at the mirrored position, and the mid block (last).
            let n = blockOutChannels.count
            let usesHeads = downBlockTypes[i] == "CrossAttnDownBlock2D" || upBlockTypes[n - 1 - i] == "CrossAttnUpBlock2D" || i == n - 1
            guard !usesHeads || (attentionHeads[i] > 0 && c % attentionHeads[i] == 0) else {
                throw ModelLoadError("\(file): block_out_channels[\(i)] = \(c) is not divisible by its head count \(attentionHeads[i])")
            }
        }
        guard blockOutChannels[0] % 2 == 0 else {
            throw ModelLoadError("\(file): block_out_channels[0] must be even (timestep embedding width)")
        }
    }

    /// The time-embedding width, 4 × block_out_channels[0].
    public var timeEmbeddingDim: Int { blockOutChannels[0] * 4 }
}
