import Foundation
import SwapIO
import SwapTensor

// matches: transformers models/clip/modeling_clip.py CLIPModel (get_image_features /
// get_text_features) and the scores of jmhessel/clipscore (CLIPScore = 2.5·max(cos, 0)) and
// DreamBooth / CustomConcept101 (CLIP-I = cosine of image embeddings)

/// A full CLIP (image and text towers with their projections) for CLIP-T / CLIPScore / CLIP-I.
///
/// Loaded from a transformers `CLIPModel` folder: `config.json` (with `text_config`,
/// `vision_config`, `projection_dim`) and `model.safetensors` holding `vision_model.*`,
/// `text_model.*`, `visual_projection.weight` and `text_projection.weight` (e.g.
/// openai/clip-vit-base-patch32). The tokenizer comes from the folder's `vocab.json` and
/// `merges.txt` when present, else the CLIP vocabulary bundled with SwapModels (the same for
/// every OpenAI CLIP); OpenAI CLIP's special tokens are SD 1.x's.
public struct CLIPModel: Sendable {
    public let vision: CLIPVisionModel
    public let text: CLIPTextModel
    public let tokenizer: CLIPTokenizer
    /// [projection, text hidden], no bias.
    let textProjection: Linear
    /// The text config's `eos_token_id`, or nil for the legacy 2 (pool at argmax(ids)).
    let eosTokenID: Int?
    public let preprocessing: CLIPImagePreprocessing
    /// Where the weights came from.
    public let source: String

    /// Loads from a store under transformers names; `eosTokenID` as described on the property.
    public init(vision: CLIPVisionConfig, text: CLIPTextConfig, weights store: WeightStore, tokenizer: CLIPTokenizer,
                eosTokenID: Int?, source: String = "") throws {
        guard vision.projectionDim == text.projectionDim else {
            throw ModelLoadError("\(source): vision projection_dim \(vision.projectionDim) differs from text projection_dim \(text.projectionDim)")
        }
        self.vision = try CLIPVisionModel(config: vision, weights: store)
        guard self.vision.hasProjection else {
            throw ModelLoadError("\(source): missing tensor 'visual_projection.weight' (expected shape [\(vision.projectionDim),\(vision.hiddenSize)])")
        }
        self.text = try CLIPTextModel(config: text, weights: store, layout: .transformers(textModelPrefix: "text_model."))
        textProjection = try Linear(store, "text_projection", inFeatures: text.hiddenSize, outFeatures: text.projectionDim, bias: false)
        self.tokenizer = tokenizer
        self.eosTokenID = eosTokenID
        preprocessing = CLIPImagePreprocessing(config: vision)
        self.source = source
    }

    /// Loads a transformers `CLIPModel` folder (see the type's documentation).
    public init(directory: String) throws {
        let base = URL(fileURLWithPath: directory)
        let configPath = base.appendingPathComponent("config.json").path
        let json = try ModelConfigJSON(path: configPath)
        guard json.has("vision_config"), json.has("text_config") else {
            throw ModelLoadError("\(configPath): not a CLIPModel config (needs 'text_config' and 'vision_config')")
        }
        var textConfig = try CLIPTextConfig(json: json.values, source: configPath)
        let visionConfig = try CLIPVisionConfig(json: json.values, source: configPath)
        textConfig.projectionDim = try json.int("projection_dim", default: textConfig.projectionDim)
        let textJSON = ModelConfigJSON(values: json.values["text_config"] as? [String: Any] ?? [:], file: configPath)
        let eos = try textJSON.int("eos_token_id", default: 2)
        let vocab = base.appendingPathComponent("vocab.json").path, merges = base.appendingPathComponent("merges.txt").path
        let tokenizer = FileManager.default.fileExists(atPath: vocab) && FileManager.default.fileExists(atPath: merges)
            ? try CLIPTokenizer(directory: directory) : try CLIPTokenizer.bundled(.sd1)
        try self.init(vision: visionConfig, text: textConfig, weights: WeightStore(paths: Self.weightPaths(directory: base)),
                      tokenizer: tokenizer, eosTokenID: eos == 2 ? nil : eos, source: directory)
    }

    /// `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
    static func weightPaths(directory base: URL) throws -> [String] {
        let single = base.appendingPathComponent("model.safetensors").path
        let index = base.appendingPathComponent("model.safetensors.index.json").path
        if !FileManager.default.fileExists(atPath: single), FileManager.default.fileExists(atPath: index) {
            return try CLIPTextModel.shardPaths(indexPath: index, directory: base)
        }
        return [single]
    }

    /// The projected image embedding of each image, [B, projection] (not normalised):
    /// `get_image_features` after CLIP preprocessing.
    public func imageEmbeddings(_ images: [Image]) throws -> Tensor {
        let pixels = try Tensor.concat(images.map { try preprocessing.pixels($0) }, axis: 0)
        return try vision.imageEmbeddings(pixels)
    }

    /// The projected text embedding of each text, [B, projection] (not normalised):
    /// `get_text_features` on the texts tokenized to 77 ids (truncated, end-of-text padded).
    public func textEmbeddings(_ texts: [String]) throws -> Tensor {
        try textEmbeddings(ids: texts.map { tokenizer.encode($0) })
    }

    /// The projected text embeddings of already tokenized sequences (all the same length).
    public func textEmbeddings(ids: [[Int]]) throws -> Tensor {
        try textProjection(text.pooledOutput(ids, eosTokenID: eosTokenID))
    }

    /// Per-patch features of `image` from the vision tower: [gridSize², hidden] (see
    /// `CLIPVisionModel.patchFeatures`), with the grid size `vision.gridSize`.
    public func patchFeatures(_ image: Image, layer: Int? = nil) throws -> Tensor {
        try vision.patchFeatures(pixels: preprocessing.pixels(image), layer: layer)
    }

    /// The cosine similarity of each row of `a` [B, D] with the matching row of `b` [B, D]
    /// (a row of 1 is broadcast), [B]. Norms are clamped at 1e-8 as torch's `cosine_similarity`.
    public static func cosine(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let rows = Swift.max(a.shape[0], b.shape[0])
        guard a.rank == 2, b.rank == 2, a.shape[1] == b.shape[1], a.shape[0] == rows || a.shape[0] == 1,
              b.shape[0] == rows || b.shape[0] == 1 else {
            throw TensorError("cosine", "embeddings \(formatShape(a.shape)) and \(formatShape(b.shape)) do not pair up")
        }
        let d = a.shape[1]
        let (x, y) = (try a.broadcast(to: [rows, d]).scalars, try b.broadcast(to: [rows, d]).scalars)
        var out = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            var dot: Double = 0, nx: Double = 0, ny: Double = 0
            for i in (r * d)..<((r + 1) * d) {
                dot += Double(x[i]) * Double(y[i])
                nx += Double(x[i]) * Double(x[i])
                ny += Double(y[i]) * Double(y[i])
            }
            out[r] = Float(dot / (Swift.max(nx.squareRoot(), 1e-8) * Swift.max(ny.squareRoot(), 1e-8)))
        }
        return Tensor(shape: [rows], scalars: out)
    }

    /// Hessel et al.'s CLIPScore weight: CLIPScore = `w · max(cos, 0)`.
    public static let clipScoreWeight: Float = 2.5
}
