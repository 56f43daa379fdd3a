import Foundation
import SwapRuntime
@testable import SwapREPL

/// A line reader that hands out fixed lines, then end of input.
final class ScriptedReader: LineReader {
    private var lines: [LineInput]
    private(set) var prompts: [String] = []
    private(set) var history: [String] = []

    init(_ lines: [String]) { self.lines = lines.map { .line($0) } }
    init(inputs: [LineInput]) { self.lines = inputs }

    func readLine(prompt: String) -> LineInput {
        prompts.append(prompt)
        return lines.isEmpty ? .endOfInput : lines.removeFirst()
    }

    func addHistory(_ line: String) { history.append(line) }
}

/// A REPL over `lines` in a fresh output folder, with its standard output and error captured.
final class REPLHarness {
    let folder: String
    let reader: ScriptedReader
    let repl: REPL
    private let box = Box()

    private final class Box { var out = ""; var err = "" }

    var out: String { box.out }
    var err: String { box.err }

    init(_ lines: [String], folder: String? = nil) {
        let folder = folder ?? NSTemporaryDirectory() + "swaprepl-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.folder = folder
        reader = ScriptedReader(lines)
        let box = self.box
        repl = REPL(session: Session(outputFolder: folder + "/out", seed: 0), reader: reader, graphics: GraphicsProtocol.none,
                    writeOutput: { box.out += $0 }, writeError: { box.err += $0 })
    }

    func run() { repl.run() }
}
