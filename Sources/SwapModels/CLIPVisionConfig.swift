import Foundation

/// The CLIP vision tower's hyper-parameters, as in transformers' `CLIPVisionConfig` (the
/// `vision_config` of a `CLIPConfig`). Keys missing from a file take transformers' defaults
/// (ViT-B/32).
public struct CLIPVisionConfig: Sendable, Equatable {
    public var hiddenSize = 768
    public var intermediateSize = 3072
    /// Width of `visual_projection` (a CLIPModel's top-level `projection_dim` wins over the
    /// vision config's own).
    public var projectionDim = 512
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var numChannels = 3
    /// Side of the square input, in pixels.
    public var imageSize = 224
    /// Side of one square patch, in pixels.
    public var patchSize = 32
    public var hiddenAct = CLIPTextConfig.Activation.quickGELU
    public var layerNormEps: Float = 1e-5

    public init(hiddenSize: Int = 768, intermediateSize: Int = 3072, projectionDim: Int = 512, numHiddenLayers: Int = 12,
                numAttentionHeads: Int = 12, numChannels: Int = 3, imageSize: Int = 224, patchSize: Int = 32,
                hiddenAct: CLIPTextConfig.Activation = .quickGELU, layerNormEps: Float = 1e-5) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.projectionDim = projectionDim
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numChannels = numChannels
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.hiddenAct = hiddenAct
        self.layerNormEps = layerNormEps
    }

    /// Patches per side: `imageSize / patchSize`.
    public var gridSize: Int { imageSize / patchSize }
    /// Positions the encoder sees: the patches and the class token.
    public var numPositions: Int { gridSize * gridSize + 1 }

    /// Checks the values fit together; the error names `source`.
    public func validate(source: String = "CLIPVisionConfig") throws {
        let positive = [("hidden_size", hiddenSize), ("intermediate_size", intermediateSize), ("projection_dim", projectionDim),
                        ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
                        ("num_channels", numChannels), ("image_size", imageSize), ("patch_size", patchSize)]
        for (name, value) in positive where value <= 0 {
            throw ModelLoadError("\(source): \(name) must be positive, got \(value)")
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw ModelLoadError("\(source): hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)")
        }
        guard imageSize % patchSize == 0 else {
            throw ModelLoadError("\(source): image_size \(imageSize) is not a multiple of patch_size \(patchSize)")
        }
        guard layerNormEps > 0 else { throw ModelLoadError("\(source): layer_norm_eps must be positive") }
    }

    /// Parses a `config.json` object: a CLIPVisionConfig, or a full CLIPConfig whose
    /// `vision_config` is used (with the top-level `projection_dim`).
    public init(json: [String: Any], source: String = "config.json") throws {
        let nested = json["vision_config"] as? [String: Any]
        let object = nested ?? json
        let file = ModelConfigJSON(values: object, file: source)
        self.init()
        hiddenSize = try file.int("hidden_size", default: hiddenSize)
        intermediateSize = try file.int("intermediate_size", default: intermediateSize)
        projectionDim = try file.int("projection_dim", default: projectionDim)
        if nested != nil { projectionDim = try ModelConfigJSON(values: json, file: source).int("projection_dim", default: projectionDim) }
        numHiddenLayers = try file.int("num_hidden_layers", default: numHiddenLayers)
        numAttentionHeads = try file.int("num_attention_heads", default: numAttentionHeads)
        numChannels = try file.int("num_channels", default: numChannels)
        imageSize = try file.int("image_size", default: imageSize)
        patchSize = try file.int("patch_size", default: patchSize)
        layerNormEps = try file.float("layer_norm_eps", default: layerNormEps)
        let act = try file.string("hidden_act", default: hiddenAct.rawValue)
        guard let activation = CLIPTextConfig.Activation(rawValue: act) else {
            throw ModelLoadError("\(source): unsupported hidden_act \"\(act)\" (expected \"quick_gelu\" or \"gelu\")")
        }
        hiddenAct = activation
        try validate(source: source)
    }

    /// Reads a `config.json` file.
    public init(contentsOf path: String) throws {
        try self.init(json: ModelConfigJSON(path: path).values, source: path)
    }
}
