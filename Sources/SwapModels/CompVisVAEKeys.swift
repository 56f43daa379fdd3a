import Foundation

/// Names of VAE weights in single-file CompVis/ldm checkpoints (`first_stage_model.…`).
/// Matches diffusers `loaders/single_file_utils.py` `convert_ldm_vae_checkpoint` (spec §1.3),
/// written in the direction `WeightStore.rename` needs: from the diffusers name the model asks
/// for to the key in the file. Indices are parsed exactly. The ldm attention's 1x1-conv q/k/v
/// weights are accepted by `VAEAttention` as they are.
public struct CompVisVAEKeys: Sendable {
    /// Number of resolution levels (decoder up blocks are stored in reverse order in ldm files).
    public let levels: Int
    public let prefix: String

    public init(config: VAEConfig, prefix: String = "first_stage_model.") {
        levels = config.blockOutChannels.count
        self.prefix = prefix
    }

    private static let attentionLeaves = ["group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out": "proj_out"]

    /// The ldm key for diffusers name `name` (unknown names keep their form, with the prefix).
    public func ldmName(_ name: String) -> String {
        var parts = name.split(separator: ".").map(String.init)
        guard parts.count >= 2, parts[0] == "encoder" || parts[0] == "decoder" else { return prefix + name }
        let side = parts[0]
        func resnetLeaf(_ leaf: String) -> String { leaf == "conv_shortcut" ? "nin_shortcut" : leaf }
        var mapped: [String]? = nil
        switch parts[1] {
        case "conv_norm_out": mapped = [side, "norm_out"] + parts.dropFirst(2)
        case "down_blocks" where side == "encoder" && parts.count >= 5:
            guard let i = Int(parts[2]) else { break }
            if parts[3] == "resnets", let j = Int(parts[4]), parts.count >= 6 {
                mapped = [side, "down", "\(i)", "block", "\(j)", resnetLeaf(parts[5])] + parts.dropFirst(6)
            } else if parts[3] == "downsamplers", parts[4] == "0" {
                mapped = [side, "down", "\(i)", "downsample"] + parts.dropFirst(5)
            }
        case "up_blocks" where side == "decoder" && parts.count >= 5:
            guard let k = Int(parts[2]), k >= 0, k < levels else { break }
            let ldm = levels - 1 - k
            if parts[3] == "resnets", let j = Int(parts[4]), parts.count >= 6 {
                mapped = [side, "up", "\(ldm)", "block", "\(j)", resnetLeaf(parts[5])] + parts.dropFirst(6)
            } else if parts[3] == "upsamplers", parts[4] == "0" {
                mapped = [side, "up", "\(ldm)", "upsample"] + parts.dropFirst(5)
            }
        case "mid_block" where parts.count >= 5:
            if parts[2] == "resnets", let j = Int(parts[3]), j == 0 || j == 1 {
                mapped = [side, "mid", "block_\(j + 1)", resnetLeaf(parts[4])] + parts.dropFirst(5)
            } else if parts[2] == "attentions", parts[3] == "0", let leaf = Self.attentionLeaves[parts[4]] {
                // to_out.0.weight → proj_out.weight
                let rest = parts[4] == "to_out" && parts.count >= 6 && parts[5] == "0" ? parts.dropFirst(6) : parts.dropFirst(5)
                mapped = [side, "mid", "attn_1", leaf] + rest
            }
        default: break
        }
        if let mapped { parts = mapped }
        return prefix + parts.joined(separator: ".")
    }
}

extension AutoencoderKL {
    /// Loads the VAE from a single-file CompVis checkpoint (`first_stage_model.*`). The config is
    /// not in the file; the default is Stable Diffusion's (`VAEConfig.stableDiffusion`).
    public init(singleFile path: String, config: VAEConfig = .stableDiffusion) throws {
        let keys = CompVisVAEKeys(config: config)
        try self.init(config: config, store: WeightStore(paths: [path], rename: keys.ldmName))
    }
}

extension VAEConfig {
    /// The VAE of Stable Diffusion 1.x and 2.x: 128, 256, 512, 512 channels, 2 resnets per level,
    /// 4 latent channels, 32 groups, scaling factor 0.18215.
    public static var stableDiffusion: VAEConfig {
        var c = VAEConfig()
        c.blockOutChannels = [128, 256, 512, 512]
        c.layersPerBlock = 2
        return c
    }
}
