import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a running process gets from its caller: a way to learn that the user asked to stop
/// (polled between UNet calls) and a progress reporter.
///
/// The runtime wires ``isCancelled`` to the interpreter's cancellation flag (Ctrl-C), and the
/// reporter to standard error, so standard output stays clean and deterministic.
public final class RunContext {
    /// Receives the progress of `run`.
    public let progress: ProgressReporter
    private let cancelled: () -> Bool

    /// - Parameters:
    ///   - progress: where progress lines go (default: nowhere).
    ///   - isCancelled: polled by ``checkCancelled()``; return true to stop.
    public init(progress: ProgressReporter = ProgressReporter(style: .silent), isCancelled: @escaping () -> Bool = { false }) {
        self.progress = progress
        self.cancelled = isCancelled
    }

    /// A context that never cancels and reports nothing (library use, tests).
    public static var detached: RunContext { RunContext() }

    /// True when the user asked to stop.
    public var isCancelled: Bool { cancelled() }

    /// Throws ``ProcessCancelled`` when the user asked to stop. Processes call it between UNet
    /// calls; ``Process/advance(_:)`` then restores the state from before the step.
    public func checkCancelled() throws {
        if cancelled() { throw ProcessCancelled() }
    }
}

/// One progress line per `run`: redrawn in place after every step on a terminal, or written
/// once when the run ends otherwise (logs and captured output get exactly one line).
///
/// The line is the process's ``Process/progressSummary`` plus the steps done in this run and
/// the time taken: `sampler step 50/50  t=1  (50 steps, 12.3 s, 0.25 s/step)`.
public final class ProgressReporter {
    public enum Style: Sendable {
        /// Reports nothing.
        case silent
        /// Redraws the line after each step (`\r` + clear to end of line); ends it with a newline.
        case inPlace
        /// Writes one line when the run ends.
        case finalLine
    }

    public let style: Style
    private let write: (String) -> Void
    private var started: Date?
    private var stepsThisRun = 0

    /// - Parameters:
    ///   - style: how lines are drawn.
    ///   - write: receives raw text (no newline added; ``Style/finalLine`` text ends with one).
    public init(style: Style, write: @escaping (String) -> Void = { _ in }) {
        self.style = style
        self.write = write
    }

    /// Progress on standard error: redrawn in place when it is a terminal, one final line
    /// otherwise.
    public static func standardError() -> ProgressReporter {
        ProgressReporter(style: isatty(2) != 0 ? .inPlace : .finalLine) { text in
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    /// Starts a run of `process`.
    public func begin(_ process: any Process) {
        started = Date()
        stepsThisRun = 0
        if style == .inPlace { write("\r\u{1B}[K" + line(process)) }
    }

    /// Notes that `process` finished a step (redraws the line during a run).
    public func update(_ process: any Process) {
        guard started != nil else { return }
        stepsThisRun += 1
        if style == .inPlace { write("\r\u{1B}[K" + line(process)) }
    }

    /// Ends the run (also when it was cancelled or failed): the final line.
    public func end(_ process: any Process) {
        guard started != nil else { return }
        switch style {
        case .silent: break
        case .inPlace: write("\r\u{1B}[K" + line(process) + "\n")
        case .finalLine: write(line(process) + "\n")
        }
        started = nil
    }

    private func line(_ process: any Process) -> String {
        let elapsed = started.map { Date().timeIntervalSince($0) } ?? 0
        var text = process.progressSummary
        if stepsThisRun > 0 {
            let per = elapsed / Double(stepsThisRun)
            text += String(format: "  (%d step%@, %.1f s, %.2f s/step)", stepsThisRun, stepsThisRun == 1 ? "" : "s", elapsed, per)
        }
        return text
    }
}
