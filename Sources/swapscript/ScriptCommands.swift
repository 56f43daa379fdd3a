import ArgumentParser
import Foundation
import SwapLang
import SwapRuntime
import SwapModels

/// `swapscript run FILE`: runs a script in a fresh session.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a .swapscript file.",
        discussion: "Exit status: 0 ok, 65 script error (nothing ran), 70 runtime failure, 130 interrupted.")

    @Argument(help: "The script to run.")
    var file: String

    @Option(name: .customLong("until-cell"), help: "Stop after cell N (cells start with '## title').")
    var untilCell: Int?

    @Option(help: "Session seed for randn/rand calls without their own seed.")
    var seed: UInt64 = 0

    @Option(help: "Threads for kernels and OpenBLAS (default: all cores).")
    var threads: Int?

    @Option(help: "Output folder for images and tensors.")
    var out: String = "out"

    @Flag(name: .customLong("then-repl"), help: "After the script, continue in the REPL with its bindings.")
    var thenRepl = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let untilCell, untilCell < 0 { throw ValidationError("--until-cell must be 0 or more") }
    }

    func run() throws {
        let session = Session(outputFolder: out, seed: seed, threads: threads)
        session.installInterruptHandler(mode: thenRepl ? .repl : .script)
        let status = session.run(file: file, untilCell: untilCell)
        if thenRepl {
            Repl.start(session)
            return
        }
        if status != .ok { throw ExitCode(status.rawValue) }
    }
}

/// `swapscript check FILE`: parses and resolves without running.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a .swapscript file for syntax and name errors without running it.")

    @Argument(help: "The script to check.")
    var file: String

    func run() throws {
        let status = Session().check(file: file)
        if status != .ok { throw ExitCode(status.rawValue) }
        print("\(file): ok")
    }
}

/// `swapscript help [NAME] [--markdown]`: the builtin reference from the registry.
struct Help: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show builtins: an index by family, one builtin in detail, or the Markdown reference.")

    @Argument(help: "A builtin name.")
    var name: String?

    @Flag(help: "Print the whole reference as Markdown (docs/builtins.md).")
    var markdown = false

    func run() throws {
        let registry = Session.documentationRegistry()
        if markdown {
            print(registry.markdownReference(), terminator: "")
            return
        }
        let commands: [String: ParsableCommand.Type] = ["repl": Repl.self, "run": Run.self, "check": Check.self, "help": Help.self,
                                                        "bench": Bench.self]
        if let name, registry.lookup(name) == nil, let command = commands[name] {
            print(SwapScriptCommand.helpMessage(for: command))
            return
        }
        print(registry.helpText(for: name))
        if let name, registry.lookup(name) == nil { throw ExitCode(1) }
    }
}

/// `swapscript inspect MODEL`: lists a checkpoint's configuration and tensors without loading it.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a checkpoint's configuration and tensors (a diffusers folder or a .safetensors file).")

    @Argument(help: "A diffusers pipeline folder or a .safetensors file.")
    var model: String

    @Flag(help: "List every tensor of a folder's weight files too.")
    var tensors = false

    func run() throws {
        do {
            for line in try CheckpointInspector.describe(model, listTensors: tensors) { print(line) }
        } catch {
            FileHandle.standardError.write(Data("swapscript inspect: \(error)\n".utf8))
            throw ExitCode(70)
        }
    }
}
