import SwapLang
import SwapModels
import SwapTensor

/// A loaded Stable Diffusion checkpoint as the language sees it.
///
/// - Display: `model SD 1.x  path  (unet 4→4 ch, text 768, vae ×8)`.
/// - Fields: `version`, `source`, `prediction`, `text_width`, `latent_channels`,
///   `vae_scale`, `scaling_factor`, `attention_layers` (a list of layer paths).
public final class ModelValue: HostValue {
    public let model: StableDiffusion

    public init(_ model: StableDiffusion) { self.model = model }

    public var kindName: String { "model" }
    public var summary: String {
        "model \(model.version.rawValue)  \(model.source)  (unet \(model.unet.config.inChannels)→\(model.unet.config.outChannels) ch, "
            + "text \(model.textEncoder.config.hiddenSize), vae ×\(model.vaeScaleFactor), \(model.predictionType))"
    }
    public var fieldNames: [String] {
        ["version", "source", "prediction", "text_width", "latent_channels", "vae_scale", "scaling_factor", "attention_layers"]
    }

    public func field(_ name: String) throws -> Value? {
        switch name {
        case "version": return .string(model.version.rawValue)
        case "source": return .string(model.source)
        case "prediction": return .string(model.predictionType)
        case "text_width": return .number(Double(model.textEncoder.config.hiddenSize))
        case "latent_channels": return .number(Double(model.unet.config.inChannels))
        case "vae_scale": return .number(Double(model.vaeScaleFactor))
        case "scaling_factor": return .number(Double(model.vae.scalingFactor))
        case "attention_layers": return .list(model.unet.attentionLayers.map { .string($0.path) })
        default: return nil
        }
    }
}

/// A tokenized prompt: the 77 ids the text encoder sees and the readable piece of each.
///
/// - Display: `tokens 9 of 77: <|startoftext|> a red circle … <|endoftext|>`.
/// - Fields: `ids` (77 numbers), `pieces` (77 strings), `count` (tokens before padding, BOS
///   and EOS included), `text`.
/// - Methods: `word("circle")` gives the token indices of a word of the prompt.
public final class TokensValue: HostValue {
    public let text: String
    public let ids: [Int]
    public let pieces: [String]
    let tokenizer: CLIPTokenizer

    init(text: String, tokenizer: CLIPTokenizer) {
        self.text = text
        self.tokenizer = tokenizer
        (ids, pieces) = tokenizer.tokenize(text)
    }

    /// Tokens up to and including the first end-of-text token.
    public var count: Int { (ids.firstIndex(of: tokenizer.eosID) ?? (ids.count - 1)) + 1 }

    public var kindName: String { "tokens" }
    public var summary: String {
        "tokens \(count) of \(ids.count): " + pieces.prefix(count).joined(separator: " ")
    }
    public var fieldNames: [String] { ["ids", "pieces", "count", "text"] }
    public var methodNames: [String] { ["word"] }
    public var length: Int? { ids.count }

    public func field(_ name: String) throws -> Value? {
        switch name {
        case "ids": return .list(ids.map { .number(Double($0)) })
        case "pieces": return .list(pieces.map { .string($0) })
        case "count": return .number(Double(count))
        case "text": return .string(text)
        default: return nil
        }
    }

    public func callMethod(_ name: String, arguments: Arguments, context: CallContext) throws -> Value? {
        guard name == "word" else { return nil }
        let args = try Signature(name: "word", params: [BuiltinParam("word", .string)]).bind(arguments)
        let word = try args.string("word")
        let indices = tokenizer.tokenIndices(of: word, in: text)
        guard !indices.isEmpty else { throw HostError("word: \"\(word)\" is not a word of \"\(text)\"") }
        return .list(indices.map { .number(Double($0)) })
    }
}
