import SwapTensor

// Where the CLIP text encoder's tensors live in the three checkpoint layouts SD uses.
// The model always asks for transformers names (`text_model.encoder.layers.0.mlp.fc1.weight`);
// this file maps them to the file's keys and, for OpenCLIP, cuts the fused q/k/v projection.

/// The naming scheme of a text-encoder checkpoint.
public enum CLIPCheckpointLayout: Sendable, Equatable {
    /// transformers / diffusers `text_encoder/model.safetensors`: `text_model.…`, optionally
    /// under an extra prefix. `textModelPrefix` is what precedes `embeddings.`, e.g.
    /// "text_model." (or "" for files saved without the wrapper).
    case transformers(textModelPrefix: String)
    /// An SD 1.x single-file (CompVis/ldm) checkpoint: `cond_stage_model.transformer.text_model.…`.
    case compVisSD1
    /// An SD 2.x single-file checkpoint holding OpenCLIP names under `prefix`
    /// (`cond_stage_model.model.` in ldm files): `token_embedding`, `positional_embedding`,
    /// `transformer.resblocks.i.{ln_1, attn.in_proj_*, attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}`,
    /// `ln_final`. Blocks past the config's layer count (the 24th) and `text_projection` are
    /// ignored, as diffusers' converter drops them.
    case openCLIP(prefix: String)

    /// Guesses the layout from the tensor names present, or nil.
    public static func detect(_ store: WeightStore) -> CLIPCheckpointLayout? {
        if store.contains("text_model.embeddings.token_embedding.weight") { return .transformers(textModelPrefix: "text_model.") }
        if store.contains("embeddings.token_embedding.weight") { return .transformers(textModelPrefix: "") }
        if store.contains("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight") { return .compVisSD1 }
        if store.contains("cond_stage_model.model.token_embedding.weight") { return .openCLIP(prefix: "cond_stage_model.model.") }
        if store.contains("token_embedding.weight") && store.contains("positional_embedding") { return .openCLIP(prefix: "") }
        return nil
    }

    /// The file key holding the transformers tensor `name` (which starts with "text_model."),
    /// and for OpenCLIP q/k/v the block of rows (in units of the hidden size: 0 = q, 1 = k,
    /// 2 = v) to cut from the fused `in_proj` tensor. Nil when the name has no counterpart.
    public func fileKey(for name: String) -> (key: String, fusedPart: Int?)? {
        let bare = name.hasPrefix("text_model.") ? String(name.dropFirst("text_model.".count)) : name
        switch self {
        case .transformers(let prefix): return (prefix + bare, nil)
        case .compVisSD1: return ("cond_stage_model.transformer.text_model." + bare, nil)
        case .openCLIP(let prefix):
            guard let (key, part) = Self.openCLIPName(bare) else { return nil }
            return (prefix + key, part)
        }
    }

    /// transformers name (without "text_model.") → OpenCLIP name and fused part.
    static func openCLIPName(_ name: String) -> (String, Int?)? {
        switch name {
        case "embeddings.token_embedding.weight": return ("token_embedding.weight", nil)
        case "embeddings.position_embedding.weight": return ("positional_embedding", nil)
        case "final_layer_norm.weight": return ("ln_final.weight", nil)
        case "final_layer_norm.bias": return ("ln_final.bias", nil)
        default: break
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4, parts[0] == "encoder", parts[1] == "layers", let layer = Int(parts[2]), layer >= 0,
              String(layer) == parts[2] else { return nil }
        let block = "transformer.resblocks.\(layer)."
        let rest = parts[3...].joined(separator: ".")
        let fused = ["self_attn.q_proj": 0, "self_attn.k_proj": 1, "self_attn.v_proj": 2]
        for (module, part) in fused {
            if rest == module + ".weight" { return (block + "attn.in_proj_weight", part) }
            if rest == module + ".bias" { return (block + "attn.in_proj_bias", part) }
        }
        let renames = ["layer_norm1.": "ln_1.", "layer_norm2.": "ln_2.", "self_attn.out_proj.": "attn.out_proj.",
                       "mlp.fc1.": "mlp.c_fc.", "mlp.fc2.": "mlp.c_proj."]
        for (from, to) in renames where rest.hasPrefix(from) {
            return (block + to + rest.dropFirst(from.count), nil)
        }
        return nil
    }
}

/// Reads text-encoder tensors by transformers name from a store in any layout.
struct CLIPTextWeightSource {
    let store: WeightStore
    let layout: CLIPCheckpointLayout

    /// The tensor `name` (a transformers name starting with "text_model."), which must have `shape`.
    func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        guard let (key, part) = layout.fileKey(for: name) else {
            throw ModelLoadError("no tensor in the \(layout) layout corresponds to '\(name)'")
        }
        guard let part else { return try store.tensor(key, shape: shape) }
        // Fused OpenCLIP in_proj: [3d, d] or [3d]; rows part·d ..< (part+1)·d.
        let rows = shape[0]
        let fusedShape = [3 * rows] + shape.dropFirst()
        let fused = try store.tensor(key, shape: fusedShape)
        return try fused.sliced(axis: 0, start: part * rows, end: (part + 1) * rows)
    }

    func linear(_ prefix: String, inFeatures: Int, outFeatures: Int) throws -> Linear {
        Linear(weight: try tensor(prefix + ".weight", shape: [outFeatures, inFeatures]),
               bias: try tensor(prefix + ".bias", shape: [outFeatures]))
    }

    func layerNorm(_ prefix: String, dimension: Int, eps: Float) throws -> LayerNorm {
        LayerNorm(weight: try tensor(prefix + ".weight", shape: [dimension]),
                  bias: try tensor(prefix + ".bias", shape: [dimension]), eps: eps)
    }
}
