/// How a run ended, mapped to process exit codes (sysexits style, like jlox).
public enum ExitClass: Int32, Sendable {
    case ok = 0
    /// A parse or resolve error: nothing was run.
    case scriptError = 65
    /// A statement failed while running.
    case runtimeFailure = 70
    /// The run was cancelled (Ctrl-C).
    case interrupted = 130
}

/// One error found in a source text, with enough context to print
/// `FILE:LINE:COL: error: message`, the source line and a caret.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning, note }

    public var severity: Severity
    public var message: String
    public var location: SourceLocation
    /// The full text of the line the error is on (without the newline).
    public var sourceLine: String
    /// True when the error was found at the end of the input: the statement is unfinished
    /// (the Lua `<eof>` rule the REPL uses for continuation lines).
    public var atEndOfInput: Bool

    public init(severity: Severity = .error, message: String, location: SourceLocation,
                sourceLine: String, atEndOfInput: Bool = false) {
        self.severity = severity
        self.message = message
        self.location = location
        self.sourceLine = sourceLine
        self.atEndOfInput = atEndOfInput
    }

    /// Three lines: the header, the source line and a caret under the column.
    /// Tabs before the column are kept so the caret lines up in a terminal.
    public var formatted: String {
        let header = "\(location): \(severity.rawValue): \(message)"
        var pad = ""
        for (i, ch) in sourceLine.enumerated() where i < location.column - 1 {
            pad.append(ch == "\t" ? "\t" : " ")
        }
        let missing = max(0, location.column - 1 - sourceLine.count)
        pad += String(repeating: " ", count: missing)
        return "\(header)\n\(sourceLine)\n\(pad)^"
    }

    public var description: String { formatted }
}

/// A source text split into lines, used to build diagnostics.
struct SourceText {
    let file: String
    let scalars: [Unicode.Scalar]
    let lines: [String]

    init(_ text: String, file: String) {
        self.file = file
        self.scalars = Array(text.unicodeScalars)
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
    }

    func line(_ n: Int) -> String {
        n >= 1 && n <= lines.count ? lines[n - 1] : ""
    }

    func diagnostic(_ message: String, line: Int, column: Int, atEnd: Bool = false) -> Diagnostic {
        Diagnostic(message: message, location: SourceLocation(file: file, line: line, column: column),
                   sourceLine: self.line(line), atEndOfInput: atEnd)
    }

    /// The source text between two scalar offsets.
    func text(from start: Int, to end: Int) -> String {
        let lo = max(0, min(start, scalars.count)), hi = max(lo, min(end, scalars.count))
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[lo..<hi])
        return String(view)
    }
}

/// Joins diagnostics into the text a front end prints (one block per diagnostic).
public func formatDiagnostics(_ diagnostics: [Diagnostic]) -> String {
    diagnostics.map(\.formatted).joined(separator: "\n")
}
