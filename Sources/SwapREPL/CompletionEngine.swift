import Foundation
import SwapLang
import SwapRuntime

/// Tab-completion candidates for a REPL line, independent of readline (so they can be tested).
///
/// Contexts, decided by the text before the cursor:
///
/// | before the cursor            | candidates                                          |
/// |------------------------------|-----------------------------------------------------|
/// | `:he`                        | meta commands (`:help`)                              |
/// | `:help le`                   | builtin names                                       |
/// | `:load ex`, `:save o`, ...   | file paths                                          |
/// | `load_image("ex`             | file paths (inside any string literal)              |
/// | `latents.sh`, `r.inner.x`    | fields and methods of the value before the dot     |
/// | `lat`                        | variables, builtins and keywords                    |
///
/// Offsets are UTF-8 byte offsets, as readline counts them.
public final class CompletionEngine {
    /// The session whose bindings and builtins are offered (replaced on `:reset`).
    public var session: Session
    /// The folder relative file paths are completed in (the working directory by default).
    public var currentDirectory: String?

    /// What completion found: the start of the word being completed and the full words that
    /// may replace `line[wordStart..<cursor]`.
    public struct Result: Equatable, Sendable {
        public enum Kind: Equatable, Sendable { case identifier, member, command, path, none }
        public var wordStart: Int
        public var candidates: [String]
        public var kind: Kind
        /// The quote that opened the string being completed (paths inside string literals).
        public var openQuote: Character?
    }

    /// Language keywords offered next to variables and builtins.
    public static let keywords = ["and", "break", "continue", "else", "false", "fn", "for", "if", "in",
                                  "nil", "not", "or", "return", "true", "while"]

    public init(session: Session, currentDirectory: String? = nil) {
        self.session = session
        self.currentDirectory = currentDirectory
    }

    /// Candidates for completing `line` with the cursor at its end.
    public func complete(_ line: String) -> Result {
        complete(line: line, cursor: line.utf8.count)
    }

    /// Candidates for completing `line` at the UTF-8 offset `cursor`.
    public func complete(line: String, cursor: Int) -> Result {
        let bytes = Array(line.utf8.prefix(max(0, cursor)))
        let before = String(decoding: bytes, as: UTF8.self)
        // Meta commands and their arguments.
        let trimmed = before.drop { $0 == " " || $0 == "\t" }
        if trimmed.hasPrefix(":") {
            return completeMeta(bytes: bytes, leading: before.utf8.count - trimmed.utf8.count)
        }
        if let quote = Self.openStringQuote(bytes) {
            let start = quote.offset + 1
            let word = String(decoding: bytes[start...], as: UTF8.self)
            return Result(wordStart: start, candidates: paths(matching: word), kind: .path,
                          openQuote: Character(Unicode.Scalar(quote.byte)))
        }
        var start = bytes.count
        while start > 0, Self.isIdentifierByte(bytes[start - 1]) { start -= 1 }
        let word = String(decoding: bytes[start...], as: UTF8.self)
        if word.first?.isNumber == true { return Result(wordStart: start, candidates: [], kind: .none) }
        if start > 0, bytes[start - 1] == UInt8(ascii: ".") {
            var chainStart = start - 1
            while chainStart > 0, Self.isIdentifierByte(bytes[chainStart - 1]) || bytes[chainStart - 1] == UInt8(ascii: ".") {
                chainStart -= 1
            }
            let chain = String(decoding: bytes[chainStart..<(start - 1)], as: UTF8.self)
            let names = value(ofChain: chain).map { session.interpreter.fieldNames(of: $0) } ?? []
            let matches = Array(Set(names.filter { $0.hasPrefix(word) })).sorted()
            return Result(wordStart: start, candidates: matches, kind: .member)
        }
        let names = session.interpreter.completions(prefix: word) + Self.keywords.filter { $0.hasPrefix(word) }
        return Result(wordStart: start, candidates: Array(Set(names)).sorted(), kind: .identifier)
    }

    /// True when `name` is a builtin (the REPL appends `(` after completing one).
    public func isCallable(_ name: String) -> Bool {
        if session.interpreter.registry.lookup(name) != nil, session.bindings[name] == nil { return true }
        switch session.bindings[name] {
        case .function?, .builtin?: return true
        default: return false
        }
    }

    // MARK: - Contexts

    private func completeMeta(bytes: [UInt8], leading: Int) -> Result {
        let afterColon = leading + 1
        guard let space = bytes[afterColon...].firstIndex(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) else {
            let word = String(decoding: bytes[leading...], as: UTF8.self)
            let names = MetaCommand.names.map { ":" + $0 }.filter { $0.hasPrefix(word) }
            return Result(wordStart: leading, candidates: names, kind: .command)
        }
        let commandWord = String(decoding: bytes[afterColon..<space], as: UTF8.self)
        var start = bytes.count
        while start > space, bytes[start - 1] != UInt8(ascii: " "), bytes[start - 1] != UInt8(ascii: "\t") { start -= 1 }
        let word = String(decoding: bytes[start...], as: UTF8.self)
        switch try? MetaCommand.resolveName(commandWord) {
        case "help"?:
            let names = session.interpreter.registry.byName.keys.filter { $0.hasPrefix(word) }.sorted()
            return Result(wordStart: start, candidates: names, kind: .identifier)
        case "load"?, "record"?, "save"?, "export"?:
            return Result(wordStart: start, candidates: paths(matching: word), kind: .path)
        default:
            return Result(wordStart: start, candidates: [], kind: .none)
        }
    }

    /// The value of `a` or `a.b.c` (record fields and host fields), or nil.
    private func value(ofChain chain: String) -> Value? {
        let parts = chain.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, !first.isEmpty, var current = session.bindings[first] else { return nil }
        for name in parts.dropFirst() {
            switch current {
            case .record(let box):
                guard let next = box.fields[name] else { return nil }
                current = next
            case .host(let host):
                guard let next = (try? host.field(name)) ?? nil else { return nil }
                current = next
            default:
                return nil
            }
        }
        return current
    }

    /// File system entries whose path starts with `word`; folders end in `/`. Hidden entries
    /// are offered only when the typed name starts with a dot.
    func paths(matching word: String) -> [String] {
        let slash = word.lastIndex(of: "/")
        let folderPart = slash.map { String(word[...$0]) } ?? ""
        let namePrefix = slash.map { String(word[word.index(after: $0)...]) } ?? word
        var folder = folderPart.isEmpty ? "." : folderPart
        if folder.hasPrefix("~") { folder = (folder as NSString).expandingTildeInPath }
        if !folder.hasPrefix("/"), let base = currentDirectory {
            folder = (base as NSString).appendingPathComponent(folder)
        }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var result: [String] = []
        for entry in entries where entry.hasPrefix(namePrefix) {
            if entry.hasPrefix("."), !namePrefix.hasPrefix(".") { continue }
            var isDirectory: ObjCBool = false
            let full = (folder as NSString).appendingPathComponent(entry)
            _ = FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory)
            result.append(folderPart + entry + (isDirectory.boolValue ? "/" : ""))
        }
        return result.sorted()
    }

    // MARK: - Lexical helpers

    static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") || b >= 0x80
    }

    /// The quote byte and offset of a string literal still open at the end of `bytes`
    /// (skipping comments and backslash escapes), or nil.
    static func openStringQuote(_ bytes: [UInt8]) -> (byte: UInt8, offset: Int)? {
        var open: (byte: UInt8, offset: Int)?
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if let current = open {
                if b == UInt8(ascii: "\\") { i += 2; continue }
                if b == current.byte { open = nil }
            } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                open = (b, i)
            } else if b == UInt8(ascii: "#") {
                return nil
            }
            i += 1
        }
        return open
    }
}
