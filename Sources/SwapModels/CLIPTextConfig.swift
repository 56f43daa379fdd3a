import Foundation

/// The CLIP text encoder's hyper-parameters, as in transformers' `CLIPTextConfig` and the
/// diffusers `text_encoder/config.json`. Keys missing from a file take transformers' defaults.
public struct CLIPTextConfig: Sendable, Equatable {
    /// The MLP activation (`hidden_act`).
    public enum Activation: String, Sendable {
        /// x·sigmoid(1.702x): SD 1.x (OpenAI CLIP-L), and transformers' default.
        case quickGELU = "quick_gelu"
        /// Exact erf GELU: SD 2.x (OpenCLIP ViT-H).
        case gelu = "gelu"
    }

    public var vocabSize = 49408
    public var hiddenSize = 512
    public var intermediateSize = 2048
    public var projectionDim = 512
    public var numHiddenLayers = 12
    public var numAttentionHeads = 8
    public var maxPositionEmbeddings = 77
    public var hiddenAct = Activation.quickGELU
    public var layerNormEps: Float = 1e-5

    public init(vocabSize: Int = 49408, hiddenSize: Int = 512, intermediateSize: Int = 2048, projectionDim: Int = 512,
                numHiddenLayers: Int = 12, numAttentionHeads: Int = 8, maxPositionEmbeddings: Int = 77,
                hiddenAct: Activation = .quickGELU, layerNormEps: Float = 1e-5) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.projectionDim = projectionDim
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.hiddenAct = hiddenAct
        self.layerNormEps = layerNormEps
    }

    /// SD 1.x text encoder (openai/clip-vit-large-patch14 text tower).
    public static let sd1 = CLIPTextConfig(hiddenSize: 768, intermediateSize: 3072, projectionDim: 768,
                                           numHiddenLayers: 12, numAttentionHeads: 12, hiddenAct: .quickGELU)

    /// SD 2.x text encoder (OpenCLIP ViT-H text tower without its last block).
    public static let sd2 = CLIPTextConfig(hiddenSize: 1024, intermediateSize: 4096, projectionDim: 512,
                                           numHiddenLayers: 23, numAttentionHeads: 16, hiddenAct: .gelu)

    /// Size of one attention head.
    public var headDim: Int { hiddenSize / numAttentionHeads }

    /// Checks the values fit together; the error names `source`.
    public func validate(source: String = "CLIPTextConfig") throws {
        let positive = [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                        ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
                        ("max_position_embeddings", maxPositionEmbeddings)]
        for (name, value) in positive where value <= 0 {
            throw ModelLoadError("\(source): \(name) must be positive, got \(value)")
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw ModelLoadError("\(source): hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)")
        }
        guard layerNormEps > 0 else { throw ModelLoadError("\(source): layer_norm_eps must be positive") }
    }

    /// Parses a `config.json` object (a CLIPTextConfig, or a full CLIPConfig whose
    /// `text_config` is used).
    public init(json: [String: Any], source: String = "config.json") throws {
        let object = (json["text_config"] as? [String: Any]) ?? json
        func int(_ key: String, _ fallback: Int) throws -> Int {
            guard let value = object[key] else { return fallback }
            guard let number = value as? NSNumber, let result = Int(exactly: number.doubleValue) else {
                throw ModelLoadError("\(source): '\(key)' must be an integer, got \(value)")
            }
            return result
        }
        self.init()
        vocabSize = try int("vocab_size", vocabSize)
        hiddenSize = try int("hidden_size", hiddenSize)
        intermediateSize = try int("intermediate_size", intermediateSize)
        projectionDim = try int("projection_dim", projectionDim)
        numHiddenLayers = try int("num_hidden_layers", numHiddenLayers)
        numAttentionHeads = try int("num_attention_heads", numAttentionHeads)
        maxPositionEmbeddings = try int("max_position_embeddings", maxPositionEmbeddings)
        if let value = object["layer_norm_eps"] {
            guard let number = value as? NSNumber else { throw ModelLoadError("\(source): 'layer_norm_eps' must be a number") }
            layerNormEps = number.floatValue
        }
        if let value = object["hidden_act"] {
            guard let name = value as? String, let act = Activation(rawValue: name) else {
                throw ModelLoadError("\(source): unsupported hidden_act \(value) (expected \"quick_gelu\" or \"gelu\")")
            }
            hiddenAct = act
        }
        try validate(source: source)
    }

    /// Reads a `config.json` file.
    public init(contentsOf path: String) throws {
        try self.init(json: ModelConfigJSON(path: path).values, source: path)
    }
}
