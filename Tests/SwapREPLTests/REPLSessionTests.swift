import Foundation
import SwapLang
import SwapRuntime
import Testing
@testable import SwapREPL

/// The loop, driven by a scripted reader: prompts, errors, commands and their files.
@Suite struct REPLSessionTests {
    @Test func continuationPromptsAndLineNumbers() {
        let h = REPLHarness(["fn double(x) {", "  return 2 * x", "}", "double(21)", "nope"])
        h.run()
        #expect(h.reader.prompts == [">> ", ".. ", ".. ", ">> ", ">> ", ">> "])
        #expect(h.out == "42\n")
        // The fifth line of the session.
        #expect(h.err.hasPrefix("<repl>:5:1: error: undefined variable 'nope'"))
        #expect(h.reader.history == ["fn double(x) {\n  return 2 * x\n}", "double(21)", "nope"])
    }

    @Test func errorsNeverLoseBindings() {
        let h = REPLHarness(["keep = 5", "keep = nope + 1", "keep = keep + \"text\"", "keep = zeros([2]) + zeros([3])", "keep * 3"])
        h.run()
        #expect(h.out == "15\n")
        #expect(h.err.components(separatedBy: "error:").count == 4)
        #expect(h.repl.session.bindings["keep"].map(\.summary) == "5")
    }

    @Test func varsListsKindAndShape() {
        let h = REPLHarness(["t = zeros([1, 4, 8, 8])", "name = \"cat\"", ":vars"])
        h.run()
        let lines = h.out.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.contains(["name", "string", "\"cat\""]))
        #expect(lines.contains(["t", "tensor", "[1,", "4,", "8,", "8]"]))
    }

    @Test func timeReportsWallTimeAndMemory() {
        let h = REPLHarness([":time x = zeros([256, 256]).sum()", "x"])
        h.run()
        #expect(h.out.contains("wall "))
        #expect(h.out.contains("peak RSS"))
        #expect(h.out.hasSuffix("0\n"))
        #expect(h.repl.transcript.executedStatements == ["x = zeros([256, 256]).sum()", "x"])
    }

    @Test func saveWritesAReplayableScriptOfWhatSucceeded() throws {
        let folder = try temporaryFolder(files: [])
        let h = REPLHarness(["a = 20", "b = a +", "  22", "c = missing", "print(b)", ":save \(folder)/session.swapscript"],
                            folder: folder)
        h.run()
        let saved = try String(contentsOfFile: folder + "/session.swapscript", encoding: .utf8)
        #expect(saved.contains("a = 20\nb = a +\n  22\nprint(b)\n"))
        #expect(!saved.contains("missing"))
        // Replaying it in a fresh session gives the same output.
        let replay = Session(outputFolder: h.folder + "/replay")
        var printed: [String] = []
        replay.output = { printed.append($0) }
        #expect(replay.run(source: saved, file: "session.swapscript") == .ok)
        #expect(printed == ["42"])
    }

    @Test func recordKeepsTheFileUpToDate() throws {
        let h = REPLHarness([])
        let path = h.folder + "/rec.swapscript"
        _ = h.repl.evaluate("x = 1")
        h.repl.handleCommand(":record \(path)")
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasSuffix("x = 1\n"))
        _ = h.repl.evaluate("y = x + 1")
        _ = h.repl.evaluate("y = undefined_name")
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasSuffix("x = 1\ny = x + 1\n"))
        h.repl.handleCommand(":record off")
        _ = h.repl.evaluate("z = 3")
        #expect(!(try String(contentsOfFile: path, encoding: .utf8)).contains("z = 3"))
        // No temporary files are left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: h.folder).filter { $0.contains(".swaptmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test func loadRunsAFileACellOrALine() throws {
        let h = REPLHarness([])
        let script = h.folder + "/cells.swapscript"
        try """
        base = 1
        ## first
        a = base + 10
        ## second
        b = 100
        c = b +
          5
        """.write(toFile: script, atomically: true, encoding: .utf8)
        h.repl.handleCommand(":load \(script) cell 2")
        #expect(h.repl.session.bindings["b"].map(\.summary) == "100")
        #expect(h.repl.session.bindings["a"] == nil)
        h.repl.handleCommand(":load \(script) line 7")
        #expect(h.repl.session.bindings["c"].map(\.summary) == "105")   // the statement spanning lines 6-7
        #expect(h.err.isEmpty)
        h.repl.handleCommand(":load \(script) cell 1")
        #expect(h.err.contains("cells.swapscript:3:"))   // base is not defined yet: the file's own line
        h.repl.handleCommand(":load \(script)")
        #expect(h.repl.session.bindings["a"].map(\.summary) == "11")
        h.repl.handleCommand(":load \(script) line 2")
        #expect(h.err.contains("no statement on line 2"))
        h.repl.handleCommand(":load \(h.folder)/absent.swapscript")
        #expect(h.err.contains("no such file"))
    }

    @Test func loadLineRunsAMultiLineStatement() throws {
        let h = REPLHarness([])
        let script = h.folder + "/lines.swapscript"
        try "b = 100\nc = b +\n  5\n".write(toFile: script, atomically: true, encoding: .utf8)
        _ = h.repl.evaluate("b = 1")
        h.repl.handleCommand(":load \(script) line 3")
        #expect(h.repl.session.bindings["c"].map(\.summary) == "6")
        #expect(h.repl.transcript.executedStatements.last == "c = b +\n  5")
    }

    @Test func resetStartsOver() {
        let h = REPLHarness(["x = 1", ":reset", "x"])
        h.run()
        #expect(h.out.contains("session reset"))
        #expect(h.err.hasPrefix("<repl>:1:1: error: undefined variable 'x'"))
        #expect(h.repl.transcript.entries.map(\.input) == [":reset", "x"])
    }

    @Test func quitAndCommandErrors() {
        let h = REPLHarness([":re", ":help len", ":q", "print(1)"])
        h.run()
        #expect(h.err.contains("ambiguous command ':re'"))
        #expect(h.out.contains("len("))
        #expect(!h.out.contains("\n1\n"))
        #expect(h.reader.prompts.count == 3)
    }

    @Test func ctrlCAtThePromptDropsThePendingLines() {
        let reader = ScriptedReader(inputs: [.line("xs = [1,"), .interrupted, .line("1 + 1")])
        var out = ""
        let repl = REPL(session: Session(outputFolder: NSTemporaryDirectory() + "swaprepl-int"), reader: reader,
                        graphics: GraphicsProtocol.none, writeOutput: { out += $0 }, writeError: { _ in })
        repl.run()
        #expect(out == "2\n")
        #expect(reader.prompts == [">> ", ".. ", ">> ", ">> "])
    }

    @Test func imagesAreRecordedWithTheirEntry() throws {
        let h = REPLHarness(["img = to_image(zeros([3, 4, 4]))", "img"])
        h.run()
        let entries = h.repl.transcript.entries
        #expect(entries.count == 2)
        let path = try #require(entries[0].images.first)
        #expect(path.hasSuffix(".png") && FileManager.default.fileExists(atPath: path))
        #expect(entries[0].output == ["wrote \(path)"])
        #expect(entries[1].images == [path])
        #expect(h.out.contains("image 4x4 RGB"))
    }
}
