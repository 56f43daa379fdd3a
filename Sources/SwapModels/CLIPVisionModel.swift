import Foundation
import SwapTensor

// matches: transformers models/clip/modeling_clip.py CLIPVisionTransformer (+ the
// `visual_projection` of CLIPModel / CLIPVisionModelWithProjection), fp32

/// The outputs of one vision-tower forward pass.
public struct CLIPVisionOutput: Sendable {
    /// The last encoder layer's output, [B, 1 + patches, hidden] (class token first; no
    /// `post_layernorm`, as transformers' `last_hidden_state`).
    public var lastHiddenState: Tensor
    /// `post_layernorm` of the class token, [B, hidden] (transformers' `pooler_output`).
    public var pooled: Tensor
    /// When requested: the embeddings after `pre_layrnorm`, then each layer's output,
    /// `numHiddenLayers + 1` tensors of [B, 1 + patches, hidden].
    public var hiddenStates: [Tensor]?
}

/// The CLIP image encoder: a ViT with a bias-free patch-embedding convolution, a class token,
/// learned position embeddings, `pre_layrnorm`, pre-LN transformer blocks (no mask) and
/// `post_layernorm` on the class token; `visual_projection` maps it to the shared embedding.
///
/// Tensor names (a transformers `CLIPModel` / `CLIPVisionModelWithProjection` file):
/// `vision_model.embeddings.{class_embedding, patch_embedding.weight, position_embedding.weight}`,
/// `vision_model.pre_layrnorm.*`, `vision_model.encoder.layers.{i}.{self_attn.{q,k,v,out}_proj,
/// layer_norm1, mlp.fc1, mlp.fc2, layer_norm2}.*`, `vision_model.post_layernorm.*`,
/// `visual_projection.weight` (optional: without it, `imageEmbeddings` throws).
public struct CLIPVisionModel: Sendable {
    public let config: CLIPVisionConfig
    /// [hidden, channels, patch, patch], no bias.
    let patchEmbedding: Tensor
    /// [hidden].
    let classEmbedding: Tensor
    /// [1 + patches, hidden].
    let positionEmbedding: Tensor
    let preLayerNorm: LayerNorm
    let layers: [CLIPEncoderLayer]
    let postLayerNorm: LayerNorm
    /// [projection, hidden], no bias; nil for a file without it.
    let visualProjection: Linear?

    /// Loads from `store` under transformers names (see the type's documentation). Every tensor
    /// is shape-checked; a missing or misshapen one throws a `ModelLoadError` naming it.
    public init(config: CLIPVisionConfig, weights store: WeightStore) throws {
        try config.validate()
        let vision = store.prefixed("vision_model.")
        guard vision.contains("embeddings.patch_embedding.weight") else {
            throw ModelLoadError("no CLIP vision tower found: missing tensor 'vision_model.embeddings.patch_embedding.weight'")
        }
        let d = config.hiddenSize, eps = config.layerNormEps
        self.config = config
        patchEmbedding = try vision.tensor("embeddings.patch_embedding.weight",
                                           shape: [d, config.numChannels, config.patchSize, config.patchSize])
        classEmbedding = try vision.tensor("embeddings.class_embedding", shape: [d])
        positionEmbedding = try vision.tensor("embeddings.position_embedding.weight", shape: [config.numPositions, d])
        preLayerNorm = try LayerNorm(vision, "pre_layrnorm", dimension: d, eps: eps)
        let linear = { (name: String, i: Int, o: Int) in try Linear(vision, name, inFeatures: i, outFeatures: o) }
        let layerNorm = { (name: String, n: Int, e: Float) in try LayerNorm(vision, name, dimension: n, eps: e) }
        layers = try (0..<config.numHiddenLayers).map { i in
            try CLIPEncoderLayer(prefix: "encoder.layers.\(i).", hiddenSize: d, intermediateSize: config.intermediateSize,
                                 eps: eps, linear: linear, layerNorm: layerNorm)
        }
        postLayerNorm = try LayerNorm(vision, "post_layernorm", dimension: d, eps: eps)
        visualProjection = store.contains("visual_projection.weight")
            ? try Linear(store, "visual_projection", inFeatures: d, outFeatures: config.projectionDim, bias: false) : nil
    }

    /// Loads a transformers folder (`config.json` of a CLIPModel or CLIPVisionModel[WithProjection],
    /// and `model.safetensors` or the shards of `model.safetensors.index.json`).
    public init(directory: String) throws {
        let base = URL(fileURLWithPath: directory)
        let config = try CLIPVisionConfig(contentsOf: base.appendingPathComponent("config.json").path)
        try self.init(config: config, weights: WeightStore(paths: CLIPModel.weightPaths(directory: base)))
    }

    /// Whether `visual_projection` was loaded.
    public var hasProjection: Bool { visualProjection != nil }

    /// Patches per side of the input grid (`imageSize / patchSize`).
    public var gridSize: Int { config.gridSize }

    /// Runs the tower on preprocessed pixels [B, channels, imageSize, imageSize] (see
    /// `CLIPImagePreprocessing`).
    public func callAsFunction(_ pixels: Tensor, outputHiddenStates: Bool = false) throws -> CLIPVisionOutput {
        let c = config, d = c.hiddenSize
        guard pixels.rank == 4, pixels.shape[1] == c.numChannels, pixels.shape[2] == c.imageSize, pixels.shape[3] == c.imageSize,
              pixels.shape[0] > 0 else {
            throw TensorError("clip_vision", "pixels have shape \(formatShape(pixels.shape)), expected [B, \(c.numChannels), \(c.imageSize), \(c.imageSize)]")
        }
        let b = pixels.shape[0], patches = c.gridSize * c.gridSize
        let grid = try pixels.conv2d(weight: patchEmbedding, bias: nil, stride: c.patchSize, padding: 0)
        let patchTokens = try grid.reshaped([b, d, patches]).permuted([0, 2, 1])
        let classToken = try classEmbedding.reshaped([1, 1, d]).broadcast(to: [b, 1, d])
        var x = try Tensor.concat([classToken, patchTokens], axis: 1) + positionEmbedding
        x = try preLayerNorm(x)
        var states: [Tensor] = outputHiddenStates ? [x] : []
        for layer in layers {
            x = try layer(x, mask: nil, heads: c.numAttentionHeads, activation: c.hiddenAct)
            if outputHiddenStates { states.append(x) }
        }
        let cls = try x.sliced(axis: 1, start: 0, end: 1).reshaped([b, d])
        return CLIPVisionOutput(lastHiddenState: x, pooled: try postLayerNorm(cls), hiddenStates: outputHiddenStates ? states : nil)
    }

    /// The image embeddings `visual_projection(pooled)`, [B, projectionDim] (not normalised).
    public func imageEmbeddings(_ pixels: Tensor) throws -> Tensor {
        guard let visualProjection else {
            throw TensorError("clip_vision", "the weights have no 'visual_projection.weight', so there are no image embeddings")
        }
        return try visualProjection(callAsFunction(pixels).pooled)
    }

    /// Per-patch features of one image, [gridSize², hidden], in row-major patch order (patch
    /// (row r, column c) is row r·gridSize + c): the patch tokens of `hidden_states[layer]`
    /// without the class token. `layer` nil means the last layer (`last_hidden_state[0, 1:]`);
    /// 0 is the embeddings after `pre_layrnorm`, k the output of block k (negative counts from
    /// the end, as Python: −2 is the penultimate block). `pixels` is [1, channels, S, S].
    public func patchFeatures(pixels: Tensor, layer: Int? = nil) throws -> Tensor {
        guard pixels.rank == 4, pixels.shape[0] == 1 else {
            throw TensorError("clip_patch_features", "pixels have shape \(formatShape(pixels.shape)), expected one image [1, \(config.numChannels), \(config.imageSize), \(config.imageSize)]")
        }
        let count = config.numHiddenLayers + 1
        let index = layer.map { $0 < 0 ? count + $0 : $0 } ?? (count - 1)
        guard (0..<count).contains(index) else {
            throw TensorError("clip_patch_features", "layer \(layer ?? 0) is outside -\(count)..<\(count)")
        }
        let output = try callAsFunction(pixels, outputHiddenStates: layer != nil)
        let state = layer == nil ? output.lastHiddenState : (output.hiddenStates ?? [])[index]
        let patches = config.gridSize * config.gridSize
        return try state.sliced(axis: 1, start: 1, end: patches + 1).reshaped([patches, config.hiddenSize])
    }
}
