import Foundation

// The text-processing stages of the CLIP tokenizer, in the order Hugging Face's tokenizers
// backend runs them (transformers v5 `CLIPTokenizer`):
//   normaliser  NFC → every run of Unicode White_Space becomes one space → per-scalar lowercase
//   pre-split   <|startoftext|> | <|endoftext|> | 's|'t|'re|'ve|'m|'ll|'d | \p{L}+ | \p{N} | [^\s\p{L}\p{N}]+
//   byte level  UTF-8 bytes mapped to printable characters (GPT-2 `bytes_to_unicode`), after a
//               second GPT-2 split whose only visible effect is to cut the two literal special
//               tokens into "<|", "startoftext", "|>", so the scanner below leaves them out
//   BPE         merges by rank, with "</w>" on the last character of each pre-token.
// No ftfy repair is applied (transformers v5 applies none either).

/// The GPT-2/CLIP reversible byte ↔ character map.
public enum CLIPByteMap {
    /// Character for each byte 0...255: printable bytes 33–126, 161–172, 174–255 keep their
    /// code point; the other 68 bytes, in increasing order, get U+0100, U+0101, …
    public static let byteToCharacter: [Character] = {
        var table = [Character](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            let code = printable ? UInt32(b) : { defer { next += 1 }; return next }()
            table[b] = Character(Unicode.Scalar(code)!)
        }
        return table
    }()

    /// The inverse of `byteToCharacter`.
    public static let characterToByte: [Character: UInt8] = {
        var map: [Character: UInt8] = [:]
        for (b, c) in byteToCharacter.enumerated() { map[c] = UInt8(b) }
        return map
    }()

    /// The 256 base characters in vocabulary order (ids 0–255 of the CLIP vocabulary): the
    /// printable bytes in increasing order, then the remapped ones.
    public static let vocabularyOrder: [Character] = {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        let rest = (0..<256).filter { !printable.contains($0) }
        return (printable + rest).map { byteToCharacter[$0] }
    }()

    /// The byte-level form of `text`: one mapped character per UTF-8 byte.
    public static func encode(_ text: Substring) -> [String] {
        text.utf8.map { String(byteToCharacter[Int($0)]) }
    }

    /// Back to readable text: characters map to bytes, which decode as UTF-8 (invalid or
    /// partial sequences become U+FFFD). Characters outside the map are kept as they are.
    public static func decode(_ token: String) -> String {
        var bytes: [UInt8] = []
        var out = ""
        for c in token {
            if let b = characterToByte[c] {
                bytes.append(b)
            } else {
                out += String(decoding: bytes, as: UTF8.self)
                bytes.removeAll()
                out.append(c)
            }
        }
        return out + String(decoding: bytes, as: UTF8.self)
    }
}

/// Normalisation and the pre-tokenisation scanner.
enum CLIPTextNormalizer {
    /// NFC, then each run of White_Space scalars → one space, then scalar-wise lowercase
    /// (Rust `char::to_lowercase`: no context-dependent final sigma). Not trimmed: spaces are
    /// dropped by the scanner anyway.
    static func normalize(_ text: String) -> String {
        let composed = text.precomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        var inSpace = false
        for scalar in composed.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !inSpace { out.append(" ") }
                inSpace = true
                continue
            }
            inSpace = false
            let lower = scalar.properties.lowercaseMapping
            if lower.unicodeScalars.count == 1, lower.unicodeScalars.first == scalar {
                out.append(scalar)
            } else {
                out.append(contentsOf: lower.unicodeScalars)
            }
        }
        return String(out)
    }

    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// The pre-tokens of normalised text, by the CLIP pattern (see the file header).
    static func preTokens(_ text: Substring) -> [Substring] {
        let scalars = text.unicodeScalars
        var result: [Substring] = []
        var i = scalars.startIndex
        func kind(_ s: Unicode.Scalar) -> Int { s.properties.isWhitespace ? 0 : isLetter(s) ? 1 : isNumber(s) ? 2 : 3 }
        while i < scalars.endIndex {
            let s = scalars[i]
            let k = kind(s)
            if k == 0 { i = scalars.index(after: i); continue }
            var end = scalars.index(after: i)
            if s == "'", let length = contractionLength(scalars[end...]) {
                end = scalars.index(end, offsetBy: length)
            } else if k == 2 {
                // a single number character
            } else {
                while end < scalars.endIndex, kind(scalars[end]) == k { end = scalars.index(after: end) }
            }
            result.append(Substring(scalars[i..<end]))
            i = end
        }
        return result
    }

    /// After an apostrophe: the length of `s t re ve m ll d` if one follows (in the regex's order).
    private static func contractionLength(_ rest: Substring.UnicodeScalarView.SubSequence) -> Int? {
        var it = rest.makeIterator()
        guard let a = it.next() else { return nil }
        if a == "s" || a == "t" { return 1 }
        let b = it.next()
        if a == "r" && b == "e" { return 2 }
        if a == "v" && b == "e" { return 2 }
        if a == "m" { return 1 }
        if a == "l" && b == "l" { return 2 }
        if a == "d" { return 1 }
        return nil
    }
}

/// Byte-pair encoding with merge ranks and a per-word cache.
final class CLIPBytePairEncoder: @unchecked Sendable {
    struct Pair: Hashable {
        var first: String
        var second: String
    }

    let ranks: [Pair: Int]
    private var cache: [String: [String]] = [:]
    private let lock = NSLock()

    /// `merges`: pairs in priority order (rank = index).
    init(merges: [(String, String)]) {
        var ranks: [Pair: Int] = [:]
        ranks.reserveCapacity(merges.count)
        for (rank, m) in merges.enumerated() where ranks[Pair(first: m.0, second: m.1)] == nil {
            ranks[Pair(first: m.0, second: m.1)] = rank
        }
        self.ranks = ranks
    }

    /// The BPE symbols of one pre-token given as byte-level characters; the last one ends in "</w>".
    func encode(_ word: String) -> [String] {
        lock.lock()
        if let hit = cache[word] { lock.unlock(); return hit }
        lock.unlock()
        var symbols = word.map { String($0) }
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1] += "</w>"
        while symbols.count > 1 {
            var best: (rank: Int, pair: Pair)? = nil
            for j in 0..<(symbols.count - 1) {
                let pair = Pair(first: symbols[j], second: symbols[j + 1])
                if let r = ranks[pair], r < (best?.rank ?? Int.max) { best = (r, pair) }
            }
            guard let best else { break }
            var merged: [String] = []
            merged.reserveCapacity(symbols.count)
            var j = 0
            while j < symbols.count {
                if j + 1 < symbols.count, symbols[j] == best.pair.first, symbols[j + 1] == best.pair.second {
                    merged.append(best.pair.first + best.pair.second)
                    j += 2
                } else {
                    merged.append(symbols[j])
                    j += 1
                }
            }
            symbols = merged
        }
        lock.lock()
        if cache.count < 100_000 { cache[word] = symbols }
        lock.unlock()
        return symbols
    }
}
