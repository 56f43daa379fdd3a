import Foundation
import SwapIO
import SwapModels
import SwapTensor

// LoRA (Hu et al. 2021) weights merged into the UNet's attention projections, as diffusers'
// `load_lora_weights` + `set_adapters([name], [scale])` / `fuse_lora(lora_scale)` apply them:
// W ← W + scale · (alpha / rank) · up · down for every to_q, to_k, to_v and to_out.0. Key layouts:
// diffusers/PEFT (`unet.<module>.lora_A.weight` / `.lora_B.weight`, alpha = rank), the older
// diffusers attention-processor layout (`<attn>.processor.to_q_lora.down.weight` / `.up.weight`)
// and kohya sd-scripts (`lora_unet_<module with _>.lora_down.weight` / `.lora_up.weight` /
// `.alpha`). Text-encoder LoRA and LoRA on other UNet layers (feed-forward, proj_in/out, convs)
// are not supported yet and are reported by name.

/// One low-rank update of a linear layer.
public struct LoRAUpdate: Sendable {
    /// [rank, in] and [out, rank].
    public var down: Tensor, up: Tensor
    /// nil: alpha = rank (a factor of 1).
    public var alpha: Float?
}

public enum LoRA {
    /// The projections of every UNet attention layer by their diffusers module name
    /// ("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q").
    static func moduleNames(_ unet: UNet2DConditionModel) -> [String: (layer: String, projection: String)] {
        var names: [String: (String, String)] = [:]
        for info in unet.attentionLayers {
            let block: String
            switch info.place {
            case .down: block = "down_blocks.\(info.block).attentions.\(info.attention)"
            case .mid: block = "mid_block.attentions.\(info.attention)"
            case .up: block = "up_blocks.\(info.block).attentions.\(info.attention)"
            }
            let attn = "\(block).transformer_blocks.\(info.transformerBlock).\(info.kind == .selfAttention ? "attn1" : "attn2")"
            for p in ["to_q", "to_k", "to_v", "to_out.0"] { names["\(attn).\(p)"] = (info.path, p) }
        }
        return names
    }

    /// Reads the updates of a LoRA file's tensors, keyed by module name. Throws naming the keys
    /// that target layers this loader does not handle.
    public static func updates(_ tensors: [String: Tensor], unet: UNet2DConditionModel) throws -> [String: LoRAUpdate] {
        let modules = moduleNames(unet)
        var kohya: [String: String] = [:]
        for name in modules.keys { kohya["lora_unet_" + name.replacingOccurrences(of: ".", with: "_")] = name }
        var down: [String: Tensor] = [:], up: [String: Tensor] = [:], alpha: [String: Float] = [:]
        var unsupported: [String] = []
        for (key, value) in tensors {
            func take(_ suffix: String, _ module: (String) -> String?) -> String? {
                guard key.hasSuffix(suffix) else { return nil }
                return module(String(key.dropLast(suffix.count)))
            }
            if let m = take(".lora_A.weight", { $0.hasPrefix("unet.") ? String($0.dropFirst(5)) : $0 }) ?? take(".lora.down.weight", { $0 }) {
                down[m] = value
            } else if let m = take(".lora_B.weight", { $0.hasPrefix("unet.") ? String($0.dropFirst(5)) : $0 }) ?? take(".lora.up.weight", { $0 }) {
                up[m] = value
            } else if let m = take("_lora.down.weight", { $0.replacingOccurrences(of: ".processor.", with: ".") }) {
                down[m.hasSuffix("to_out") ? m + ".0" : m] = value
            } else if let m = take("_lora.up.weight", { $0.replacingOccurrences(of: ".processor.", with: ".") }) {
                up[m.hasSuffix("to_out") ? m + ".0" : m] = value
            } else if let m = take(".lora_down.weight", { kohya[$0] ?? $0 }) {
                down[m] = value
            } else if let m = take(".lora_up.weight", { kohya[$0] ?? $0 }) {
                up[m] = value
            } else if let m = take(".alpha", { kohya[$0] ?? $0 }) {
                alpha[m] = value.scalars.first
            } else {
                unsupported.append(key)
            }
        }
        var result: [String: LoRAUpdate] = [:]
        for (module, d) in down {
            guard modules[module] != nil else { unsupported.append(module); continue }
            guard let u = up[module] else { throw EditingError("lora: \(module) has a down factor but no up factor") }
            result[module] = LoRAUpdate(down: d, up: u, alpha: alpha[module])
        }
        unsupported += up.keys.filter { down[$0] == nil }
        guard unsupported.isEmpty else {
            let shown = unsupported.sorted().prefix(3).joined(separator: ", ")
            throw EditingError("lora: \(unsupported.count) weights target layers other than the UNet's attention projections (not supported yet): \(shown)\(unsupported.count > 3 ? ", …" : "")")
        }
        guard !result.isEmpty else { throw EditingError("lora: no LoRA weights found") }
        return result
    }
}

extension StableDiffusion {
    /// A copy with LoRA updates merged into the UNet: W + scale·(alpha/rank)·up·down.
    public func addingLoRA(_ updates: [String: LoRAUpdate], scale: Float = 1) throws -> StableDiffusion {
        let modules = LoRA.moduleNames(unet)
        var byLayer: [String: [(String, LoRAUpdate)]] = [:]
        for (module, update) in updates {
            guard let target = modules[module] else { throw EditingError("lora: no attention projection \(module)") }
            byLayer[target.layer, default: []].append((target.projection, update))
        }
        var copy = self
        try copy.unet.updateAttentionLayers { info, layer in
            for (projection, u) in byLayer[info.path] ?? [] {
                func merged(_ linear: Linear) throws -> Linear {
                    let (out, inFeatures) = (linear.weight.shape[0], linear.weight.shape[1])
                    guard u.down.rank == 2, u.up.rank == 2, u.down.shape[1] == inFeatures, u.up.shape[0] == out, u.up.shape[1] == u.down.shape[0] else {
                        throw EditingError("lora: \(info.path) \(projection): factors \(formatShape(u.up.shape)) · \(formatShape(u.down.shape)) do not fit a [\(out), \(inFeatures)] weight")
                    }
                    let rank = Float(u.down.shape[0])
                    let factor = scale * (u.alpha ?? rank) / rank
                    var result = linear
                    result.weight = try linear.weight + u.up.matmul(u.down) * factor
                    return result
                }
                switch projection {
                case "to_q": layer.toQ = try merged(layer.toQ)
                case "to_k": layer.toK = try merged(layer.toK)
                case "to_v": layer.toV = try merged(layer.toV)
                default: layer.toOut = try merged(layer.toOut)
                }
            }
        }
        return copy
    }

    /// Loads a LoRA `.safetensors` file and merges it (``LoRA/updates(_:unet:)``).
    public func addingLoRA(contentsOf path: String, scale: Float = 1) throws -> StableDiffusion {
        let tensors: [String: Tensor]
        do { tensors = try SafeTensors.load(path) } catch { throw EditingError("lora: \(path): \(error)") }
        return try addingLoRA(LoRA.updates(tensors, unet: unet), scale: scale)
    }
}
