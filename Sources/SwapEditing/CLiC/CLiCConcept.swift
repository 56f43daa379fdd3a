import Foundation
import SwapIO
import SwapModels
import SwapTensor

// A learned CLiC concept: the token's embedding plus the tuned cross-attention projections
// (spec §1.2 item 13). The file is one safetensors: the embedding under the token string (the
// diffusers learned_embeds layout) and each projection under its diffusers module name
// (`up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight`, full weights, not
// deltas), with metadata naming the token, the base object and the trained parameters. The
// source image and mask ride along (tensors `clic.source_image`, `clic.source_mask`) so RoI
// matching can learn its region token later.

/// A CLiC concept: token, embedding, tuned projections and where it was learned.
public struct CLiCConcept {
    public var token: String
    /// The object the concept was learned on ("chair", "square").
    public var baseObject: String
    /// The token's embedding [hidden].
    public var embedding: Tensor
    /// Tuned projection weights by diffusers parameter name.
    public var parameters: [String: Tensor]
    /// The source image [1, 3, H, W] in [−1, 1] and its mask [H, W] in [0, 1] (nil when unknown).
    public var sourceImage: Tensor?
    public var sourceMask: Tensor?

    public init(token: String, baseObject: String, embedding: Tensor, parameters: [String: Tensor],
                sourceImage: Tensor? = nil, sourceMask: Tensor? = nil) {
        self.token = token
        self.baseObject = baseObject
        self.embedding = embedding
        self.parameters = parameters
        self.sourceImage = sourceImage
        self.sourceMask = sourceMask
    }

    /// The diffusers module name of an attention layer ("up_blocks.1.attentions.0.transformer_blocks.0.attn2").
    public static func moduleName(_ info: AttentionLayerInfo) -> String {
        let block: String
        switch info.place {
        case .down: block = "down_blocks.\(info.block).attentions.\(info.attention)"
        case .mid: block = "mid_block.attentions.\(info.attention)"
        case .up: block = "up_blocks.\(info.block).attentions.\(info.attention)"
        }
        return "\(block).transformer_blocks.\(info.transformerBlock).\(info.kind == .selfAttention ? "attn1" : "attn2")"
    }

    /// The current values of the chosen projections of every cross-attention layer, by name.
    public static func crossAttentionParameters(of unet: UNet2DConditionModel, projections: [String]) throws -> [(String, Tensor)] {
        var copy = unet
        var result: [(String, Tensor)] = []
        try copy.updateAttentionLayers { info, layer in
            guard info.kind == .crossAttention else { return }
            let module = moduleName(info)
            for p in projections {
                let linear: Linear
                switch p {
                case "to_q": linear = layer.toQ
                case "to_k": linear = layer.toK
                case "to_v": linear = layer.toV
                default: linear = layer.toOut
                }
                result.append(("\(module).\(p).weight", linear.weight))
                if let b = linear.bias { result.append(("\(module).\(p).bias", b)) }
            }
        }
        return result
    }

    /// A copy of the UNet with the named projection weights replaced (shapes checked).
    public static func replacingParameters(_ values: [String: Tensor], in unet: UNet2DConditionModel) throws -> UNet2DConditionModel {
        var copy = unet
        var used = 0
        try copy.updateAttentionLayers { info, layer in
            guard info.kind == .crossAttention else { return }
            let module = moduleName(info)
            func replace(_ linear: inout Linear, _ p: String) throws {
                if let w = values["\(module).\(p).weight"] {
                    guard w.shape == linear.weight.shape else {
                        throw EditingError("clic concept: \(module).\(p).weight has shape \(formatShape(w.shape)), the model's is \(formatShape(linear.weight.shape))")
                    }
                    linear.weight = w
                    used += 1
                }
                if let b = values["\(module).\(p).bias"] {
                    guard let old = linear.bias, b.shape == old.shape else {
                        throw EditingError("clic concept: \(module).\(p).bias does not fit the model's layer")
                    }
                    linear.bias = b
                    used += 1
                }
            }
            try replace(&layer.toQ, "to_q")
            try replace(&layer.toK, "to_k")
            try replace(&layer.toV, "to_v")
            try replace(&layer.toOut, "to_out.0")
        }
        guard used == values.count else {
            let known = Set(try crossAttentionParameters(of: unet, projections: CLiCTrainedProjections.all.names).map(\.0))
            let unknown = values.keys.filter { !known.contains($0) }.sorted()
            throw EditingError("clic concept: \(unknown.count) parameters match no cross-attention projection of the model: \(unknown.prefix(3).joined(separator: ", "))")
        }
        return copy
    }

    /// The model with the token added and the tuned projections in place.
    public func applied(to model: StableDiffusion) throws -> StableDiffusion {
        var result = try model.addingTextualInversion(TextualInversionEmbedding(token: token, vectors: embedding))
        result.unet = try Self.replacingParameters(parameters, in: result.unet)
        return result
    }

    // MARK: File

    static let imageKey = "clic.source_image", maskKey = "clic.source_mask"

    /// Writes the concept as one safetensors file (atomically).
    public func save(to path: String) throws {
        guard parameters[token] == nil, token != Self.imageKey, token != Self.maskKey else {
            throw EditingError("save_concept: the token \"\(token)\" collides with a parameter name")
        }
        var tensors: [(String, Tensor)] = [(token, try embedding.reshaped([embedding.count]))]
        tensors += parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if let sourceImage { tensors.append((Self.imageKey, sourceImage)) }
        if let sourceMask { tensors.append((Self.maskKey, sourceMask)) }
        let metadata = ["format": "swapscript-clic-concept", "token": token, "base_object": baseObject,
                        "trained_parameters": parameters.keys.sorted().joined(separator: ",")]
        do { try SafeTensors.write(tensors.map { ($0.0, $0.1.detached()) }, metadata: metadata, to: path) }
        catch { throw EditingError("save_concept: \(path): \(error)") }
    }

    /// Reads a file written by ``save(to:)``.
    public init(contentsOf path: String) throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw EditingError("load_concept: \(path): \(error)") }
        guard let meta = file.metadata, meta["format"] == "swapscript-clic-concept", let token = meta["token"] else {
            throw EditingError("load_concept: \(path) is not a CLiC concept file (no swapscript-clic-concept metadata)")
        }
        let names = (meta["trained_parameters"] ?? "").split(separator: ",").map(String.init)
        do {
            guard file.contains(token) else { throw EditingError("load_concept: \(path) has no embedding for \"\(token)\"") }
            var parameters: [String: Tensor] = [:]
            for name in names {
                guard file.contains(name) else { throw EditingError("load_concept: \(path) lists \(name) but does not hold it") }
                parameters[name] = try file.tensor(name)
            }
            self.init(token: token, baseObject: meta["base_object"] ?? "", embedding: try file.tensor(token), parameters: parameters,
                      sourceImage: file.contains(Self.imageKey) ? try file.tensor(Self.imageKey) : nil,
                      sourceMask: file.contains(Self.maskKey) ? try file.tensor(Self.maskKey) : nil)
        } catch let e as EditingError { throw e } catch { throw EditingError("load_concept: \(path): \(error)") }
        guard embedding.rank == 1 else { throw EditingError("load_concept: the embedding of \"\(token)\" is \(formatShape(embedding.shape)), expected [hidden]") }
    }
}
