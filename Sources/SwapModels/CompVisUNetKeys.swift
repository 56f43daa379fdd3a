import Foundation

/// Names of UNet weights in single-file CompVis/ldm checkpoints (`model.diffusion_model.…`).
/// Matches the mapping of diffusers `loaders/single_file_utils.py` `convert_ldm_unet_checkpoint`
/// (spec §1.3), written in the direction `WeightStore.rename` needs: from the diffusers name the
/// model asks for to the key stored in the file. Indices are parsed exactly, never by substring.
public struct CompVisUNetKeys: Sendable {
    /// Resnets per down level (ldm checkpoints use the same count at every level).
    public let layersPerBlock: Int
    /// Up levels whose blocks have attentions (their upsampler sits in slot 2, not 1).
    public let upBlocksWithAttention: Set<Int>
    public let prefix: String

    public init(config: UNetConfig, prefix: String = "model.diffusion_model.") {
        layersPerBlock = config.layersPerBlock.first ?? 2
        upBlocksWithAttention = Set(config.upBlockTypes.indices.filter { config.upBlockTypes[$0] == "CrossAttnUpBlock2D" })
        self.prefix = prefix
    }

    private static let resnetLeaves = ["norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
                                       "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"]

    /// The ldm key for diffusers name `name` (unknown names are returned with the prefix only,
    /// so the lookup fails with that key in the message).
    public func ldmName(_ name: String) -> String {
        let parts = name.split(separator: ".").map(String.init)
        let slots = layersPerBlock + 1
        func rest(_ from: Int) -> [String] { Array(parts.dropFirst(from)) }
        func resnet(_ tail: [String]) -> [String] {
            guard let first = tail.first, let mapped = Self.resnetLeaves[first] else { return tail }
            return mapped.split(separator: ".").map(String.init) + tail.dropFirst()
        }
        var mapped: [String]?
        switch parts.first {
        case "time_embedding" where parts.count >= 2:
            mapped = ["time_embed", parts[1] == "linear_1" ? "0" : parts[1] == "linear_2" ? "2" : parts[1]] + rest(2)
        case "conv_in": mapped = ["input_blocks", "0", "0"] + rest(1)
        case "conv_norm_out": mapped = ["out", "0"] + rest(1)
        case "conv_out": mapped = ["out", "2"] + rest(1)
        case "down_blocks" where parts.count >= 4:
            guard let b = Int(parts[1]), let s = Int(parts[3]) else { break }
            switch parts[2] {
            case "resnets": mapped = ["input_blocks", "\(1 + b * slots + s)", "0"] + resnet(rest(4))
            case "attentions": mapped = ["input_blocks", "\(1 + b * slots + s)", "1"] + rest(4)
            case "downsamplers" where parts.count >= 5 && parts[4] == "conv":
                mapped = ["input_blocks", "\(1 + b * slots + layersPerBlock)", "0", "op"] + rest(5)
            default: break
            }
        case "mid_block" where parts.count >= 3:
            guard let s = Int(parts[2]) else { break }
            if parts[1] == "resnets" { mapped = ["middle_block", s == 0 ? "0" : "2"] + resnet(rest(3)) }
            if parts[1] == "attentions" { mapped = ["middle_block", "1"] + rest(3) }
        case "up_blocks" where parts.count >= 4:
            guard let b = Int(parts[1]), let s = Int(parts[3]) else { break }
            switch parts[2] {
            case "resnets": mapped = ["output_blocks", "\(b * slots + s)", "0"] + resnet(rest(4))
            case "attentions": mapped = ["output_blocks", "\(b * slots + s)", "1"] + rest(4)
            case "upsamplers" where parts.count >= 5 && parts[4] == "conv":
                let slot = upBlocksWithAttention.contains(b) ? "2" : "1"
                mapped = ["output_blocks", "\(b * slots + layersPerBlock)", slot, "conv"] + rest(5)
            default: break
            }
        default: break
        }
        return prefix + (mapped ?? parts).joined(separator: ".")
    }
}

extension UNet2DConditionModel {
    /// Loads the UNet from a single-file CompVis checkpoint (`.safetensors` holding
    /// `model.diffusion_model.*`); the config is not in the file and must be given.
    public init(singleFile path: String, config: UNetConfig) throws {
        let keys = CompVisUNetKeys(config: config)
        try self.init(config: config, store: WeightStore(paths: [path], rename: keys.ldmName))
    }
}
