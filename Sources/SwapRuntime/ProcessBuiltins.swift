import SwapEditing
import SwapLang
import SwapTensor

// The "process" family: the verbs every steppable process shares (step, run, run until a
// timestep, back). They are written once for `SwapEditing.Process`, so a new process only has
// to conform and be wrapped in a `ProcessValue`.

enum ProcessBuiltins {
    /// The process inside a process value.
    static func process(_ v: Value, _ op: String) throws -> ProcessValue {
        guard case .host(let h as ProcessValue) = v else {
            throw HostError("\(op): expects a process (from sample, sdedit, p2p, ...), got \(v.typeName)")
        }
        return h
    }

    /// A run context polling the interpreter's cancellation (Ctrl-C) and reporting progress
    /// through the workspace's reporter (standard error).
    static func context(_ ws: Workspace, _ ctx: CallContext) -> RunContext {
        RunContext(progress: ws.makeProgressReporter()) {
            do { try ctx.checkCancelled(); return false } catch { return true }
        }
    }

    /// Runs engine work: a cancelled step becomes the interpreter's interruption (the process
    /// has already been restored to the state before that step); engine errors name `op`.
    static func drive<T>(_ op: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch is ProcessCancelled {
            throw Interrupted()
        } catch let e as Interrupted {
            throw e
        } catch let e as EditingError {
            throw HostError(e.message.hasPrefix(op) ? e.message : "\(op): \(e.message)")
        } catch {
            return try Convert.engine(op) { throw error }
        }
    }

    /// A non-negative integer count argument.
    static func count(_ args: BoundArguments, _ name: String, _ op: String) throws -> Int {
        let n = try args.int(name)
        guard n >= 0, n <= 1_000_000 else { throw HostError("\(op): \(name) must be between 0 and 1000000, got \(n)") }
        return n
    }
}

extension BuiltinRegistry {
    /// Registers `step`, `run` and `back`.
    func registerProcessBuiltins(_ ws: Workspace) {
        let processKinds = ParamKind.any
        register("step", family: "process",
                 params: [BuiltinParam("p", processKinds, doc: "a process (sampler, sdedit, p2p, inversion, ...)"),
                          BuiltinParam("n", .integer, default: .number(1), doc: "steps to run (stops early when done)")],
                 doc: "Advances a process by n steps and returns it. Each step first saves a snapshot, so back(p, n) can undo it; a step stopped by Ctrl-C leaves the process as before that step.",
                 example: "step(s); step(s, 10); s.latent") { args, ctx in
            let p = try ProcessBuiltins.process(args["p"], "step")
            let n = try ProcessBuiltins.count(args, "n", "step")
            guard !p.process.isDone || n == 0 else {
                throw HostError("step: the \(p.kindName) has finished (\(p.process.index) steps); use back(p, n) to rewind")
            }
            p.location = ctx.location
            let run = ProcessBuiltins.context(ws, ctx)
            try ProcessBuiltins.drive("step") {
                if n > 1 { run.progress.begin(p.process) }
                defer { if n > 1 { run.progress.end(p.process) } }
                try p.process.advance(n, run)
            }
            return args["p"]
        }
        register("run", family: "process",
                 params: [BuiltinParam("p", processKinds, doc: "a process"),
                          BuiltinParam("until", .number, default: .nil,
                                       doc: "stop once the process's timestep t reaches this value (at or below it for a sampler)")],
                 doc: "Runs a process to its end (or until its timestep reaches `until`) and returns it; prints one progress line on standard error. Ctrl-C stops it between UNet calls, keeping every completed step.",
                 example: "s = run(sample(m, \"a red circle\", steps: 20)); s.image") { args, ctx in
            let p = try ProcessBuiltins.process(args["p"], "run")
            p.location = ctx.location
            let run = ProcessBuiltins.context(ws, ctx)
            try ProcessBuiltins.drive("run") {
                if args.isNil("until") {
                    try p.process.run(run)
                } else {
                    let t = try args.number("until")
                    guard t.isFinite else { throw HostError("run: until must be a finite timestep, got \(formatNumber(t))") }
                    try p.process.run(run, untilTimestep: t)
                }
            }
            return args["p"]
        }
        register("back", family: "process",
                 params: [BuiltinParam("p", processKinds, doc: "a process"),
                          BuiltinParam("n", .integer, default: .number(1), doc: "steps to undo")],
                 doc: "Rewinds a process n steps by restoring the snapshot taken before them (the trace and captured attention of those steps are dropped); stepping again reproduces the same result.",
                 example: "back(s, 5); step(s)") { args, ctx in
            let p = try ProcessBuiltins.process(args["p"], "back")
            let n = try ProcessBuiltins.count(args, "n", "back")
            p.location = ctx.location
            try ProcessBuiltins.drive("back") { try p.process.back(n) }
            return args["p"]
        }
    }
}
