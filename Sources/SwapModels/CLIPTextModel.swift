import Foundation
import SwapTensor

// matches: transformers models/clip/modeling_clip.py CLIPTextModel (text tower, fp32, no attention_mask)

/// The outputs of one forward pass.
public struct CLIPTextOutput: Sendable {
    /// `final_layer_norm` of the last layer's output, [B, L, hidden].
    public var lastHiddenState: Tensor
    /// When requested: the embeddings, then each layer's output (before `final_layer_norm`),
    /// `numHiddenLayers + 1` tensors of [B, L, hidden], as transformers' `hidden_states`.
    public var hiddenStates: [Tensor]?
}

/// An invalid input to the text encoder (bad ids or lengths).
public struct CLIPTextInputError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The CLIP text encoder used by Stable Diffusion: token + position embeddings, pre-LN
/// causal transformer blocks, final LayerNorm.
public struct CLIPTextModel: Sendable {
    public internal(set) var config: CLIPTextConfig
    /// [vocab, hidden].
    public internal(set) var tokenEmbedding: Tensor
    /// [max_position_embeddings, hidden].
    public let positionEmbedding: Tensor
    var layers: [CLIPEncoderLayer]
    public let finalLayerNorm: LayerNorm

    /// Loads from `store` in `layout` (detected from the names when nil). Every tensor is
    /// shape-checked; a missing or misshapen one throws a `ModelLoadError` naming it.
    public init(config: CLIPTextConfig, weights store: WeightStore, layout: CLIPCheckpointLayout? = nil) throws {
        try config.validate()
        guard let layout = layout ?? CLIPCheckpointLayout.detect(store) else {
            throw ModelLoadError("no CLIP text encoder found: none of 'text_model.embeddings.token_embedding.weight', "
                + "'cond_stage_model.transformer.text_model.embeddings.token_embedding.weight' or "
                + "'cond_stage_model.model.token_embedding.weight' is present")
        }
        let source = CLIPTextWeightSource(store: store, layout: layout)
        let d = config.hiddenSize
        self.config = config
        tokenEmbedding = try source.tensor("text_model.embeddings.token_embedding.weight", shape: [config.vocabSize, d])
        positionEmbedding = try source.tensor("text_model.embeddings.position_embedding.weight",
                                              shape: [config.maxPositionEmbeddings, d])
        layers = try (0..<config.numHiddenLayers).map { i in
            try CLIPEncoderLayer(prefix: "text_model.encoder.layers.\(i).", hiddenSize: d, intermediateSize: config.intermediateSize,
                                 eps: config.layerNormEps, linear: source.linear, layerNorm: source.layerNorm)
        }
        finalLayerNorm = try source.layerNorm("text_model.final_layer_norm", dimension: d, eps: config.layerNormEps)
    }

    /// Loads a diffusers `text_encoder/` folder: `config.json` and `model.safetensors`
    /// (or the shards listed in `model.safetensors.index.json`).
    public init(directory: String) throws {
        let base = URL(fileURLWithPath: directory)
        let config = try CLIPTextConfig(contentsOf: base.appendingPathComponent("config.json").path)
        let single = base.appendingPathComponent("model.safetensors").path
        let index = base.appendingPathComponent("model.safetensors.index.json").path
        var paths = [single]
        if !FileManager.default.fileExists(atPath: single), FileManager.default.fileExists(atPath: index) {
            paths = try Self.shardPaths(indexPath: index, directory: base)
        }
        try self.init(config: config, weights: WeightStore(paths: paths))
    }

    /// Loads the text encoder from a single-file (CompVis/ldm) SD checkpoint. The layout
    /// (SD1 `cond_stage_model.transformer.` or SD2 OpenCLIP `cond_stage_model.model.`) is
    /// detected; `config` defaults to `.sd1` or `.sd2` accordingly.
    public init(singleFile path: String, config: CLIPTextConfig? = nil) throws {
        let store = try WeightStore(paths: [path])
        guard let layout = CLIPCheckpointLayout.detect(store) else {
            throw ModelLoadError("\(path): no CLIP text encoder tensors (cond_stage_model.transformer.… or cond_stage_model.model.…)")
        }
        let fallback: CLIPTextConfig
        if case .openCLIP = layout { fallback = .sd2 } else { fallback = .sd1 }
        try self.init(config: config ?? fallback, weights: store, layout: layout)
    }

    static func shardPaths(indexPath: String, directory: URL) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: indexPath),
              let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let map = json["weight_map"] as? [String: String] else {
            throw ModelLoadError("\(indexPath): not a safetensors index with a 'weight_map'")
        }
        return Set(map.values).sorted().map { directory.appendingPathComponent($0).path }
    }

    /// Runs the encoder on a batch of id sequences (all the same length, at most
    /// `max_position_embeddings`, ids < `vocab_size`).
    public func callAsFunction(_ ids: [[Int]], outputHiddenStates: Bool = false) throws -> CLIPTextOutput {
        try forward(ids, outputHiddenStates: outputHiddenStates, stopAfterLayer: nil)
    }

    /// The prompt embeddings diffusers' `encode_prompt` hands to the UNet: with `clipSkip`
    /// nil, `last_hidden_state`; with `clipSkip = k ≥ 1`, `final_layer_norm(hidden_states[-(k+1)])`
    /// (the output of layer `numHiddenLayers − k`). SD 2.x's "penultimate layer" is already in the
    /// 23-layer checkpoint, so it uses nil too.
    public func promptEmbeddings(_ ids: [[Int]], clipSkip: Int? = nil) throws -> Tensor {
        guard let k = clipSkip, k != 0 else { return try forward(ids, outputHiddenStates: false, stopAfterLayer: nil).lastHiddenState }
        guard k > 0, k <= config.numHiddenLayers else {
            throw CLIPTextInputError("clip_skip must be in 0...\(config.numHiddenLayers), got \(k)")
        }
        // Running only the first N − k layers makes `lastHiddenState` = final_layer_norm(hidden_states[-(k+1)]).
        return try forward(ids, outputHiddenStates: false, stopAfterLayer: config.numHiddenLayers - k).lastHiddenState
    }

    /// transformers' `pooler_output`: `last_hidden_state` at each sequence's end-of-text token,
    /// [B, hidden]. With `eosTokenID` nil (a config whose `eos_token_id` is the legacy 2) that is
    /// the position of the largest id (`argmax(input_ids)`); otherwise the first position of
    /// `eosTokenID`, which every sequence must contain.
    public func pooledOutput(_ ids: [[Int]], eosTokenID: Int?) throws -> Tensor {
        let positions = try ids.map { row -> Int in
            if let eos = eosTokenID {
                guard let p = row.firstIndex(of: eos) else {
                    throw CLIPTextInputError("a sequence has no end-of-text token \(eos) to pool at")
                }
                return p
            }
            return row.max().flatMap { row.firstIndex(of: $0) } ?? 0
        }
        let hidden = try forward(ids, outputHiddenStates: false, stopAfterLayer: nil).lastHiddenState
        let (length, d) = (hidden.shape[1], hidden.shape[2])
        let rows = positions.enumerated().map { $0.offset * length + $0.element }
        return try hidden.reshaped([ids.count * length, d]).indexSelect(axis: 0, rows)
    }

    /// The causal mask [L, L]: 0 on and below the diagonal, the float minimum above (as
    /// transformers' `create_causal_mask`).
    static func causalMask(_ length: Int) -> Tensor {
        var values = [Float](repeating: 0, count: length * length)
        for i in 0..<length { for j in (i + 1)..<max(length, i + 1) { values[i * length + j] = -Float.greatestFiniteMagnitude } }
        return Tensor(shape: [length, length], scalars: values)
    }

    /// `last_hidden_state` with the embedding rows of some token ids replaced by given vectors
    /// [hidden] (differentiable with respect to them): textual-inversion training.
    public func promptEmbeddings(_ ids: [[Int]], overriding rows: [Int: Tensor]) throws -> Tensor {
        try forward(ids, outputHiddenStates: false, stopAfterLayer: nil, overriding: rows).lastHiddenState
    }

    /// A copy with `rows` [n, hidden] appended to the token embedding (ids vocab_size ..< vocab_size + n).
    public func addingTokenEmbeddings(_ rows: Tensor) throws -> CLIPTextModel {
        guard rows.rank == 2, rows.shape[1] == config.hiddenSize else {
            throw CLIPTextInputError("new token embeddings have shape \(formatShape(rows.shape)), expected [n, \(config.hiddenSize)]")
        }
        var copy = self
        copy.tokenEmbedding = try Tensor.concat([tokenEmbedding, rows.detached()], axis: 0)
        copy.config.vocabSize += rows.shape[0]
        return copy
    }

    func forward(_ ids: [[Int]], outputHiddenStates: Bool, stopAfterLayer: Int?, overriding rows: [Int: Tensor] = [:]) throws -> CLIPTextOutput {
        guard let first = ids.first else { throw CLIPTextInputError("empty batch") }
        let length = first.count
        guard length > 0, length <= config.maxPositionEmbeddings else {
            throw CLIPTextInputError("sequence length \(length) is outside 1...\(config.maxPositionEmbeddings)")
        }
        guard ids.allSatisfy({ $0.count == length }) else {
            throw CLIPTextInputError("all sequences in a batch must have the same length (\(ids.map(\.count)))")
        }
        let flat = ids.flatMap { $0 }
        if let bad = flat.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw CLIPTextInputError("token id \(bad) is outside the vocabulary 0..<\(config.vocabSize)")
        }
        let d = config.hiddenSize
        var picked = try tokenEmbedding.indexSelect(axis: 0, flat)
        for (id, vector) in rows.sorted(by: { $0.key < $1.key }) {
            let positions = flat.indices.filter { flat[$0] == id }
            guard !positions.isEmpty else { continue }
            guard vector.shape == [d] else {
                throw CLIPTextInputError("the override of token \(id) has shape \(formatShape(vector.shape)), expected [\(d)]")
            }
            picked = try picked.replacing(axis: 0, at: positions, with: vector.reshaped([1, d]).broadcast(to: [positions.count, d]))
        }
        let tokens = try picked.reshaped([ids.count, length, d])
        var x = try tokens + positionEmbedding.sliced(axis: 0, start: 0, end: length)
        var states: [Tensor] = outputHiddenStates ? [x] : []
        let mask = Self.causalMask(length)
        for layer in layers.prefix(stopAfterLayer ?? layers.count) {
            x = try layer(x, mask: mask, heads: config.numAttentionHeads, activation: config.hiddenAct)
            if outputHiddenStates { states.append(x) }
        }
        return CLIPTextOutput(lastHiddenState: try finalLayerNorm(x), hiddenStates: outputHiddenStates ? states : nil)
    }
}
