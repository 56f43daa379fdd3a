import Foundation
import Testing

/// Drives the real `swapscript` binary: on a pseudo-terminal (readline, history, completion,
/// Ctrl-C) and through pipes (plain mode). Every wait has a deadline, generous enough for a
/// loaded two-core machine; a stuck child is killed rather than hanging the suite.
@Suite(.serialized, .enabled(if: SwapscriptBinary.path != nil,
                             "swapscript binary not found next to the test bundle; run `swift build -c release` first"))
struct TerminalEndToEndTests {
    let folder: String
    let history: String

    init() throws {
        folder = try temporaryFolder(files: [])
        history = folder + "/history"
    }

    func start() throws -> PseudoTerminalProcess {
        let p = try PseudoTerminalProcess(
            executable: try #require(SwapscriptBinary.path), arguments: [],
            environment: ["PATH": "/usr/bin:/bin", "HOME": folder, "TERM": "xterm", "LANG": "C.UTF-8",
                          "SWAPSCRIPT_HISTORY": history, "SWAPSCRIPT_THREADS": "1"],
            directory: folder)
        #expect(p.waitFor(">> "), "no prompt; output so far: \(p.text)")
        return p
    }

    /// Types `line` and Enter; waits for `expect` in what follows, then for the next prompt.
    @discardableResult
    func enter(_ p: PseudoTerminalProcess, _ line: String, expect: String? = nil, seconds: Double = 60) -> Bool {
        let mark = p.output.count
        p.send(line + "\r")
        var ok = true
        if let expect { ok = p.waitFor(expect, from: mark, seconds: seconds) }
        let prompt = p.waitFor(">> ", from: mark + line.utf8.count, seconds: seconds)
        return ok && prompt
    }

    @Test func historyPersistsAcrossRuns() throws {
        do {
            let p = try start()
            #expect(enter(p, "print(6000 + 1234)", expect: "7234\r\n"))
            p.send("\u{4}")                      // Ctrl-D: leaves the print as the last history line
            #expect(p.waitForExit() == 0)
        }
        let saved = try String(contentsOfFile: history, encoding: .utf8)
        #expect(saved.contains("print(6000 + 1234)"))

        let p = try start()
        let mark = p.output.count
        p.send("\u{1B}[A")                      // up arrow recalls the last line of the first run
        #expect(p.waitFor("print(6000 + 1234)", from: mark, seconds: 30), "history not recalled: \(p.text)")
        p.send("\r")
        #expect(p.waitFor("7234\r\n", from: mark, seconds: 60), "recalled line did not run: \(p.text)")
        p.send(":quit\r")
        #expect(p.waitForExit() == 0)
        #expect(try String(contentsOfFile: history, encoding: .utf8).hasSuffix(":quit\n"))
    }

    @Test func tabCompletesAVariableAndABuiltin() throws {
        let p = try start()
        #expect(enter(p, "my_long_variable = 7000 + 919"))
        var mark = p.output.count
        p.send("my_lo\t")
        #expect(p.waitFor("my_long_variable", from: mark, seconds: 30), "variable not completed: \(p.text)")
        p.send("\r")
        #expect(p.waitFor("7919\r\n", from: mark), "completed variable did not evaluate: \(p.text)")
        #expect(p.waitFor(">> ", from: mark + 10))

        mark = p.output.count
        p.send("prin\t")                         // completes to `print(`
        #expect(p.waitFor("print(", from: mark, seconds: 30), "builtin not completed: \(p.text)")
        p.send("\"con\" + \"cat\")\r")
        #expect(p.waitFor("concat\r\n", from: mark), "completed call did not run: \(p.text)")
        p.send(":q\r")
        #expect(p.waitForExit() == 0)
    }

    @Test func errorsLeaveBindingsIntact() throws {
        let p = try start()
        #expect(enter(p, "keep = 5"))
        #expect(enter(p, "keep = nope + 1", expect: "<repl>:2:8: error: undefined variable 'nope'"))
        #expect(enter(p, "keep = keep + \"x\"", expect: "error:"))
        #expect(enter(p, "keep * 3", expect: "15\r\n"))
        p.send(":quit\r")
        #expect(p.waitForExit() == 0)
    }

    @Test func ctrlCInterruptsALongLoopAndKeepsBindings() throws {
        let p = try start()
        #expect(enter(p, "before = 11"))
        let mark = p.output.count
        p.send("for i in 0..100000000 { x = i }\r")
        #expect(p.waitFor("x = i }\r\n", from: mark, seconds: 30))
        p.drain(1.0)                             // let the loop get going
        let started = Date()
        p.send("\u{3}")
        #expect(p.waitFor("error: interrupted", from: mark, seconds: 30), "not interrupted: \(p.text)")
        #expect(p.waitFor(">> ", from: mark + 40, seconds: 30))
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(enter(p, "before * 2", expect: "22\r\n"))

        // Ctrl-C at the prompt clears the line and does not quit.
        let promptMark = p.output.count
        p.send("abandoned")
        #expect(p.waitFor("abandoned", from: promptMark, seconds: 30))
        p.send("\u{3}")
        #expect(p.waitFor("^C", from: promptMark, seconds: 30))
        #expect(p.waitFor(">> ", from: promptMark + 12, seconds: 30))
        #expect(enter(p, "before + 1", expect: "12\r\n"))
        p.send(":quit\r")
        #expect(p.waitForExit() == 0)
    }

    @Test func pipedInputGivesPlainOutput() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(SwapscriptBinary.path))
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": folder, "TERM": "xterm-kitty",
                               "SWAPSCRIPT_HISTORY": history]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data("""
        a = 6
        fn f(x) {
          return x * 7
        }
        missing + 1
        f(a)
        img = to_image(zeros([3, 2, 2]))
        img
        :vars

        """.utf8))
        try input.fileHandleForWriting.close()
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        let errData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let out = String(decoding: outData, as: UTF8.self), err = String(decoding: errData, as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(!outData.contains(0x1B), "escape codes in output: \(out.debugDescription)")
        #expect(!errData.contains(0x1B))
        #expect(out.hasPrefix("42\nwrote out/001_img.png\nimage 2x2 RGB  out/001_img.png\n"), "\(out)")
        #expect(out.contains("a    number"))
        #expect(err.hasPrefix("<repl>:5:1: error: undefined variable 'missing'"))
        #expect(!FileManager.default.fileExists(atPath: history))   // no history without a terminal
    }
}
