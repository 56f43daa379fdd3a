import Foundation
import SwapTensor

/// The Stable Diffusion 1.x/2.x noise predictor. Matches diffusers
/// `models/unets/unet_2d_condition.py` `UNet2DConditionModel` (positional time embedding, no
/// class/addition embeddings, default resnets), in Float32.
///
/// Forward: time features → time MLP → `conv_in` → down blocks (collecting skips) → mid block →
/// up blocks (consuming skips) → GroupNorm → SiLU → `conv_out`. Every attention layer offers
/// its calls to the hooks passed to `callAsFunction` (see `AttentionHook`).
public struct UNet2DConditionModel: Sendable {
    public let config: UNetConfig
    /// Every attention layer, in forward order (`order` = index).
    public let attentionLayers: [AttentionLayerInfo]
    var timeEmbedding: TimestepEmbedding
    var convIn: Conv2d
    var downBlocks: [UNetDownBlock]
    var midBlock: UNetMidBlock
    var upBlocks: [UNetUpBlock]
    var convNormOut: GroupNorm
    var convOut: Conv2d

    /// Builds the model from `store`, whose names are diffusers' (`conv_in.weight`, …).
    public init(config: UNetConfig, store: WeightStore) throws {
        try config.validate()
        self.config = config
        let c0 = config.blockOutChannels[0]
        timeEmbedding = try TimestepEmbedding(store, channels: c0, embeddingDim: config.timeEmbeddingDim,
                                              flipSinToCos: config.flipSinToCos, freqShift: config.freqShift)
        convIn = try Conv2d(store, "conv_in", inChannels: config.inChannels, outChannels: c0, kernel: 3, padding: 1)
        var namer = AttentionLayerNamer()
        var blocks: [UNetDownBlock] = []
        for i in config.blockOutChannels.indices {
            blocks.append(try UNetDownBlock(store, index: i, config: config,
                                            inChannels: i == 0 ? c0 : config.blockOutChannels[i - 1], namer: &namer))
        }
        downBlocks = blocks
        midBlock = try UNetMidBlock(store, config: config, namer: &namer)
        upBlocks = try config.blockOutChannels.indices.map { try UNetUpBlock(store, index: $0, config: config, namer: &namer) }
        convNormOut = try GroupNorm(store, "conv_norm_out", groups: config.normNumGroups, channels: c0, eps: config.normEps)
        convOut = try Conv2d(store, "conv_out", inChannels: c0, outChannels: config.outChannels, kernel: 3, padding: 1)
        attentionLayers = namer.layers
    }

    /// Loads a diffusers `unet/` folder: `config.json` and `diffusion_pytorch_model.safetensors`
    /// (or the sharded index's files).
    public init(directory: String) throws {
        let config = try UNetConfig(contentsOf: (directory as NSString).appendingPathComponent("config.json"))
        try self.init(config: config, store: WeightStore(paths: diffusersWeightFiles(in: directory)))
    }

    /// The predicted noise (or v) [B, out, H, W] for `latent` [B, in, H, W] at `timesteps`
    /// (one value for every row, or one per row) given text states `encoderHiddenStates`
    /// [B, L, cross_attention_dim].
    ///
    /// - Parameters:
    ///   - hooks: attention hooks, applied in order at every attention layer.
    ///   - rowRoles: the role of each batch row, as the hooks see it; nil means every row is
    ///     conditional branch 0. Must have B entries when given.
    public func callAsFunction(_ latent: Tensor, timesteps: [Float], encoderHiddenStates context: Tensor,
                               hooks: [any AttentionHook] = [], rowRoles: [RowRole]? = nil) throws -> Tensor {
        try checkInputs(latent, timesteps: timesteps, context: context, rowRoles: rowRoles)
        let b = latent.shape[0]
        let perRow = timesteps.count == 1 ? Array(repeating: timesteps[0], count: b) : timesteps
        let environment = hooks.isEmpty ? nil
            : AttentionEnvironment(hooks: hooks, rows: rowRoles ?? Array(repeating: .conditional, count: b), timesteps: perRow)

        let temb = try timeEmbedding(perRow)
        var h = try convIn(latent)
        var skips = [h]
        for block in downBlocks {
            h = try block(h, temb: temb, context: context, environment: environment, skips: &skips)
        }
        h = try midBlock(h, temb: temb, context: context, environment: environment)

        // When H or W is not a multiple of 2^upsamplers, each upsampler targets the size of the
        // next skip instead of doubling (diffusers' forward_upsample_size).
        let factor = 1 << (upBlocks.count - 1)
        let forwardSize = latent.shape[2] % factor != 0 || latent.shape[3] % factor != 0
        for block in upBlocks {
            var size: (height: Int, width: Int)? = nil
            let remaining = skips.count - block.resnets.count
            if forwardSize, block.upsampler != nil, remaining > 0 {
                size = (skips[remaining - 1].shape[2], skips[remaining - 1].shape[3])
            }
            h = try block(h, temb: temb, context: context, environment: environment, skips: &skips, upsampleSize: size)
        }
        return try convOut(convNormOut(h).silu())
    }

    /// Same as `callAsFunction(_:timesteps:…)` with one timestep for every row.
    public func callAsFunction(_ latent: Tensor, timestep: Float, encoderHiddenStates context: Tensor,
                               hooks: [any AttentionHook] = [], rowRoles: [RowRole]? = nil) throws -> Tensor {
        try self(latent, timesteps: [timestep], encoderHiddenStates: context, hooks: hooks, rowRoles: rowRoles)
    }

    /// Visits every attention layer (in forward order) with its description, letting `body`
    /// replace its projections, e.g. with `requiringGrad()` copies to take gradients with
    /// respect to cross-attention weights, or with fine-tuned weights.
    public mutating func updateAttentionLayers(_ body: (AttentionLayerInfo, inout AttentionLayer) throws -> Void) throws {
        func visit(_ t: inout Transformer2DModel) throws {
            for k in t.blocks.indices {
                try body(t.blocks[k].selfInfo, &t.blocks[k].attn1)
                try body(t.blocks[k].crossInfo, &t.blocks[k].attn2)
            }
        }
        for i in downBlocks.indices { for j in downBlocks[i].attentions.indices { try visit(&downBlocks[i].attentions[j]) } }
        try visit(&midBlock.attention)
        for i in upBlocks.indices { for j in upBlocks[i].attentions.indices { try visit(&upBlocks[i].attentions[j]) } }
    }

    /// Validates shapes before any work, with messages naming the argument.
    func checkInputs(_ latent: Tensor, timesteps: [Float], context: Tensor, rowRoles: [RowRole]?) throws {
        let c = config
        guard latent.rank == 4 else {
            throw ModelLoadError("unet: latent has shape \(formatShape(latent.shape)), expected [B,\(c.inChannels),H,W]")
        }
        guard latent.shape[1] == c.inChannels else {
            throw ModelLoadError("unet: latent has shape \(formatShape(latent.shape)), expected \(c.inChannels) channels")
        }
        let b = latent.shape[0]
        guard b > 0, latent.shape[2] > 0, latent.shape[3] > 0 else {
            throw ModelLoadError("unet: latent has shape \(formatShape(latent.shape)), which is empty")
        }
        guard timesteps.count == 1 || timesteps.count == b else {
            throw ModelLoadError("unet: \(timesteps.count) timesteps for a batch of \(b) (give 1 or \(b))")
        }
        guard timesteps.allSatisfy(\.isFinite) else { throw ModelLoadError("unet: timesteps must be finite") }
        let dim = c.crossAttentionDim[0]
        guard context.rank == 3, context.shape[0] == b, context.shape[2] == dim, context.shape[1] > 0 else {
            throw ModelLoadError("unet: encoder hidden states have shape \(formatShape(context.shape)), expected [\(b),L,\(dim)]")
        }
        if let rowRoles, rowRoles.count != b {
            throw ModelLoadError("unet: \(rowRoles.count) row roles for a batch of \(b)")
        }
    }
}

/// The weight files of a diffusers model folder: the single safetensors file, or the shards
/// listed by its index.
func diffusersWeightFiles(in directory: String, base: String = "diffusion_pytorch_model") throws -> [String] {
    let folder = directory as NSString
    let single = folder.appendingPathComponent(base + ".safetensors")
    if FileManager.default.fileExists(atPath: single) { return [single] }
    let indexPath = folder.appendingPathComponent(base + ".safetensors.index.json")
    guard let data = FileManager.default.contents(atPath: indexPath) else {
        throw ModelLoadError("\(directory): no \(base).safetensors (or its .index.json)")
    }
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let map = object["weight_map"] as? [String: String] else {
        throw ModelLoadError("\(indexPath): no 'weight_map' object")
    }
    return Set(map.values).sorted().map { folder.appendingPathComponent($0) }
}
