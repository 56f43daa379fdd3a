import Foundation

/// An error loading a tokenizer: names the file and what is wrong with it.
public struct CLIPTokenizerError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A special token of the tokenizer. `matchesNormalizedText` says whether it is found in the
/// prompt after normalisation (so `<|ENDOFTEXT|>` also matches) or only verbatim in the raw text,
/// as Hugging Face's added-token flag `normalized` does.
public struct CLIPSpecialToken: Sendable, Equatable {
    public var content: String
    public var matchesNormalizedText: Bool

    public init(_ content: String, matchesNormalizedText: Bool) {
        self.content = content
        self.matchesNormalizedText = matchesNormalizedText
    }
}

/// BOS, EOS, padding and unknown tokens, with the matching flags Hugging Face ends up with
/// when it loads the Stable Diffusion tokenizer folders.
public struct CLIPSpecialTokens: Sendable, Equatable {
    public var bos: CLIPSpecialToken
    public var eos: CLIPSpecialToken
    public var pad: CLIPSpecialToken
    public var unk: String

    public init(bos: CLIPSpecialToken, eos: CLIPSpecialToken, pad: CLIPSpecialToken, unk: String) {
        self.bos = bos
        self.eos = eos
        self.pad = pad
        self.unk = unk
    }

    /// SD 1.x: pads with `<|endoftext|>` (49407). Its pad entry is a plain string in
    /// `special_tokens_map.json`, which makes HF match `<|endoftext|>` only verbatim.
    public static let sd1 = CLIPSpecialTokens(
        bos: CLIPSpecialToken("<|startoftext|>", matchesNormalizedText: true),
        eos: CLIPSpecialToken("<|endoftext|>", matchesNormalizedText: false),
        pad: CLIPSpecialToken("<|endoftext|>", matchesNormalizedText: false), unk: "<|endoftext|>")

    /// SD 2.x: pads with "!" (id 0), which HF registers as a special token, so every literal
    /// "!" in a prompt becomes id 0 on its own (diffusers #4153).
    public static let sd2 = CLIPSpecialTokens(
        bos: CLIPSpecialToken("<|startoftext|>", matchesNormalizedText: true),
        eos: CLIPSpecialToken("<|endoftext|>", matchesNormalizedText: true),
        pad: CLIPSpecialToken("!", matchesNormalizedText: false), unk: "<|endoftext|>")

    /// From a diffusers `tokenizer/special_tokens_map.json` object. A plain string entry is
    /// matched verbatim; an object entry uses its `normalized` field (default true). Entries
    /// are applied in the order bos, eos, unk, pad, and a later entry with the same content
    /// sets the flag for all of them (that is how HF's added-token table behaves).
    public static func fromSpecialTokensMap(_ json: [String: Any]) -> CLIPSpecialTokens {
        func entry(_ key: String, _ fallback: String) -> CLIPSpecialToken {
            if let s = json[key] as? String { return CLIPSpecialToken(s, matchesNormalizedText: false) }
            if let d = json[key] as? [String: Any], let content = d["content"] as? String {
                return CLIPSpecialToken(content, matchesNormalizedText: (d["normalized"] as? Bool) ?? true)
            }
            return CLIPSpecialToken(fallback, matchesNormalizedText: true)
        }
        var tokens = [entry("bos_token", "<|startoftext|>"), entry("eos_token", "<|endoftext|>"),
                      entry("unk_token", "<|endoftext|>"), entry("pad_token", "<|endoftext|>")]
        for i in tokens.indices {
            if let last = tokens.last(where: { $0.content == tokens[i].content }) {
                tokens[i].matchesNormalizedText = last.matchesNormalizedText
            }
        }
        return CLIPSpecialTokens(bos: tokens[0], eos: tokens[1], pad: tokens[3], unk: tokens[2].content)
    }
}

/// The CLIP BPE tokenizer, id-exact with Hugging Face's `CLIPTokenizer` (transformers v5,
/// tokenizers backend) called as Stable Diffusion pipelines call it:
/// `padding="max_length", max_length=77, truncation=True`.
///
/// Text handling (see `CLIPByteLevelBPE.swift`): NFC, whitespace runs collapsed, lowercase,
/// CLIP's pre-tokenisation pattern, byte-to-unicode, BPE. No ftfy repair (HF v5 has none).
public final class CLIPTokenizer: @unchecked Sendable {
    /// Sequence length of every encoded prompt.
    public static let maxLength = 77

    /// Token string → id.
    public let vocabulary: [String: Int]
    /// Id → token string (HF's `convert_ids_to_tokens`).
    public let tokenStrings: [Int: String]
    public let specialTokens: CLIPSpecialTokens
    public let bosID: Int
    public let eosID: Int
    public let padID: Int
    public let unkID: Int
    private var bpe: CLIPBytePairEncoder
    /// Special tokens that split the raw text, and those that split normalised text.
    private let rawSpecials: [(scalars: [Unicode.Scalar], id: Int)]
    private var normalizedSpecials: [(scalars: [Unicode.Scalar], id: Int)]
    /// Added tokens (textual inversion) that stand for several ids: "<tok>" → <tok>, <tok>_1, …
    private var expansions: [Int: [Int]] = [:]

    /// From a vocabulary and merges in priority order.
    public init(vocabulary: [String: Int], merges: [(String, String)], specialTokens: CLIPSpecialTokens = .sd1) throws {
        func id(_ token: String) throws -> Int {
            guard let id = vocabulary[token] else { throw CLIPTokenizerError("special token '\(token)' is not in the vocabulary") }
            return id
        }
        self.vocabulary = vocabulary
        var strings: [Int: String] = [:]
        for (token, id) in vocabulary { strings[id] = token }
        tokenStrings = strings
        self.specialTokens = specialTokens
        bosID = try id(specialTokens.bos.content)
        eosID = try id(specialTokens.eos.content)
        padID = try id(specialTokens.pad.content)
        unkID = try id(specialTokens.unk)
        bpe = CLIPBytePairEncoder(merges: merges)
        var raw: [(scalars: [Unicode.Scalar], id: Int)] = [], normalized: [(scalars: [Unicode.Scalar], id: Int)] = []
        var seen = Set<String>()
        for token in [specialTokens.bos, specialTokens.eos, specialTokens.pad] where seen.insert(token.content).inserted {
            let item = (scalars: Array(token.content.unicodeScalars), id: try id(token.content))
            if token.matchesNormalizedText { normalized.append(item) } else { raw.append(item) }
        }
        rawSpecials = raw
        normalizedSpecials = normalized
    }

    /// A copy with `tokens` added to the vocabulary (ids from the current size on), matched in
    /// the lower-cased text before BPE like `tokenizer.add_tokens` (normalised added tokens).
    /// `expand` maps an added token to the added tokens it stands for (multi-vector textual
    /// inversion: "<tok>" → ["<tok>", "<tok>_1", …], as diffusers rewrites prompts).
    public func adding(tokens: [String], expand: [String: [String]] = [:]) throws -> CLIPTokenizer {
        var vocabulary = self.vocabulary
        let first = (vocabulary.values.max() ?? -1) + 1
        for (k, token) in tokens.enumerated() {
            guard !token.isEmpty, vocabulary[token] == nil else {
                throw CLIPTokenizerError("cannot add token '\(token)': it is empty or already in the vocabulary")
            }
            vocabulary[token] = first + k
        }
        let copy = try CLIPTokenizer(vocabulary: vocabulary, bpe: bpe, specialTokens: specialTokens)
        copy.expansions = expansions
        copy.normalizedSpecials = normalizedSpecials
        for token in tokens {
            let id = vocabulary[token]!
            copy.normalizedSpecials.append((Array(CLIPTextNormalizer.normalize(token).unicodeScalars), id))
            if let parts = expand[token] { copy.expansions[id] = try parts.map { p in
                guard let pid = vocabulary[p] else { throw CLIPTokenizerError("expansion '\(p)' of '\(token)' is not a token") }
                return pid
            } }
        }
        return copy
    }

    private convenience init(vocabulary: [String: Int], bpe: CLIPBytePairEncoder, specialTokens: CLIPSpecialTokens) throws {
        try self.init(vocabulary: vocabulary, merges: [], specialTokens: specialTokens)
        self.bpe = bpe
    }

    // MARK: Encoding

    /// One content token: its id, its vocabulary string and the pre-token it came from.
    struct ContentToken {
        var id: Int
        var token: String
        var preToken: Int
    }

    /// The 77 ids of `text` (BOS, at most 75 content ids, EOS, padding).
    public func encode(_ text: String) -> [Int] { tokenize(text).ids }

    /// The 77 ids of `text` and, for each, a readable piece: the token's bytes decoded as
    /// UTF-8 without the "</w>" end-of-word mark (special tokens as their content).
    public func tokenize(_ text: String) -> (ids: [Int], pieces: [String]) {
        let content = contentTokens(text)
        var ids = [bosID], pieces = [specialTokens.bos.content]
        for t in content {
            ids.append(t.id)
            pieces.append(readable(t.token, id: t.id))
        }
        ids.append(eosID)
        pieces.append(specialTokens.eos.content)
        while ids.count < Self.maxLength {
            ids.append(padID)
            pieces.append(specialTokens.pad.content)
        }
        return (ids, pieces)
    }

    /// The positions (0..<77, BOS is 0) of every occurrence of `word` in the encoded `text`.
    /// `word` is tokenised the same way; an occurrence must start and end on pre-token
    /// boundaries, so "cat" is found in "a cat, sitting" but not inside "category". Several
    /// words ("red car") work too. Tokens cut off by truncation are not reported.
    public func tokenIndices(of word: String, in text: String) -> [Int] {
        let query = contentTokens(word).map(\.id)
        guard !query.isEmpty else { return [] }
        let content = contentTokens(text)
        var result: [Int] = []
        var start = 0
        while start + query.count <= content.count {
            let end = start + query.count
            let startsWord = start == 0 || content[start - 1].preToken != content[start].preToken
            let endsWord = end == content.count || content[end].preToken != content[end - 1].preToken
            if startsWord, endsWord, content[start..<end].map(\.id) == query {
                result += (start + 1)...end
            }
            start += 1
        }
        return result
    }

    /// The readable form of one token.
    func readable(_ token: String, id: Int) -> String {
        if id == bosID || id == eosID || id == padID { return tokenStrings[id] ?? token }
        let bare = token.hasSuffix("</w>") ? String(token.dropLast(4)) : token
        return CLIPByteMap.decode(bare)
    }

    /// Content tokens before truncation to 75.
    func contentTokens(_ text: String) -> [ContentToken] {
        var out: [ContentToken] = []
        var preToken = 0
        func emitSpecial(_ id: Int) {
            for part in expansions[id] ?? [id] {
                out.append(ContentToken(id: part, token: tokenStrings[part] ?? "", preToken: preToken))
            }
            preToken += 1
        }
        for rawPart in split(Substring(text), on: rawSpecials) {
            switch rawPart {
            case .special(let id): emitSpecial(id)
            case .text(let raw):
                let normalized = CLIPTextNormalizer.normalize(String(raw))
                for part in split(Substring(normalized), on: normalizedSpecials) {
                    switch part {
                    case .special(let id): emitSpecial(id)
                    case .text(let segment):
                        for piece in CLIPTextNormalizer.preTokens(segment) {
                            for symbol in bpe.encode(CLIPByteMap.encode(piece).joined()) {
                                out.append(ContentToken(id: vocabulary[symbol] ?? unkID, token: symbol, preToken: preToken))
                            }
                            preToken += 1
                        }
                    }
                }
            }
        }
        return Array(out.prefix(Self.maxLength - 2))
    }

    enum Part {
        case text(Substring)
        case special(Int)
    }

    /// Splits `text` at the special tokens (leftmost, longest match first).
    private func split(_ text: Substring, on specials: [(scalars: [Unicode.Scalar], id: Int)]) -> [Part] {
        guard !specials.isEmpty else { return [.text(text)] }
        let scalars = text.unicodeScalars
        var parts: [Part] = []
        var segmentStart = scalars.startIndex
        var i = scalars.startIndex
        while i < scalars.endIndex {
            var best: (length: Int, id: Int)? = nil
            for special in specials where special.scalars.count > (best?.length ?? 0) {
                if scalars[i...].starts(with: special.scalars) { best = (special.scalars.count, special.id) }
            }
            if let best {
                if segmentStart < i { parts.append(.text(Substring(scalars[segmentStart..<i]))) }
                parts.append(.special(best.id))
                i = scalars.index(i, offsetBy: best.length)
                segmentStart = i
            } else {
                i = scalars.index(after: i)
            }
        }
        if segmentStart < scalars.endIndex { parts.append(.text(Substring(scalars[segmentStart...]))) }
        return parts
    }
}
