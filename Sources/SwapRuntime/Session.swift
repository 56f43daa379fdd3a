import Foundation
import SwapIO
import SwapLang
import SwapTensor

/// One SwapScript session: an interpreter with the standard and runtime builtins, an output
/// folder, a seed and a thread count. `swapscript run` makes one session per script; the REPL
/// keeps one for its whole life.
///
/// ```swift
/// let session = Session(outputFolder: "out", seed: 0)
/// let status = session.run(file: "examples/first_steps.swapscript")   // .ok, .scriptError, ...
/// ```
///
/// Diagnostics are printed to `errorOutput` (standard error by default) in the form
/// `FILE:LINE:COL: error: message`, followed by the source line and a caret.
public final class Session {
    /// The interpreter; its globals are the session's bindings.
    public let interpreter: Interpreter
    /// Output folder, seed, random stream and the record of written files.
    public let workspace: Workspace
    /// The outcome of the last `run` (nil before the first, or when the file could not be read).
    public private(set) var lastResult: RunResult?
    /// The diagnostics of the last `run` or `check`.
    public private(set) var lastDiagnostics: [Diagnostic] = []

    /// Receives each line of standard output (printed values, `wrote PATH` lines).
    public var output: (String) -> Void {
        get { interpreter.output }
        set { interpreter.output = newValue }
    }

    /// Receives each diagnostic block; defaults to standard error.
    public var errorOutput: (String) -> Void = { text in
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Threads for the tensor kernels and OpenBLAS (process-wide: `Parallel.threadCount`).
    /// Results do not depend on it; only speed does.
    public var threads: Int {
        get { Parallel.threadCount }
        set { Parallel.threadCount = newValue }
    }

    /// The session seed (`--seed`).
    public var seed: UInt64 { workspace.seed }
    /// The output folder (`--out`).
    public var outputFolder: String { workspace.outputFolder }

    /// Creates a session. `threads` nil keeps the current setting (all cores, or
    /// `SWAPSCRIPT_THREADS`). The output folder is created when the first file is written.
    public init(outputFolder: String = "out", seed: UInt64 = 0, threads: Int? = nil) {
        let workspace = Workspace(outputFolder: outputFolder, seed: seed)
        self.workspace = workspace
        self.interpreter = Interpreter(registry: Session.makeRegistry(workspace: workspace))
        if let threads { Parallel.threadCount = threads }
    }

    /// The standard builtins plus the runtime families (tensor, io, image) bound to `workspace`.
    public static func makeRegistry(workspace: Workspace) -> BuiltinRegistry {
        let registry = BuiltinRegistry.standard()
        registry.registerRuntimeBuiltins(workspace)
        return registry
    }

    /// A registry for help and documentation (its builtins are bound to a throwaway workspace).
    public static func documentationRegistry() -> BuiltinRegistry {
        makeRegistry(workspace: Workspace(outputFolder: "out", seed: 0))
    }

    // MARK: - Running

    /// Runs a script file, stopping after cell `untilCell` when given. Input paths in the
    /// script are tried relative to the script's folder first.
    @discardableResult
    public func run(file path: String, untilCell: Int? = nil) -> ExitClass {
        guard let source = readSource(path) else { return .scriptError }
        workspace.scriptFolder = (path as NSString).deletingLastPathComponent.isEmpty
            ? "." : (path as NSString).deletingLastPathComponent
        return run(source: source, file: path, untilCell: untilCell)
    }

    /// Runs source text under the name `file` (used in diagnostics and output metadata).
    /// `firstLine` is the line number of the text's first line (the REPL passes a running
    /// count, so diagnostics read `<repl>:12:5`).
    @discardableResult
    public func run(source: String, file: String = "<repl>", firstLine: Int = 1, untilCell: Int? = nil) -> ExitClass {
        let numbered = firstLine > 1 ? String(repeating: "\n", count: firstLine - 1) + source : source
        workspace.remember(source: numbered, file: file)
        let result = interpreter.run(source: source, file: file, firstLine: firstLine, untilCell: untilCell)
        lastResult = result
        lastDiagnostics = result.diagnostics
        report(result.diagnostics)
        return result.status
    }

    /// Parses and resolves a script file without running it (`swapscript check`).
    @discardableResult
    public func check(file path: String) -> ExitClass {
        guard let source = readSource(path) else { return .scriptError }
        return check(source: source, file: path)
    }

    /// Parses and resolves source text without running it.
    @discardableResult
    public func check(source: String, file: String = "<repl>") -> ExitClass {
        let diagnostics = interpreter.check(source: source, file: file)
        let status: ExitClass = diagnostics.isEmpty ? .ok : .scriptError
        lastDiagnostics = diagnostics
        report(diagnostics)
        return status
    }

    /// The session's bindings.
    public var bindings: [String: Value] { interpreter.bindings }

    /// Files written so far, in order.
    public var writtenFiles: [String] { workspace.writtenFiles }

    /// Makes Ctrl-C interrupt the running script (see `InterruptHandler`).
    public func installInterruptHandler(mode: InterruptHandler.Mode = .script) {
        InterruptHandler.install(cancelling: interpreter.cancellation, mode: mode)
    }

    // MARK: - Helpers

    private func readSource(_ path: String) -> String? {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read the file (not UTF-8 text?)" : "no such file"
            errorOutput("\(path): error: \(reason)")
            lastResult = nil
            lastDiagnostics = []
            return nil
        }
    }

    private func report(_ diagnostics: [Diagnostic]) {
        for d in diagnostics { errorOutput(d.formatted) }
    }
}

extension BuiltinRegistry {
    /// Registers the runtime families: "tensor", "io", "image", "model", "process", "sampling",
    /// "attention", "p2p", "inversion", "world", "distillation", "instantswap", "concepts", "baret", "metrics" and "clic".
    public func registerRuntimeBuiltins(_ workspace: Workspace) {
        registerTensorCreationBuiltins(workspace)
        registerTensorOpBuiltins()
        registerIOBuiltins(workspace)
        registerImageBuiltins(workspace)
        registerModelBuiltins(workspace)
        registerProcessBuiltins(workspace)
        registerSamplerBuiltins(workspace)
        registerAttentionBuiltins(workspace)
        registerWorldBuiltins(workspace)
        registerPromptToPromptBuiltins(workspace)
        registerInversionBuiltins(workspace)
        registerDistillationBuiltins(workspace)
        registerInstantSwapBuiltins(workspace)
        registerConceptBuiltins(workspace)
        registerBaretBuiltins(workspace)
        registerNetworkMetricBuiltins(workspace)
        registerCLiCBuiltins(workspace)
        registerP3SBuiltins(workspace)
        registerMetricsBuiltins(workspace)
    }
}
