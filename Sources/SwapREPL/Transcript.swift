import Foundation
import SwapIO

/// One input of a REPL session and everything it produced.
public struct TranscriptEntry: Equatable, Sendable {
    /// What was typed (a statement, possibly several lines, or a `:command`).
    public var input: String
    /// Lines printed to standard output, in order (`wrote PATH` lines included).
    public var output: [String] = []
    /// Diagnostics and command errors, each a block of lines.
    public var errors: [String] = []
    /// PNG files the input wrote or displayed, in order, without duplicates.
    public var images: [String] = []
    /// The statements that ran to completion, as source text (what `:save` writes).
    public var executed: [String] = []

    public init(input: String, output: [String] = [], errors: [String] = [], images: [String] = [],
                executed: [String] = []) {
        self.input = input
        self.output = output
        self.errors = errors
        self.images = images
        self.executed = executed
    }

    /// Adds an image path unless it is already listed.
    public mutating func addImage(_ path: String) {
        if !images.contains(path) { images.append(path) }
    }
}

/// The session's history of inputs and results: the source of `:save`, `:record` and `:export`.
public final class Transcript {
    public private(set) var entries: [TranscriptEntry] = []
    /// Where `:record` keeps a script up to date, or nil when not recording.
    public private(set) var recordingPath: String?

    public init() {}

    /// Appends a finished entry and, when recording, rewrites the recorded script.
    /// Returns an error message when the recording could not be written.
    @discardableResult
    public func append(_ entry: TranscriptEntry) -> String? {
        entries.append(entry)
        guard let path = recordingPath, !entry.executed.isEmpty else { return nil }
        do {
            try write(to: path)
            return nil
        } catch {
            return "cannot update the recording '\(path)': \(error)"
        }
    }

    /// Forgets every entry (`:reset`); recording continues into the same file.
    public func clear() { entries.removeAll() }

    /// Starts recording into `path` (writing the statements so far at once), or stops (nil).
    public func record(to path: String?) throws {
        if let path { try write(to: path) }
        recordingPath = path
    }

    /// Every statement that succeeded, in order.
    public var executedStatements: [String] { entries.flatMap(\.executed) }

    /// A replayable script of the statements that succeeded: `swapscript run FILE` redoes
    /// the session's work (failed statements and `:commands` are left out).
    public func scriptText() -> String {
        var text = "# SwapScript session saved from the REPL; replay with: swapscript run FILE\n"
        for statement in executedStatements {
            text += statement.hasSuffix("\n") ? statement : statement + "\n"
        }
        return text
    }

    /// Writes `scriptText()` to `path` atomically (temporary file, fsync, rename).
    public func write(to path: String) throws {
        try AtomicFile.write(Data(scriptText().utf8), to: path)
    }
}
