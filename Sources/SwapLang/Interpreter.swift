import Foundation

/// A runtime failure with the location of the operation that failed.
public struct RuntimeError: Error, Sendable {
    public var message: String
    public var location: SourceLocation
}

/// Thrown when the run is cancelled (the cancellation flag or closure said so).
/// Bindings made before the interrupted statement stay intact.
public struct Interrupted: Error, Sendable {
    public init() {}
}

/// A thread-safe flag a host sets (e.g. from a SIGINT handler) to stop the running script.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false

    public init() {}
    public func cancel() { lock.lock(); flag = true; lock.unlock() }
    public func reset() { lock.lock(); flag = false; lock.unlock() }
    public var isCancelled: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}

/// A top-level statement that ran to completion (for `:record` / `:save`).
public struct ExecutedStatement: Sendable, Equatable {
    public var text: String
    public var line: Int
    public var cell: Int
}

/// The outcome of `Interpreter.run`.
public struct RunResult {
    public var status: ExitClass
    public var diagnostics: [Diagnostic]
    /// The statements that succeeded, in order.
    public var executed: [ExecutedStatement]
    /// The cells of the source (`## title` markers).
    public var cells: [Cell]
}

/// The tree-walking interpreter. One instance is a session: globals survive between
/// `run(source:file:)` calls, one per REPL line or script.
public final class Interpreter {
    public let registry: BuiltinRegistry
    let globals = Environment()
    /// Receives every printed line (without the newline). Defaults to standard output.
    public var output: (String) -> Void = { Swift.print($0) }
    /// Shows the value of a top-level expression statement; defaults to `output(value.summary)`.
    public var display: ((Value) -> Void)?
    /// Polled at loop iterations and between calls; return true to interrupt.
    public var shouldCancel: (() -> Bool)?
    /// Set from any thread to interrupt the running script; cleared at the start of each run.
    public let cancellation = CancellationFlag()
    /// Deepest function-call nesting before a clean "recursion too deep" error.
    public var maxCallDepth = 1000
    /// Maximum statements plus calls per run (nil: unlimited); used by fuzzing and sandboxes.
    public var stepLimit: Int?
    /// In REPL mode function bodies may refer to globals defined by later lines.
    public var replMode = false

    var callDepth = 0
    var steps = 0
    private var sourceLines: [String: [Int: String]] = [:]

    public init(registry: BuiltinRegistry = .standard()) {
        self.registry = registry
    }

    // MARK: - Session API

    /// Global bindings (name → value), for `:vars` and completion.
    public var bindings: [String: Value] { globals.values }

    /// Defines or replaces a global.
    public func define(_ name: String, _ value: Value) { globals.define(name, value) }

    /// Removes a global (builtins are untouched).
    public func remove(_ name: String) { globals.remove(name) }

    /// Global and builtin names starting with `prefix`, sorted.
    public func completions(prefix: String) -> [String] {
        Set(globals.values.keys).union(registry.byName.keys).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Field and method names of a value, for completion after `x.`.
    public func fieldNames(of value: Value) -> [String] {
        switch value {
        case .record(let r): return r.keys
        case .host(let h): return h.fieldNames + h.methodNames
        default: return []
        }
    }

    // MARK: - Running

    /// Parses a text without running it.
    public static func parse(source: String, file: String = "<repl>") -> (program: Program, diagnostics: [Diagnostic]) {
        onLargeStack { Parser.parse(source, file: file) }
    }

    /// Parse + resolve only (`swapscript check`).
    public func check(source: String, file: String = "<repl>") -> [Diagnostic] {
        onLargeStack {
            let (program, diagnostics) = Parser.parse(source, file: file)
            if !diagnostics.isEmpty { return diagnostics }
            var r = self.resolver(for: source, file: file)
            return r.resolve(program)
        }
    }

    /// True when `source` is an unfinished statement (open bracket, block or string, or a
    /// trailing operator): the REPL should read another line.
    public static func isIncomplete(_ source: String) -> Bool {
        onLargeStack {
            let (_, diagnostics) = Parser.parse(source, file: "<repl>")
            return diagnostics.contains { $0.atEndOfInput }
        }
    }

    /// Parses, resolves and runs `source`, stopping after cell `untilCell` when given.
    /// `firstLine` numbers the lines (the REPL passes a running count).
    public func run(source: String, file: String = "<repl>", firstLine: Int = 1, untilCell: Int? = nil) -> RunResult {
        let text = firstLine > 1 ? String(repeating: "\n", count: firstLine - 1) + source : source
        return onLargeStack { self.runOnThisThread(text, file: file, untilCell: untilCell) }
    }

    private func resolver(for source: String, file: String) -> Resolver {
        Resolver(source: SourceText(source, file: file), registry: registry,
                 knownGlobals: Set(globals.values.keys), laxFunctionGlobals: replMode)
    }

    private func runOnThisThread(_ text: String, file: String, untilCell: Int?) -> RunResult {
        let source = SourceText(text, file: file)
        var table = sourceLines[file] ?? [:]
        for (i, l) in source.lines.enumerated() where !l.isEmpty || table[i + 1] == nil { table[i + 1] = l }
        sourceLines[file] = table

        let (program, parseErrors) = Parser.parse(text, file: file)
        var result = RunResult(status: .ok, diagnostics: parseErrors, executed: [], cells: program.cells)
        if !parseErrors.isEmpty {
            result.status = .scriptError
            return result
        }
        var r = resolver(for: text, file: file)
        let resolveErrors = r.resolve(program)
        if !resolveErrors.isEmpty {
            result.status = .scriptError
            result.diagnostics = resolveErrors
            return result
        }
        cancellation.reset()
        steps = 0
        callDepth = 0
        for stmt in program.statements {
            if let limit = untilCell, stmt.cell > limit { break }
            let snapshot = globals.values
            do {
                try executeTopLevel(stmt)
                result.executed.append(ExecutedStatement(
                    text: source.text(from: stmt.startOffset, to: stmt.endOffset),
                    line: stmt.location.line, cell: stmt.cell))
            } catch let e as RuntimeError {
                globals.restore(snapshot)
                result.status = .runtimeFailure
                result.diagnostics.append(diagnostic(e.message, at: e.location))
                return result
            } catch is Interrupted {
                globals.restore(snapshot)
                result.status = .interrupted
                result.diagnostics.append(diagnostic("interrupted", at: stmt.location))
                return result
            } catch {
                globals.restore(snapshot)
                result.status = .runtimeFailure
                result.diagnostics.append(diagnostic("\(error)", at: stmt.location))
                return result
            }
        }
        return result
    }

    func diagnostic(_ message: String, at loc: SourceLocation) -> Diagnostic {
        Diagnostic(message: message, location: loc, sourceLine: sourceLines[loc.file]?[loc.line] ?? "")
    }

    private func executeTopLevel(_ stmt: Stmt) throws {
        if case .expression(let expr) = stmt.kind {
            try tick(at: stmt.location)
            let value = try evaluate(expr, globals)
            if case .nil = value { return }
            globals.define("_", value)
            if !stmt.quiet {
                if let show = display { show(value) } else { output(value.summary) }
            }
            return
        }
        switch try execute(stmt, globals) {
        case .normal: return
        default: throw RuntimeError(message: "'return', 'break' or 'continue' outside its construct", location: stmt.location)
        }
    }

    // MARK: - Budget and cancellation

    /// Counts one step and polls cancellation.
    func tick(at loc: SourceLocation) throws {
        steps += 1
        if let limit = stepLimit, steps > limit {
            throw RuntimeError(message: "step limit of \(limit) exceeded", location: loc)
        }
        try checkCancelled()
    }

    func checkCancelled() throws {
        if cancellation.isCancelled || (shouldCancel?() ?? false) { throw Interrupted() }
    }

    /// Runs `body`, turning a `HostError` into a `RuntimeError` at `loc`.
    func at<T>(_ loc: SourceLocation, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as HostError {
            throw RuntimeError(message: e.message, location: loc)
        }
    }
}

/// Runs `body` on a thread with a large stack so deep (but bounded) recursion in scripts
/// and deeply nested expressions end in a clean error instead of a stack overflow.
func onLargeStack<T>(_ body: @escaping () -> T) -> T {
    let box = ThreadBox(body)
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        box.result = box.body()
        done.signal()
    }
    thread.stackSize = 512 << 20
    thread.start()
    done.wait()
    guard let result = box.result else { return body() }
    return result
}

private final class ThreadBox<T>: @unchecked Sendable {
    let body: () -> T
    var result: T?
    init(_ body: @escaping () -> T) { self.body = body }
}
