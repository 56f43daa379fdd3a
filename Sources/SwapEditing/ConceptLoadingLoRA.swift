import Foundation
import SwapIO
import SwapModels
import SwapTensor

// LoRA (Hu et al. 2021) and LoCon weights merged into the UNet and the CLIP text encoder, as
// diffusers' `load_lora_weights` + `set_adapters([name], [scale])` / `fuse_lora(lora_scale)`
// (peft `LoraLayer.merge`) apply them: W ← W + scale · (alpha / rank) · up · down for any Linear
// or Conv2d, with a conv's down factor of the layer's kernel ([rank, in, k, k]) and a 1x1 up
// factor ([out, rank, 1, 1]), whose product reshaped to [out, in, k, k] is exactly the two
// convolutions in sequence. Key layouts:
// - diffusers/PEFT: `unet.<module>.lora_A.weight` / `.lora_B.weight` and
//   `text_encoder.<module>.…` (alpha = rank unless a `<module>.alpha` is given), the older
//   `.lora.down/.lora.up` and `.lora_linear_layer.down/.up`, and the attention-processor layout
//   (`<attn>.processor.to_q_lora.down.weight`);
// - kohya sd-scripts: `lora_unet_<module with _>` and `lora_te_<module with _>` with
//   `.lora_down.weight` / `.lora_up.weight` / `.alpha`.
// Module names are diffusers' (UNet) and transformers' (`text_model.encoder.layers.N.…`);
// `ModuleWeights.swift` lists them. Keys of other kinds (LoHa, LoKr, DoRA, SDXL's te1/te2) are
// reported by name.

/// One low-rank update of a Linear or Conv2d weight.
public struct LoRAUpdate: Sendable {
    /// [rank, in] (or [rank, in, k, k]) and [out, rank] (or [out, rank, 1, 1]).
    public var down: Tensor, up: Tensor
    /// nil: alpha = rank (a factor of 1).
    public var alpha: Float?
}

public enum LoRA {
    /// The weight shape of every Linear and Conv2d a LoRA may target, keyed "unet.<module>" or
    /// "text_encoder.<module>".
    public static func moduleShapes(_ model: StableDiffusion) throws -> [String: [Int]] {
        var shapes: [String: [Int]] = [:]
        var unet = model.unet, text = model.textEncoder
        try unet.updateModuleWeights { name, weight in shapes["unet." + name] = weight.shape }
        try text.updateModuleWeights { name, weight in shapes["text_encoder." + name] = weight.shape }
        return shapes
    }

    /// The factor kind a key's suffix names, and the key without it.
    private enum Part { case down, up, alpha }
    private static let suffixes: [(String, Part)] = [
        (".lora_A.weight", .down), (".lora_B.weight", .up),
        (".lora_linear_layer.down.weight", .down), (".lora_linear_layer.up.weight", .up),
        (".lora.down.weight", .down), (".lora.up.weight", .up),
        ("_lora.down.weight", .down), ("_lora.up.weight", .up),
        (".lora_down.weight", .down), (".lora_up.weight", .up),
        (".alpha", .alpha),
    ]

    /// Reads the updates of a LoRA file's tensors, keyed like ``moduleShapes(_:)``. Throws naming
    /// the keys that target no layer of this model or are of a kind this loader does not read.
    public static func updates(_ tensors: [String: Tensor], model: StableDiffusion) throws -> [String: LoRAUpdate] {
        let shapes = try moduleShapes(model)
        var kohya: [String: String] = [:]
        for name in shapes.keys {
            let (component, module) = split(name)
            kohya[(component == "unet" ? "lora_unet_" : "lora_te_") + module.replacingOccurrences(of: ".", with: "_")] = name
        }
        /// The full module name a key's stem addresses, or nil.
        func resolve(_ stem: String) -> String? {
            if let name = kohya[stem] { return name }
            var module = stem.replacingOccurrences(of: ".processor.", with: ".")
            var candidates: [String] = []
            if module.hasPrefix("unet.") || module.hasPrefix("text_encoder.") {
                if module.hasPrefix("text_encoder."), !module.hasPrefix("text_encoder.text_model.") {
                    module = "text_encoder.text_model." + module.dropFirst("text_encoder.".count)
                }
                candidates = [module]
            } else {
                candidates = ["unet." + module, "text_encoder." + module]
            }
            candidates += candidates.map { $0 + ".0" }   // "to_out" of the processor layout
            return candidates.first { shapes[$0] != nil }
        }
        var down: [String: Tensor] = [:], up: [String: Tensor] = [:], alpha: [String: Float] = [:]
        var unsupported: [String] = []
        for (key, value) in tensors {
            guard let (suffix, part) = suffixes.first(where: { key.hasSuffix($0.0) }),
                  let module = resolve(String(key.dropLast(suffix.count))) else {
                unsupported.append(key)
                continue
            }
            switch part {
            case .down: down[module] = value
            case .up: up[module] = value
            case .alpha:
                guard value.count == 1, let a = value.scalars.first, a.isFinite else {
                    throw EditingError("lora: \(key) should be one finite number, has shape \(formatShape(value.shape))")
                }
                alpha[module] = a
            }
        }
        guard unsupported.isEmpty else {
            let shown = unsupported.sorted().prefix(3).joined(separator: ", ")
            throw EditingError("lora: \(unsupported.count) keys address no Linear or Conv2d of this model's UNet or text encoder, or are not LoRA factors (LoHa, LoKr, DoRA and SDXL text encoders are not read): \(shown)\(unsupported.count > 3 ? ", …" : "")")
        }
        var result: [String: LoRAUpdate] = [:]
        for (module, d) in down {
            guard let u = up[module] else { throw EditingError("lora: \(module) has a down factor but no up factor") }
            result[module] = LoRAUpdate(down: d, up: u, alpha: alpha[module])
        }
        if let lonely = up.keys.sorted().first(where: { down[$0] == nil }) {
            throw EditingError("lora: \(lonely) has an up factor but no down factor")
        }
        guard !result.isEmpty else { throw EditingError("lora: no LoRA weights found") }
        return result
    }

    static func split(_ name: String) -> (component: String, module: String) {
        let component = name.hasPrefix("unet.") ? "unet" : "text_encoder"
        return (component, String(name.dropFirst(component.count + 1)))
    }

    /// W + scale·(alpha/rank)·(up [out, rank] · down [rank, in·k·k]) reshaped to W's shape.
    static func merged(_ weight: Tensor, _ u: LoRAUpdate, scale: Float, module: String) throws -> Tensor {
        let out = weight.shape[0], inner = weight.count / max(out, 1)
        let rank = u.down.shape.first ?? 0
        let upFits = u.up.rank >= 2 && u.up.shape[0] == out && u.up.shape[1] == rank && u.up.shape.dropFirst(2).allSatisfy { $0 == 1 }
        let downFits = (u.down.rank == 2 || u.down.rank == weight.rank) && rank > 0 && u.down.count == rank * inner
            && (u.down.rank == 2 || Array(u.down.shape.dropFirst()) == Array(weight.shape.dropFirst()))
        guard upFits, downFits else {
            throw EditingError("lora: \(module): factors up \(formatShape(u.up.shape)) · down \(formatShape(u.down.shape)) do not fit a \(formatShape(weight.shape)) weight")
        }
        let factor = scale * (u.alpha ?? Float(rank)) / Float(rank)
        let delta = try u.up.reshaped([out, rank]).matmul(u.down.reshaped([rank, inner])).reshaped(weight.shape)
        return try weight + delta * factor
    }
}

extension StableDiffusion {
    /// A copy with LoRA updates (keyed like ``LoRA/moduleShapes(_:)``) merged into the UNet and
    /// the text encoder: W + scale·(alpha/rank)·up·down.
    public func addingLoRA(_ updates: [String: LoRAUpdate], scale: Float = 1) throws -> StableDiffusion {
        var copy = self
        var remaining = Set(updates.keys)
        func merge(_ component: String) -> ModuleWeightVisitor {
            { name, weight in
                let key = component + "." + name
                guard let update = updates[key] else { return }
                weight = try LoRA.merged(weight, update, scale: scale, module: key)
                remaining.remove(key)
            }
        }
        try copy.unet.updateModuleWeights(merge("unet"))
        try copy.textEncoder.updateModuleWeights(merge("text_encoder"))
        if let missing = remaining.sorted().first {
            throw EditingError("lora: the model has no Linear or Conv2d \(missing)")
        }
        return copy
    }

    /// Loads a LoRA `.safetensors` file and merges it (``LoRA/updates(_:model:)``).
    public func addingLoRA(contentsOf path: String, scale: Float = 1) throws -> StableDiffusion {
        let tensors: [String: Tensor]
        do { tensors = try SafeTensors.load(path) } catch { throw EditingError("lora: \(path): \(error)") }
        return try addingLoRA(LoRA.updates(tensors, model: self), scale: scale)
    }
}
