import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns a `CompletionEngine.Result` into what readline's attempted-completion hook returns.
///
/// Readline splits words at its break characters (`.`, `/`, quotes, operators), so the text
/// it replaces may start later than the engine's word (`"out/im` → readline replaces `im`,
/// the engine completes `out/im`). Candidates are cut to readline's span; when readline's
/// span starts earlier, the missing text is put in front.
struct ReadlineMatches: Equatable {
    /// Replacements for the bytes `readlineStart..<cursor`.
    var candidates: [String]
    /// Appended after a unique match: `(` after a builtin or function, the closing quote after
    /// a file inside a string, a space after a `:command`; nil for nothing.
    var appendCharacter: UInt8?

    static func adapt(_ result: CompletionEngine.Result, lineBytes: [UInt8], readlineStart: Int, cursor: Int,
                      isCallable: (String) -> Bool) -> ReadlineMatches {
        let wordStart = min(max(0, result.wordStart), cursor)
        var candidates: [String]
        if wordStart <= readlineStart {
            let skipped = Array(lineBytes[wordStart..<readlineStart])
            candidates = result.candidates.compactMap { candidate in
                let bytes = Array(candidate.utf8)
                guard bytes.starts(with: skipped) else { return nil }
                return String(decoding: bytes[skipped.count...], as: UTF8.self)
            }
        } else {
            let missing = String(decoding: lineBytes[readlineStart..<wordStart], as: UTF8.self)
            candidates = result.candidates.map { missing + $0 }
        }
        var append: UInt8?
        if result.candidates.count == 1 {
            let only = result.candidates[0]
            switch result.kind {
            case .identifier where isCallable(only): append = UInt8(ascii: "(")
            case .path where !only.hasSuffix("/"):
                append = result.openQuote.flatMap { $0.asciiValue }
            case .command: append = UInt8(ascii: " ")
            default: append = nil
            }
        }
        // Duplicates would make readline list the same word twice.
        var seen = Set<String>()
        candidates = candidates.filter { seen.insert($0).inserted }
        return ReadlineMatches(candidates: candidates, appendCharacter: append)
    }

    /// Readline's match array: malloc'd, `[common prefix, match..., NULL]`, every string malloc'd.
    static func cArray(_ candidates: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !candidates.isEmpty,
              let raw = malloc(MemoryLayout<UnsafeMutablePointer<CChar>?>.stride * (candidates.count + 2)) else { return nil }
        let array = raw.bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: candidates.count + 2)
        array[0] = strdup(commonPrefix(candidates))
        for (i, candidate) in candidates.enumerated() { array[i + 1] = strdup(candidate) }
        array[candidates.count + 1] = nil
        if candidates.count == 1 {
            // A single match: readline expects just [match, NULL].
            free(array[1])
            array[1] = nil
        }
        return array
    }

    /// The longest common prefix, by bytes but never splitting a UTF-8 character.
    static func commonPrefix(_ words: [String]) -> String {
        guard var prefix = words.first.map({ Array($0.utf8) }) else { return "" }
        for word in words.dropFirst() {
            let bytes = Array(word.utf8)
            var n = 0
            while n < prefix.count, n < bytes.count, prefix[n] == bytes[n] { n += 1 }
            prefix.removeSubrange(n...)
        }
        while !prefix.isEmpty, String(bytes: prefix, encoding: .utf8) == nil { prefix.removeLast() }
        return String(decoding: prefix, as: UTF8.self)
    }
}
