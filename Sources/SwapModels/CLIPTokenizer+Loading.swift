import Foundation

// Loading the CLIP tokenizer from a diffusers `tokenizer/` folder (vocab.json + merges.txt),
// from open_clip's gzipped BPE file, or from the copy of that file bundled with SwapModels.

extension CLIPTokenizer {
    /// Number of merges CLIP uses from the BPE file: 49152 − 256 − 2 (open_clip's slice
    /// `[1 : 49152-256-2+1]` after the header line).
    public static let mergeCount = 49152 - 256 - 2

    /// From a diffusers `tokenizer/` folder: `vocab.json`, `merges.txt` and, when present,
    /// `special_tokens_map.json` (else `specialTokens`; SD1 defaults).
    public convenience init(directory: String, specialTokens: CLIPSpecialTokens? = nil) throws {
        let base = URL(fileURLWithPath: directory)
        let vocabURL = base.appendingPathComponent("vocab.json")
        let mergesURL = base.appendingPathComponent("merges.txt")
        let vocabulary = try Self.readVocabulary(vocabURL)
        let merges = try Self.parseMerges(Self.readText(mergesURL), fileName: mergesURL.path, limit: nil)
        var special = specialTokens ?? .sd1
        let mapURL = base.appendingPathComponent("special_tokens_map.json")
        if specialTokens == nil, FileManager.default.fileExists(atPath: mapURL.path) {
            let data = try Self.readData(mapURL)
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw CLIPTokenizerError("\(mapURL.path): not a JSON object")
            }
            special = .fromSpecialTokensMap(json)
        }
        try self.init(vocabulary: vocabulary, merges: merges, specialTokens: special)
    }

    /// From open_clip's `bpe_simple_vocab_16e6.txt.gz`, deriving the 49408-token vocabulary:
    /// 256 byte characters, the same with "</w>", one token per merge, then BOS and EOS.
    public convenience init(bpeGzipPath path: String, specialTokens: CLIPSpecialTokens = .sd1) throws {
        let bytes = [UInt8](try Self.readData(URL(fileURLWithPath: path)))
        let text: String
        do { text = String(decoding: try Gzip.decompress(bytes), as: UTF8.self) } catch {
            throw CLIPTokenizerError("\(path): \(error)")
        }
        let merges = try Self.parseMerges(text, fileName: path, limit: Self.mergeCount, skipFirstLine: true)
        guard merges.count == Self.mergeCount else {
            throw CLIPTokenizerError("\(path): has \(merges.count) merges, expected \(Self.mergeCount)")
        }
        try self.init(vocabulary: Self.derivedVocabulary(merges: merges), merges: merges, specialTokens: specialTokens)
    }

    /// The tokenizer built from the BPE file bundled with SwapModels (the real CLIP vocabulary,
    /// shared by SD 1.x and 2.x; only the special tokens differ).
    public static func bundled(_ specialTokens: CLIPSpecialTokens = .sd1) throws -> CLIPTokenizer {
        guard let url = bundledBPEURL else {
            throw CLIPTokenizerError("the bundled bpe_simple_vocab_16e6.txt.gz resource is missing from SwapModels")
        }
        return try CLIPTokenizer(bpeGzipPath: url.path, specialTokens: specialTokens)
    }

    /// Location of the bundled BPE file, if the resource bundle is present.
    public static var bundledBPEURL: URL? {
        Bundle.module.url(forResource: "bpe_simple_vocab_16e6.txt", withExtension: "gz", subdirectory: "Resources")
            ?? Bundle.module.url(forResource: "bpe_simple_vocab_16e6.txt", withExtension: "gz")
    }

    /// The CLIP vocabulary implied by a merge list (open_clip's construction).
    public static func derivedVocabulary(merges: [(String, String)]) -> [String: Int] {
        var tokens = CLIPByteMap.vocabularyOrder.map { String($0) }
        tokens += tokens.map { $0 + "</w>" }
        tokens += merges.map { $0.0 + $0.1 }
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where vocabulary[token] == nil { vocabulary[token] = id }
        return vocabulary
    }

    /// Merge pairs from merges text: one "a b" per line; a first line starting with
    /// "#version" (or any first line when `skipFirstLine`) is a header; blank lines are skipped.
    static func parseMerges(_ text: String, fileName: String, limit: Int?, skipFirstLine: Bool = false) throws -> [(String, String)] {
        var merges: [(String, String)] = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if lineNumber == 1 && (skipFirstLine || line.hasPrefix("#version")) { continue }
            if let limit, merges.count == limit { break }
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            if trimmed.isEmpty { continue }
            let parts = trimmed.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw CLIPTokenizerError("\(fileName): line \(lineNumber) is not a merge pair \"a b\": '\(trimmed.prefix(80))'")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return merges
    }

    static func readVocabulary(_ url: URL) throws -> [String: Int] {
        let data = try readData(url)
        guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
            throw CLIPTokenizerError("\(url.path): not a JSON object of token → id")
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(dict.count)
        for (token, value) in dict {
            guard let number = value as? NSNumber, let id = Int(exactly: number.doubleValue), id >= 0 else {
                throw CLIPTokenizerError("\(url.path): id of token '\(token)' is not a non-negative integer")
            }
            vocabulary[token] = id
        }
        return vocabulary
    }

    static func readData(_ url: URL) throws -> Data {
        do { return try Data(contentsOf: url) } catch {
            throw CLIPTokenizerError("cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    static func readText(_ url: URL) throws -> String {
        let data = try readData(url)
        guard let text = String(data: data, encoding: .utf8) else { throw CLIPTokenizerError("\(url.path): not UTF-8 text") }
        return text
    }
}
