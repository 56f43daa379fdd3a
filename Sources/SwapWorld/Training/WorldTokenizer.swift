import Foundation
import SwapIO
import SwapModels

/// The default model's tokenizer: CLIP's byte-level BPE (the same `CLIPTokenizer`) with a
/// vocabulary and merges built so that every word of a closed word list is one token.
///
/// The base alphabet is CLIP's: the 256 byte characters and the same with `</w>`, so any text
/// still tokenises (unknown words fall apart into pieces). Merges are added greedily: a word is
/// encoded with the merges so far, and while it is more than one token, the merge of its first
/// two tokens is appended (at the lowest priority, so words finished earlier, which are single
/// tokens, cannot change). The vocabulary is open_clip's construction from the merges
/// (`CLIPTokenizer.derivedVocabulary`): bytes, bytes + `</w>`, one token per merge, BOS, EOS.
public struct WorldTokenizerFiles: Sendable {
    /// Merge pairs in priority order.
    public let merges: [(String, String)]
    /// Token → id.
    public let vocabulary: [String: Int]

    /// Builds merges for `words` (lowercase words as they appear in captions; order matters
    /// only for which merges get which rank).
    public init(words: [String]) {
        var merges: [(String, String)] = []
        var ranks: [String: Int] = [:]
        for word in words {
            var symbols = Self.symbols(of: word)
            while true {
                symbols = Self.encode(symbols, ranks: ranks)
                if symbols.count <= 1 { break }
                let pair = (symbols[0], symbols[1])
                ranks[pair.0 + " " + pair.1] = merges.count
                merges.append(pair)
            }
        }
        self.merges = merges
        vocabulary = CLIPTokenizer.derivedVocabulary(merges: merges)
    }

    /// The byte characters of `word` with `</w>` on the last, as CLIP's BPE starts.
    static func symbols(of word: String) -> [String] {
        var symbols = CLIPByteMap.encode(Substring(word))
        if !symbols.isEmpty { symbols[symbols.count - 1] += "</w>" }
        return symbols
    }

    /// CLIP's BPE loop: repeatedly merge the adjacent pair of lowest rank (all its occurrences,
    /// left to right) until no pair has a rank.
    static func encode(_ start: [String], ranks: [String: Int]) -> [String] {
        var word = start
        while word.count > 1 {
            var best: (rank: Int, first: String, second: String)? = nil
            for i in 0..<(word.count - 1) {
                if let rank = ranks[word[i] + " " + word[i + 1]], rank < (best?.rank ?? Int.max) {
                    best = (rank, word[i], word[i + 1])
                }
            }
            guard let best else { break }
            var merged: [String] = []
            var i = 0
            while i < word.count {
                if i < word.count - 1, word[i] == best.first, word[i + 1] == best.second {
                    merged.append(best.first + best.second)
                    i += 2
                } else {
                    merged.append(word[i])
                    i += 1
                }
            }
            word = merged
        }
        return word
    }

    /// The tokenizer these files describe (SD 1.x special tokens: pad with `<|endoftext|>`).
    public func tokenizer() throws -> CLIPTokenizer {
        try CLIPTokenizer(vocabulary: vocabulary, merges: merges, specialTokens: .sd1)
    }

    /// Writes `vocab.json`, `merges.txt` and `special_tokens_map.json` into `folder` (a
    /// diffusers `tokenizer/` folder), each atomically.
    public func write(to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let ordered = vocabulary.sorted { $0.value < $1.value }
        let vocabJSON = "{" + ordered.map { "\(Self.jsonString($0.key)):\($0.value)" }.joined(separator: ",") + "}"
        try AtomicFile.write(Data(vocabJSON.utf8), to: folder + "/vocab.json")
        let mergesText = "#version: 0.2\n" + merges.map { "\($0.0) \($0.1)\n" }.joined()
        try AtomicFile.write(Data(mergesText.utf8), to: folder + "/merges.txt")
        let special = """
        {"bos_token":{"content":"<|startoftext|>","lstrip":false,"normalized":true,"rstrip":false,"single_word":false},\
        "eos_token":{"content":"<|endoftext|>","lstrip":false,"normalized":true,"rstrip":false,"single_word":false},\
        "pad_token":"<|endoftext|>",\
        "unk_token":{"content":"<|endoftext|>","lstrip":false,"normalized":true,"rstrip":false,"single_word":false}}
        """
        try AtomicFile.write(Data(special.utf8), to: folder + "/special_tokens_map.json")
    }

    /// A JSON string literal (the byte characters include no quotes or controls except those
    /// JSONSerialization escapes).
    static func jsonString(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed])) ?? Data("[\"\"]".utf8)
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst().dropLast())
    }
}
