import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one attempt to read a line produced.
public enum LineInput: Equatable, Sendable {
    /// A line of text, without its newline.
    case line(String)
    /// Ctrl-C at the prompt: the line was discarded; the REPL shows a fresh prompt.
    case interrupted
    /// End of input (Ctrl-D on an empty line, or the end of a pipe): the REPL ends.
    case endOfInput
}

/// Where the REPL gets its lines from. `ReadlineLineReader` edits lines in a terminal with
/// history and completion; `PlainLineReader` reads a pipe or file without any terminal codes.
public protocol LineReader: AnyObject {
    /// Shows `prompt` (when the reader shows prompts at all) and reads one line.
    func readLine(prompt: String) -> LineInput
    /// Remembers a submitted line for history recall (and persistence, where supported).
    func addHistory(_ line: String)
    /// Flushes history to disk; called once when the REPL ends.
    func close()
}

extension LineReader {
    public func addHistory(_ line: String) {}
    public func close() {}
}

/// Reads lines from a file descriptor (standard input by default) without line editing.
///
/// Used when standard input is not a terminal (`swapscript < notes.swapscript`, a pipe from
/// another program). It writes no escape codes; prompts are written only when `showsPrompts`
/// is true (by default, when standard output is a terminal), so piping a script through the
/// REPL gives a clean transcript of results.
public final class PlainLineReader: LineReader {
    private let fd: Int32
    private let showsPrompts: Bool
    private var buffer: [UInt8] = []
    private var atEnd = false

    /// - Parameters:
    ///   - fileDescriptor: where lines come from.
    ///   - showsPrompts: write the prompt to standard output before each read.
    public init(fileDescriptor: Int32 = STDIN_FILENO, showsPrompts: Bool? = nil) {
        self.fd = fileDescriptor
        self.showsPrompts = showsPrompts ?? (isatty(STDOUT_FILENO) == 1)
    }

    public func readLine(prompt: String) -> LineInput {
        if showsPrompts {
            FileHandle.standardOutput.write(Data(prompt.utf8))
        }
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var lineBytes = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                if lineBytes.last == UInt8(ascii: "\r") { lineBytes.removeLast() }
                return .line(String(decoding: lineBytes, as: UTF8.self))
            }
            if atEnd {
                if buffer.isEmpty { return .endOfInput }
                let rest = buffer
                buffer.removeAll()
                return .line(String(decoding: rest, as: UTF8.self))
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer.append(contentsOf: chunk[..<n])
            } else if n == 0 || errno != EINTR {
                atEnd = true
            }
        }
    }
}

/// Picks the reader for this process: readline when standard input is a terminal, else plain.
public enum LineReaders {
    /// The history file: `$SWAPSCRIPT_HISTORY` when set, else `~/.swapscript_history`.
    public static func historyPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["SWAPSCRIPT_HISTORY"], !path.isEmpty { return path }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".swapscript_history")
    }

    /// Readline for a terminal, the plain reader otherwise.
    public static func standard(completion: CompletionEngine?, interruptFlag: @escaping @Sendable () -> Bool,
                                clearInterrupt: @escaping @Sendable () -> Void) -> LineReader {
        if isatty(STDIN_FILENO) == 1 {
            return ReadlineLineReader(historyPath: historyPath(), completion: completion,
                                      interruptRequested: interruptFlag, clearInterrupt: clearInterrupt)
        }
        return PlainLineReader()
    }
}
