import ArgumentParser
import Foundation

/// The `swapscript` command line: a thin layer over the SwapScript modules.
@main
struct SwapScriptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swapscript",
        abstract: "Step-by-step diffusion image editing: a script language, a REPL and a CPU engine.",
        subcommands: [Repl.self, Run.self, Check.self, Inspect.self, Help.self, Bench.self, WorldCommand.self, Train.self],
        defaultSubcommand: Repl.self)

    static func main() {
        BLASCoreSelection.reexecIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print the figures the issues ask for.",
        subcommands: [BenchOps.self, BenchUNet.self, BenchDefault.self, BenchDDS.self, BenchBaret.self, BenchSwap.self])
}
