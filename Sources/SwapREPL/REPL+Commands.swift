import Foundation
import SwapLang
import SwapRuntime

/// Carrying out `MetaCommand`s. Every command becomes a transcript entry (so `:export` shows
/// `:vars` tables and `:time` results); only `:time` and `:load` add statements to `:save`.
extension REPL {
    /// Parses and runs a `:command` line. Returns false when the REPL should end.
    @discardableResult
    public func handleCommand(_ line: String) -> Bool {
        begin(line.trimmingCharacters(in: .whitespaces))
        defer { finish() }
        let command: MetaCommand
        do {
            command = try MetaCommand.parse(line)
        } catch {
            emitError("error: \(error)")
            return true
        }
        switch command {
        case .quit:
            return false
        case .help(let name):
            showHelp(name)
        case .vars:
            for row in variableTable() { emit(row) }
        case .time(let statement):
            let usage = ResourceUsage.measure {
                _ = runSource(statement, file: "<repl>", firstLine: nextLine)
            }
            nextLine += statement.split(separator: "\n", omittingEmptySubsequences: false).count
            emit(usage.formatted)
        case .load(let path, let selection):
            load(path, selection)
        case .record(let path):
            do {
                try transcript.record(to: path)
                emit(path.map { "recording to \($0)" } ?? "recording stopped")
            } catch {
                emitError("error: cannot record to '\(path ?? "")': \(error)")
            }
        case .save(let path):
            do {
                try transcript.write(to: path)
                emit("saved \(transcript.executedStatements.count) statements to \(path)")
            } catch {
                emitError("error: cannot save '\(path)': \(error)")
            }
        case .export(let path):
            do {
                try HTMLNotebook.write(transcript.entries, to: path)
                emit("wrote \(path)")
            } catch {
                emitError("error: cannot export '\(path)': \(error)")
            }
        case .reset:
            reset()
            emit("session reset")
        }
        return true
    }

    /// `:reset`: a fresh session with the same output folder and seed; the transcript and
    /// line numbers start over (a running `:record` continues into its file).
    func reset() {
        let fresh = Session(outputFolder: session.outputFolder, seed: session.seed)
        session = fresh
        attach(fresh)
        transcript.clear()
        nextLine = 1
    }

    private func showHelp(_ name: String?) {
        let registry = session.interpreter.registry
        if let name {
            for line in registry.helpText(for: name).split(separator: "\n", omittingEmptySubsequences: false) {
                emit(String(line))
            }
            return
        }
        emit("REPL commands (any unique prefix works, e.g. :h, :ti):")
        let width = MetaCommand.summaries.map(\.0.count).max() ?? 0
        for (usage, text) in MetaCommand.summaries {
            emit("  " + usage.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + text)
        }
        for line in registry.helpIndex().split(separator: "\n") { emit(String(line)) }
    }

    /// `:vars` rows: name, kind, and the shape (tensors) or the one-line summary.
    func variableTable() -> [String] {
        let bindings = session.bindings.sorted { $0.key < $1.key }
        if bindings.isEmpty { return ["no variables"] }
        let nameWidth = min(24, bindings.map(\.key.count).max() ?? 0)
        let kindWidth = bindings.map { $0.value.typeName.count }.max() ?? 0
        return bindings.map { name, value in
            name.padding(toLength: max(nameWidth, name.count), withPad: " ", startingAt: 0) + "  "
                + value.typeName.padding(toLength: kindWidth, withPad: " ", startingAt: 0) + "  "
                + Self.detail(of: value)
        }
    }

    /// A tensor's shape (`[1, 4, 64, 64]`), else the summary cut to 60 characters.
    static func detail(of value: Value) -> String {
        if case .host(let host) = value, host.kindName == "tensor",
           case .list(let shape)? = try? host.field("shape") {
            return "[" + shape.items.map(\.summary).joined(separator: ", ") + "]"
        }
        let summary = value.summary.replacingOccurrences(of: "\n", with: " ")
        return summary.count > 60 ? String(summary.prefix(59)) + "…" : summary
    }

    // MARK: - :load

    /// Runs a script file, one of its cells, or the statement on one of its lines, in the
    /// live session. Diagnostics name the file and its own line numbers.
    func load(_ path: String, _ selection: MetaCommand.LoadSelection) {
        guard let source = try? String(contentsOfFile: path, encoding: .utf8) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read the file (not UTF-8 text?)" : "no such file"
            emitError("\(path): error: \(reason)")
            return
        }
        guard let (text, firstLine) = select(selection, from: source, file: path) else { return }
        let workspace = session.workspace
        let previousFolder = workspace.scriptFolder
        let folder = (path as NSString).deletingLastPathComponent
        workspace.scriptFolder = folder.isEmpty ? "." : folder
        defer { workspace.scriptFolder = previousFolder }
        let status = runSource(text, file: path, firstLine: firstLine)
        let count = session.lastResult?.executed.count ?? 0
        emit("loaded \(path): \(count) statement\(count == 1 ? "" : "s") ran" + (status == .ok ? "" : " (stopped early)"))
    }

    /// The text to run for `selection` and the line it starts on, or nil (after reporting why).
    func select(_ selection: MetaCommand.LoadSelection, from source: String, file: String) -> (String, Int)? {
        if case .all = selection { return (source, 1) }
        let (program, diagnostics) = Interpreter.parse(source: source, file: file)
        if !diagnostics.isEmpty {
            for d in diagnostics { emitError(d.formatted) }
            return nil
        }
        let scalars = Array(source.unicodeScalars)
        func text(_ from: Int, _ to: Int) -> String {
            var view = String.UnicodeScalarView()
            let lo = min(max(0, from), scalars.count)
            view.append(contentsOf: scalars[lo..<max(lo, min(to, scalars.count))])
            return String(view)
        }
        func endLine(_ stmt: Stmt) -> Int {
            let lo = min(max(0, stmt.startOffset), scalars.count)
            return stmt.location.line + scalars[lo..<max(lo, min(stmt.endOffset, scalars.count))].filter { $0 == "\n" }.count
        }
        let chosen: [Stmt]
        switch selection {
        case .cell(let n):
            chosen = program.statements.filter { $0.cell == n }
            if chosen.isEmpty {
                let known = program.cells.map { "\($0.index)" }.joined(separator: ", ")
                emitError("\(file): error: no statements in cell \(n)" + (known.isEmpty ? " (the file has no cells)" : " (cells: \(known))"))
                return nil
            }
        case .line(let n):
            chosen = program.statements.filter { $0.location.line <= n && endLine($0) >= n }
            if chosen.isEmpty {
                emitError("\(file): error: no statement on line \(n)")
                return nil
            }
        case .all:
            chosen = program.statements
        }
        guard let first = chosen.first, let last = chosen.last else { return nil }
        // Start at the beginning of the first statement's line so columns stay right.
        var lineStart = min(max(0, first.startOffset), scalars.count)
        while lineStart > 0, scalars[lineStart - 1] != "\n" { lineStart -= 1 }
        return (text(lineStart, last.endOffset), first.location.line)
    }
}
