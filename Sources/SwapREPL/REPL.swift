import Foundation
import SwapLang
import SwapRuntime

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The read-eval-print loop: one `Session` for its whole life, so bindings survive between
/// lines and survive errors (a failed statement restores the bindings it changed).
///
/// ```swift
/// let repl = REPL(session: Session(outputFolder: "out"))
/// repl.run()                         // reads until :quit or Ctrl-D
/// ```
///
/// Input is read with `>> ` and, while `Interpreter.isIncomplete` says the statement is
/// unfinished, `.. `. Lines are numbered across the session, so diagnostics read
/// `<repl>:12:5: error: ...`. Lines starting with `:` are `MetaCommand`s.
public final class REPL {
    /// The live session (replaced by `:reset`).
    public internal(set) var session: Session
    /// Every input and its results (`:save`, `:record`, `:export`).
    public let transcript = Transcript()
    /// Completion candidates for the line reader.
    public let completion: CompletionEngine
    /// The line number the next input starts on.
    public internal(set) var nextLine = 1

    let reader: LineReader
    /// Set by Ctrl-C (through `InterruptHandler`); polled by the interpreter and the reader.
    let interruptFlag = CancellationFlag()
    /// Writes to standard output / standard error (replaceable for tests).
    let writeOutput: (String) -> Void
    let writeError: (String) -> Void
    /// The inline-image protocol, decided when the first image is shown.
    var graphics: GraphicsProtocol?
    /// The entry being built while an input runs.
    var current: TranscriptEntry?
    private var filesSeen = 0
    private var shownThisInput = Set<String>()

    /// - Parameters:
    ///   - session: the session to continue (e.g. after `swapscript run FILE --then-repl`).
    ///   - reader: where lines come from; nil picks readline for a terminal, else plain.
    ///   - graphics: force an inline-image protocol; nil detects it on first use.
    ///   - writeOutput / writeError: sinks for text (standard output / error by default).
    public init(session: Session, reader: LineReader? = nil, graphics: GraphicsProtocol? = nil,
                writeOutput: @escaping (String) -> Void = REPL.standardOutput,
                writeError: @escaping (String) -> Void = REPL.standardError) {
        self.session = session
        self.graphics = graphics
        self.writeOutput = writeOutput
        self.writeError = writeError
        self.completion = CompletionEngine(session: session)
        let flag = interruptFlag
        self.reader = reader ?? LineReaders.standard(completion: completion,
                                                     interruptFlag: { flag.isCancelled },
                                                     clearInterrupt: { flag.reset() })
        attach(session)
    }

    /// Writes text to standard output unbuffered (so it interleaves correctly with readline).
    public static func standardOutput(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
    /// Writes text to standard error.
    public static func standardError(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    /// Makes Ctrl-C cancel the running statement instead of ending the process.
    public func installInterruptHandler() {
        InterruptHandler.install(cancelling: interruptFlag, mode: .repl)
    }

    /// Hooks the session's output, diagnostics and display into the REPL.
    func attach(_ session: Session) {
        // Text the session printed before (a `run FILE --then-repl` script) comes first.
        fflush(nil)
        session.interpreter.replMode = true
        let flag = interruptFlag
        session.interpreter.shouldCancel = { flag.isCancelled }
        session.output = { [unowned self] line in self.emit(line) }
        session.errorOutput = { [unowned self] text in self.emitError(text) }
        session.interpreter.display = { [unowned self] value in self.display(value) }
        filesSeen = session.writtenFiles.count
        completion.session = session
    }

    // MARK: - The loop

    /// Reads and runs inputs until `:quit` or end of input. Returns the exit status (0).
    @discardableResult
    public func run() -> Int32 {
        if isatty(STDIN_FILENO) == 1 {
            writeOutput("SwapScript REPL  (:help for commands, Ctrl-D to quit)\n")
        }
        var pending: [String] = []
        loop: while true {
            switch reader.readLine(prompt: pending.isEmpty ? ">> " : ".. ") {
            case .endOfInput:
                if !pending.isEmpty { evaluate(pending.joined(separator: "\n")) }
                if isatty(STDIN_FILENO) == 1 { writeOutput("\n") }
                break loop
            case .interrupted:
                // The reader has already echoed ^C and ended the line.
                pending.removeAll()
            case .line(let line):
                if pending.isEmpty {
                    if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
                    if MetaCommand.isCommand(line) {
                        reader.addHistory(line)
                        if !handleCommand(line) { break loop }
                        continue
                    }
                }
                pending.append(line)
                let text = pending.joined(separator: "\n")
                // Two empty lines end an unfinished statement, so its error gets shown.
                let gaveUp = pending.count > 2 && pending.suffix(2).allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty }
                if Interpreter.isIncomplete(text) && !gaveUp { continue }
                reader.addHistory(text)
                pending.removeAll()
                evaluate(text)
            }
        }
        reader.close()
        return 0
    }

    /// Runs source text as one input: records it, shows its output and images, and advances
    /// the line count. Returns the run's exit class.
    @discardableResult
    public func evaluate(_ source: String) -> ExitClass {
        begin(source)
        let status = runSource(source, file: "<repl>", firstLine: nextLine)
        nextLine += source.split(separator: "\n", omittingEmptySubsequences: false).count
        finish()
        return status
    }

    /// Runs `source` in the session, adding what succeeded to the current entry.
    func runSource(_ source: String, file: String, firstLine: Int) -> ExitClass {
        interruptFlag.reset()
        let status = session.run(source: source, file: file, firstLine: firstLine)
        current?.executed += session.lastResult?.executed.map(\.text) ?? []
        return status
    }

    // MARK: - Entries and output

    func begin(_ input: String) {
        current = TranscriptEntry(input: input)
        shownThisInput.removeAll()
        filesSeen = session.writtenFiles.count
    }

    func finish() {
        guard let entry = current else { return }
        current = nil
        if let problem = transcript.append(entry) { emitError("error: " + problem) }
    }

    /// Prints one line of output, records it, and shows any image files written meanwhile.
    func emit(_ line: String) {
        writeOutput(line + "\n")
        current?.output.append(line)
        let files = session.writtenFiles
        if files.count > filesSeen {
            for path in files[filesSeen...] where path.lowercased().hasSuffix(".png") { showImage(path) }
            filesSeen = files.count
        }
    }

    /// Prints a diagnostic or command error to standard error and records it.
    func emitError(_ text: String) {
        // A terminal has echoed ^C on the statement's line: start the message on a new one.
        let newline = interruptFlag.isCancelled && isatty(STDOUT_FILENO) == 1 ? "\n" : ""
        writeError(newline + text + "\n")
        current?.errors.append(text)
    }

    /// Shows a top-level expression's value; images also inline.
    func display(_ value: Value) {
        emit(value.summary)
        if case .host(let host) = value, let image = host as? ImageValue, let path = image.path {
            showImage(path)
        }
    }

    /// Records `path` as an image of the current input and shows it inline where supported.
    func showImage(_ path: String) {
        current?.addImage(path)
        guard shownThisInput.insert(path).inserted else { return }
        if graphics == nil { graphics = TerminalGraphics.detect() }
        if let proto = graphics, let sequence = InlineImageEncoder.encode(fileAt: path, for: proto) {
            writeOutput(sequence)
        }
    }
}
