import Foundation
import SwapIO
import SwapTensor

// Textual-inversion embeddings (Gal et al. 2022) as diffusers' `load_textual_inversion` reads them
// (loaders/textual_inversion.py): a safetensors file holding one tensor under the token's name
// (`learned_embeds.safetensors` of examples/textual_inversion/textual_inversion.py), or the
// A1111 layout (`emb_params`, or `string_to_param.*`). Each vector becomes a new token; a
// multi-vector "<tok>" adds "<tok>", "<tok>_1", … and the prompt's "<tok>" stands for all of them.

/// One learned concept: its token and its vectors [n, hidden].
public struct TextualInversionEmbedding: Sendable {
    public var token: String
    public var vectors: Tensor

    public init(token: String, vectors: Tensor) throws {
        guard !token.isEmpty else { throw ModelLoadError("textual inversion: the token is empty") }
        guard vectors.rank == 1 || vectors.rank == 2, vectors.count > 0 else {
            throw ModelLoadError("textual inversion: embedding of '\(token)' has shape \(formatShape(vectors.shape)), expected [hidden] or [n, hidden]")
        }
        self.token = token
        self.vectors = vectors.rank == 1 ? try vectors.reshaped([1, vectors.count]) : vectors
    }

    /// Reads an embedding file; `token` overrides the file's (required for the A1111
    /// safetensors layout, which stores none). `.safetensors` files, and the torch pickles
    /// `.pt` / `.bin` (read by ``TorchFile``, which executes nothing): diffusers'
    /// `learned_embeds.bin` ({token: vector}) and A1111's `.pt` (`string_to_param["*"]`, token
    /// from `name`), as diffusers' `load_textual_inversion` reads them.
    public init(contentsOf path: String, token: String? = nil) throws {
        let lower = path.lowercased()
        if lower.hasSuffix(".pt") || lower.hasSuffix(".bin") {
            try self.init(torchFile: path, token: token)
            return
        }
        guard lower.hasSuffix(".safetensors") else {
            throw ModelLoadError("\(path): textual-inversion embeddings are read from .safetensors, .pt or .bin files")
        }
        let tensors: [String: Tensor]
        do { tensors = try SafeTensors.load(path) } catch { throw ModelLoadError("\(path): \(error)") }
        let a1111 = tensors["emb_params"] ?? tensors.first { $0.key.hasPrefix("string_to_param") }?.value
        if let vectors = a1111 {
            guard let token else {
                throw ModelLoadError("\(path): an A1111 embedding names no token; give token:")
            }
            try self.init(token: token, vectors: vectors)
        } else {
            guard tensors.count == 1, let (name, vectors) = tensors.first else {
                throw ModelLoadError("\(path): expected one tensor named after its token, found \(tensors.keys.sorted())")
            }
            try self.init(token: token ?? name, vectors: vectors)
        }
    }

    /// A torch pickle: {token: tensor}, or A1111's {string_to_param: {"*": tensor}, name: …}
    /// or {emb_params: tensor}.
    init(torchFile path: String, token: String?) throws {
        let root: TorchValue
        do { root = try TorchFile.load(path) } catch { throw ModelLoadError("textual inversion: \(error)") }
        guard let entries = root.stringKeyed else {
            throw ModelLoadError("\(path): expected a dict of embeddings, found \(root)")
        }
        let name: String?
        let value: TorchValue?
        if let params = entries["string_to_param"]?.stringKeyed {
            if case .string(let n)? = entries["name"] { name = n } else { name = nil }
            value = params["*"] ?? params.values.first
        } else if let emb = entries["emb_params"] {
            (name, value) = (nil, emb)
        } else if entries.count == 1, let (key, v) = entries.first {
            (name, value) = (key, v)
        } else {
            throw ModelLoadError("\(path): expected {token: tensor}, string_to_param or emb_params; found keys \(entries.keys.sorted())")
        }
        guard case .tensor(let vectors)? = value else {
            throw ModelLoadError("\(path): the embedding is \(value.map(\.description) ?? "missing"), not a tensor")
        }
        guard let chosen = token ?? name else { throw ModelLoadError("\(path): the embedding names no token; give token:") }
        try self.init(token: chosen, vectors: vectors)
    }

    /// The added token strings: "<tok>", "<tok>_1", … for n vectors.
    public var tokens: [String] { (0..<vectors.shape[0]).map { $0 == 0 ? token : "\(token)_\($0)" } }
}

extension StableDiffusion {
    /// A copy whose tokenizer knows the embedding's tokens and whose text encoder has their
    /// vectors as new rows (`load_textual_inversion`).
    public func addingTextualInversion(_ embedding: TextualInversionEmbedding) throws -> StableDiffusion {
        let width = textEncoder.config.hiddenSize
        guard embedding.vectors.shape[1] == width else {
            throw ModelLoadError("textual inversion '\(embedding.token)': vectors of width \(embedding.vectors.shape[1]) for a text encoder of width \(width)")
        }
        let tokens = embedding.tokens
        let newTokenizer: CLIPTokenizer
        do {
            newTokenizer = try tokenizer.adding(tokens: tokens, expand: tokens.count > 1 ? [embedding.token: tokens] : [:])
        } catch let e as CLIPTokenizerError { throw ModelLoadError("textual inversion: \(e.message)") }
        guard newTokenizer.vocabulary[embedding.token] == textEncoder.config.vocabSize else {
            throw ModelLoadError("textual inversion: the tokenizer has \(tokenizer.vocabulary.count) tokens but the text encoder \(textEncoder.config.vocabSize) rows")
        }
        let encoder = try textEncoder.addingTokenEmbeddings(embedding.vectors)
        return try StableDiffusion(source: source, version: version, tokenizer: newTokenizer, textEncoder: encoder, unet: unet, vae: vae,
                                   schedulerConfigPath: schedulerConfigPath, schedulerClassName: schedulerClassName,
                                   predictionType: predictionType)
    }
}
