import ArgumentParser
import Foundation
import SwapREPL
import SwapRuntime

/// `swapscript` or `swapscript repl`: the interactive session (see `SwapREPL.REPL`).
struct Repl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the interactive REPL (the default when no subcommand is given).",
        discussion: "Type :help for the REPL commands. History: $SWAPSCRIPT_HISTORY or ~/.swapscript_history.")

    @Option(help: "Session seed for randn/rand calls without their own seed.")
    var seed: UInt64 = 0

    @Option(help: "Threads for kernels and OpenBLAS (default: all cores).")
    var threads: Int?

    @Option(help: "Output folder for images and tensors.")
    var out: String = "out"

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        Repl.start(Session(outputFolder: out, seed: seed, threads: threads))
    }

    /// Runs the REPL on `session` until :quit or Ctrl-D.
    static func start(_ session: Session) {
        let repl = REPL(session: session)
        repl.installInterruptHandler()
        repl.run()
    }
}
