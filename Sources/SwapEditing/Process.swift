import SwapTensor

// The one shape of everything that runs over time (DESIGN.md "Process"): samplers, the
// Prompt-to-Prompt pair, DDIM and null-text inversion, SDS/DDS/CDS, InstantSwap, training.
// `step`, `run`, `run(until:)`, `back`, progress lines, Ctrl-C and traces are written once,
// here and in the runtime's process builtins, for every conforming type.

/// A computation that advances one step at a time and can be rewound.
///
/// A conforming type implements ``step(_:)`` (one unit of work; poll
/// ``RunContext/checkCancelled()`` between UNet calls) and ``snapshot()`` / ``restore(_:)``.
/// Callers drive it through the extension methods ``advance(_:)``, ``run(_:until:)`` and
/// ``back(_:)``, which keep a bounded history of snapshots (``history``) and guarantee that a
/// step that throws (cancellation included) leaves the process exactly as before the step.
///
/// Adopting it takes little code: hold your mutable state in one value type and conform to
/// ``ValueStateProcess`` (snapshot and restore come for free), keep a `let history =
/// ProcessHistory()` and a `var trace = ProcessTrace()`, and append a trace row at the end of
/// `step`.
public protocol Process: AnyObject {
    /// The kind shown to users: "sampler", "p2p", "null_text_inversion", "dds"...
    var kindName: String { get }
    /// Steps completed so far (0 before the first step).
    var index: Int { get }
    /// The total number of steps when known (samplers, inversions); nil for open-ended
    /// processes (score distillation until the user stops).
    var totalSteps: Int? { get }
    /// The diffusion timestep the process is at (the next UNet evaluation), when it has one;
    /// `run(p, until: t)` stops once this reaches `t`.
    var timestep: Double? { get }
    /// True when ``timestep`` decreases as the process advances (sampling; the default), false
    /// when it increases (inversion).
    var timestepsDescend: Bool { get }
    /// True when no further step can run.
    var isDone: Bool { get }
    /// Runs one step. Must either complete the step or throw leaving observable state
    /// unchanged (``advance(_:)`` restores the pre-step snapshot on a throw anyway).
    func step(_ context: RunContext) throws
    /// The state needed to resume from the current position (cheap: latents, indices, a
    /// generator copy; not the model).
    func snapshot() -> ProcessSnapshot
    /// Returns to a state from ``snapshot()``; throws when the snapshot is of another kind.
    func restore(_ snapshot: ProcessSnapshot) throws
    /// Snapshots taken before each step, for ``back(_:)``.
    var history: ProcessHistory { get }
    /// Per-step named series (t, loss, grad norm, ...).
    var trace: ProcessTrace { get set }
    /// One line describing the current position: `sampler step 12/50  t=741`.
    var progressSummary: String { get }
}

/// An opaque saved state of a process: the step index it was taken at and the process's own
/// state value.
public struct ProcessSnapshot {
    /// ``Process/index`` when the snapshot was taken.
    public let index: Int
    /// The process-specific state.
    public let state: Any

    public init(index: Int, state: Any) {
        self.index = index
        self.state = state
    }
}

/// A process whose whole mutable state is one value (`State`), so a snapshot is a copy.
/// Reference types inside `State` (random generators) must be copied in ``copyState(_:)``.
public protocol ValueStateProcess: Process {
    associatedtype State
    /// Everything that changes from step to step.
    var state: State { get set }
    /// A copy of `state` that shares nothing mutable with it (default: the value itself).
    func copyState(_ state: State) -> State
    /// Called after ``restore(_:)`` assigned a state (drop caches, truncate attention stores).
    func didRestore(toIndex index: Int)
}

extension ValueStateProcess {
    public func copyState(_ state: State) -> State { state }
    public func didRestore(toIndex index: Int) {}

    public func snapshot() -> ProcessSnapshot { ProcessSnapshot(index: index, state: copyState(state)) }

    public func restore(_ snapshot: ProcessSnapshot) throws {
        guard let saved = snapshot.state as? State else {
            throw EditingError("\(kindName): cannot restore a snapshot of another kind of process")
        }
        state = copyState(saved)
        didRestore(toIndex: snapshot.index)
    }
}

extension Process {
    public var timestep: Double? { nil }
    public var timestepsDescend: Bool { true }

    /// Default one-line position: `sampler step 3/50`.
    public var progressSummary: String {
        "\(kindName) step \(index)" + (totalSteps.map { "/\($0)" } ?? "")
    }

    /// Runs one step with history and rollback: the pre-step snapshot is pushed onto
    /// ``history`` when the step succeeds, and restored when it throws (for example when
    /// cancelled between UNet calls), so the process stays consistent and steppable.
    public func advance(_ context: RunContext) throws {
        guard !isDone else {
            throw EditingError("\(kindName): already finished (\(index) steps); use back(p, n) to rewind")
        }
        try context.checkCancelled()
        let before = snapshot()
        let traceBefore = trace
        do {
            try step(context)
        } catch {
            try restore(before)
            trace = traceBefore
            throw error
        }
        history.push(before)
    }

    /// Runs up to `count` steps (stopping early when done), reporting progress on `context`.
    /// Returns the number of steps run.
    @discardableResult
    public func advance(_ count: Int, _ context: RunContext) throws -> Int {
        guard count >= 0 else { throw EditingError("\(kindName): step count must be ≥ 0, got \(count)") }
        var ran = 0
        while ran < count, !isDone {
            try advance(context)
            ran += 1
            context.progress.update(self)
        }
        return ran
    }

    /// Runs until done, or until `stop` returns true before a step. Reports one progress line.
    @discardableResult
    public func run(_ context: RunContext, until stop: (() -> Bool)? = nil) throws -> Int {
        var ran = 0
        context.progress.begin(self)
        defer { context.progress.end(self) }
        while !isDone {
            if let stop, stop() { break }
            try advance(context)
            ran += 1
            context.progress.update(self)
        }
        return ran
    }

    /// Runs until the process's ``timestep`` reaches `target` (at or below it for a process
    /// whose timesteps descend, such as a sampler; at or above it for an inversion), or it is done.
    @discardableResult
    public func run(_ context: RunContext, untilTimestep target: Double) throws -> Int {
        guard timestep != nil else {
            throw EditingError("\(kindName): run(until: t) needs a process that is at a timestep" + (isDone ? " (it has finished)" : ""))
        }
        return try run(context) {
            guard let t = self.timestep else { return true }
            return self.timestepsDescend ? t <= target : t >= target
        }
    }

    /// Rewinds `count` steps (1 = undo the last step) by restoring the snapshot taken before
    /// that step; the trace loses the rows of the undone steps.
    public func back(_ count: Int = 1) throws {
        guard count >= 0 else { throw EditingError("\(kindName): back count must be ≥ 0, got \(count)") }
        guard count > 0 else { return }
        guard let snapshot = history.pop(count) else {
            throw EditingError("\(kindName): cannot go back \(count) step\(count == 1 ? "" : "s"): "
                               + "\(history.count) snapshot\(history.count == 1 ? "" : "s") kept (index \(index))")
        }
        try restore(snapshot)
        trace.truncate(toStepsBefore: snapshot.index)
    }
}

/// The snapshots a process took before its steps, newest last, at most ``limit`` of them
/// (the oldest are dropped first). Latents are small, so the default keeps 1000.
public final class ProcessHistory {
    private var snapshots: [ProcessSnapshot] = []
    /// The most snapshots kept.
    public var limit: Int

    public init(limit: Int = 1000) { self.limit = max(limit, 0) }

    /// Number of steps that ``Process/back(_:)`` can undo.
    public var count: Int { snapshots.count }

    /// Adds a snapshot, dropping the oldest beyond ``limit``.
    public func push(_ snapshot: ProcessSnapshot) {
        snapshots.append(snapshot)
        if snapshots.count > limit { snapshots.removeFirst(snapshots.count - limit) }
    }

    /// Removes the newest `count` snapshots and returns the oldest of them, or nil (and
    /// removes nothing) when fewer are kept.
    public func pop(_ count: Int) -> ProcessSnapshot? {
        guard count >= 1, count <= snapshots.count else { return nil }
        let target = snapshots[snapshots.count - count]
        snapshots.removeLast(count)
        return target
    }

    /// Forgets every snapshot (after a change that makes old states meaningless).
    public func removeAll() { snapshots.removeAll() }
}
