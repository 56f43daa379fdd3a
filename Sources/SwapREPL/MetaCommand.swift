import Foundation

/// A REPL command: a line starting with `:` (GHCi style), which is not part of the language.
///
/// Names may be abbreviated to any unique prefix: `:h` is `:help`, `:ti` is `:time`, while
/// `:re` is ambiguous between `:record` and `:reset`.
///
/// | command                              | does                                                  |
/// |--------------------------------------|-------------------------------------------------------|
/// | `:help [name]`                       | REPL commands and builtin index, or one builtin       |
/// | `:vars`                              | bindings: name, kind, shape or summary                |
/// | `:time stmt`                         | runs a statement, prints wall time and peak RSS        |
/// | `:load file [cell N \| line N]`      | runs a script (or one cell / the statement on a line) |
/// | `:record file` / `:record off`       | keeps `file` updated with every statement that succeeds |
/// | `:save file`                         | writes the statements that succeeded so far            |
/// | `:export report.html`                | writes a self-contained HTML notebook of the session  |
/// | `:reset`                             | a fresh session (bindings, transcript, line numbers)  |
/// | `:quit`                              | leaves the REPL (as does Ctrl-D)                      |
public enum MetaCommand: Equatable, Sendable {
    /// The part of a script `:load` runs.
    public enum LoadSelection: Equatable, Sendable {
        case all
        /// Only cell N (cells start with `## title`; the text before the first marker is cell 0).
        case cell(Int)
        /// Only the top-level statement on (or spanning) line N.
        case line(Int)
    }

    case help(String?)
    case vars
    case time(String)
    case load(path: String, selection: LoadSelection)
    case record(path: String?)
    case save(path: String)
    case export(path: String)
    case reset
    case quit

    /// Every command name, in the order `:help` lists them.
    public static let names = ["help", "vars", "time", "load", "record", "save", "export", "reset", "quit"]

    /// One line per command for `:help`.
    public static let summaries: [(String, String)] = [
        (":help [name]", "this list, or help on a builtin (also ?name and help name)"),
        (":vars", "bindings with kind and shape or value"),
        (":time stmt", "run a statement and print wall time and peak memory"),
        (":load file [cell N | line N]", "run a script, one cell or one statement in this session"),
        (":record file | off", "keep file updated with every statement that succeeds"),
        (":save file", "write the statements that succeeded so far as a script"),
        (":export report.html", "write the session as a self-contained HTML page"),
        (":reset", "start over: no bindings, empty transcript"),
        (":quit", "leave (Ctrl-D too); Ctrl-C interrupts a running statement"),
    ]

    /// Why a command line could not be parsed; `message` is shown to the user.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The full command name for an abbreviation (`"ti"` → `"time"`).
    public static func resolveName(_ abbreviation: String) throws -> String {
        let lowered = abbreviation.lowercased()
        if names.contains(lowered) { return lowered }
        let matches = names.filter { $0.hasPrefix(lowered) }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty || lowered.isEmpty {
            throw ParseError(message: "unknown command ':\(abbreviation)' (:help lists the commands)")
        }
        throw ParseError(message: "ambiguous command ':\(abbreviation)': " + matches.map { ":" + $0 }.joined(separator: ", "))
    }

    /// True when the REPL should treat `line` as a command rather than source text.
    public static func isCommand(_ line: String) -> Bool {
        line.drop { $0 == " " || $0 == "\t" }.hasPrefix(":")
    }

    /// Parses a line starting with `:`.
    public static func parse(_ line: String) throws -> MetaCommand {
        var rest = Substring(line).drop { $0 == " " || $0 == "\t" }
        guard rest.hasPrefix(":") else { throw ParseError(message: "a command starts with ':'") }
        rest = rest.dropFirst()
        let nameEnd = rest.firstIndex { $0 == " " || $0 == "\t" } ?? rest.endIndex
        let name = try resolveName(String(rest[..<nameEnd]))
        let argument = rest[nameEnd...].trimmingCharacters(in: .whitespaces)
        let words = argument.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)

        func noArgument(_ command: MetaCommand) throws -> MetaCommand {
            guard argument.isEmpty else { throw ParseError(message: ":\(name) takes no argument") }
            return command
        }
        func onePath(_ usage: String) throws -> String {
            guard words.count == 1 else { throw ParseError(message: "usage: \(usage)") }
            return words[0]
        }

        switch name {
        case "help":
            guard words.count <= 1 else { throw ParseError(message: "usage: :help [name]") }
            return .help(words.first)
        case "vars": return try noArgument(.vars)
        case "reset": return try noArgument(.reset)
        case "quit": return try noArgument(.quit)
        case "time":
            guard !argument.isEmpty else { throw ParseError(message: "usage: :time statement") }
            return .time(argument)
        case "record":
            let path = try onePath(":record file.swapscript | :record off")
            return .record(path: path == "off" ? nil : path)
        case "save": return .save(path: try onePath(":save file.swapscript"))
        case "export": return .export(path: try onePath(":export report.html"))
        default:
            return try parseLoad(words)
        }
    }

    private static func parseLoad(_ words: [String]) throws -> MetaCommand {
        let usage = "usage: :load file.swapscript [cell N | line N]"
        switch words.count {
        case 1:
            return .load(path: words[0], selection: .all)
        case 3:
            guard let n = Int(words[2]), n >= 0 else { throw ParseError(message: usage) }
            switch words[1].lowercased() {
            case "cell": return .load(path: words[0], selection: .cell(n))
            case "line" where n >= 1: return .load(path: words[0], selection: .line(n))
            default: throw ParseError(message: usage)
            }
        default:
            throw ParseError(message: usage)
        }
    }
}
