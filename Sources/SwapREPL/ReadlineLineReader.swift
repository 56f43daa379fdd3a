import CReadline
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Line editing with GNU readline: cursor movement, Ctrl-R search, history persisted to a
/// file, and tab completion through `CompletionEngine`.
///
/// Readline's own signal handlers are off (`rl_catch_signals = 0`): Ctrl-C reaches the REPL's
/// `InterruptHandler`, which sets the interpreter's cancellation flag. While readline waits
/// for a key it calls an event hook ten times a second; the hook sees the flag, clears the
/// line and finishes the read, which this reader reports as `.interrupted`.
/// Readline keeps global state, so one reader should exist at a time.
public final class ReadlineLineReader: LineReader {
    private let historyPath: String
    /// Most lines kept in the history file.
    public static let historyLimit: Int32 = 2000

    // Readline calls plain C functions, so the state they need lives here.
    nonisolated(unsafe) static var completion: CompletionEngine?
    nonisolated(unsafe) static var interruptRequested: (@Sendable () -> Bool)?
    nonisolated(unsafe) static var clearInterrupt: (@Sendable () -> Void)?
    nonisolated(unsafe) static var interruptedDuringRead = false
    /// Kept alive for readline, which stores the pointers.
    nonisolated(unsafe) private static let breakCharacters = strdup(" \t\n\"'`@$><=;|&{([,:+-*/%!?.])}")
    nonisolated(unsafe) private static let readlineName = strdup("swapscript")

    public init(historyPath: String, completion: CompletionEngine?,
                interruptRequested: @escaping @Sendable () -> Bool, clearInterrupt: @escaping @Sendable () -> Void) {
        self.historyPath = historyPath
        Self.completion = completion
        Self.interruptRequested = interruptRequested
        Self.clearInterrupt = clearInterrupt
        swap_rl_set_readline_name(Self.readlineName)
        swap_rl_set_catch_signals(0)
        swap_rl_set_basic_word_break_characters(Self.breakCharacters)
        swap_rl_set_completion(ReadlineLineReader.attemptCompletion)
        swap_rl_set_event_hook(ReadlineLineReader.eventHook)
        swap_rl_set_keyboard_input_timeout_us(100_000)
        using_history()
        stifle_history(Self.historyLimit)
        _ = read_history(historyPath)   // a missing file is not an error
    }

    public func readLine(prompt: String) -> LineInput {
        Self.interruptedDuringRead = false
        Self.clearInterrupt?()
        guard let raw = readline(prompt) else {
            if Self.interruptedDuringRead { Self.clearInterrupt?(); return .interrupted }
            return .endOfInput
        }
        defer { free(raw) }
        if Self.interruptedDuringRead {
            Self.clearInterrupt?()
            return .interrupted
        }
        return .line(String(cString: raw))
    }

    public func addHistory(_ line: String) {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        add_history(line)
        // Append as we go, so history survives a crash or a kill; trimmed on close.
        if append_history(1, historyPath) != 0 {
            _ = write_history(historyPath)
        }
    }

    public func close() {
        _ = history_truncate_file(historyPath, Self.historyLimit)
    }

    // MARK: - Readline callbacks

    /// Polled while readline waits for input: finishes the read when Ctrl-C was pressed.
    private static let eventHook: @convention(c) () -> Int32 = {
        if interruptRequested?() == true {
            interruptedDuringRead = true
            swap_rl_clear_line()
            swap_rl_set_done(1)
            FileHandle.standardOutput.write(Data("^C".utf8))
        }
        return 0
    }

    /// `rl_attempted_completion_function`: matches for `text`, which spans bytes
    /// `start..<end` of the line. Returns a malloc'd, NULL-terminated array whose first entry is
    /// the common prefix (readline's contract), or NULL for no matches.
    private static let attemptCompletion: @convention(c) (UnsafePointer<CChar>?, Int32, Int32)
        -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = { _, start, end in
        swap_rl_set_attempted_completion_over(1)
        guard let engine = completion, let buffer = swap_rl_line_buffer() else { return nil }
        let lineBytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self),
                                                  count: strlen(buffer)))
        let cursor = min(Int(end), lineBytes.count)
        let readlineStart = max(0, min(Int(start), cursor))
        let result = engine.complete(line: String(decoding: lineBytes, as: UTF8.self), cursor: cursor)
        let matches = ReadlineMatches.adapt(result, lineBytes: lineBytes, readlineStart: readlineStart,
                                            cursor: cursor, isCallable: engine.isCallable)
        guard !matches.candidates.isEmpty else { return nil }
        if let append = matches.appendCharacter {
            swap_rl_set_completion_append_character(Int32(append))
            swap_rl_set_completion_suppress_append(0)
        } else {
            swap_rl_set_completion_suppress_append(1)
        }
        return ReadlineMatches.cArray(matches.candidates)
    }
}
