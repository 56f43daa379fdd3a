import Synchronization

/// One record on the autograd graph.
///
/// A leaf record belongs to a tensor the user asked gradients for (`requiringGrad()`); it
/// accumulates `grad`. Every other record was made by an op and holds the closure that maps the
/// gradient of its output to gradients of its inputs. The closure captures the tensors the op
/// saved; `backward` drops it as soon as it has run, so saved tensors are freed early.
public final class GradNode: @unchecked Sendable {
    private static let nextID = Atomic<Int>(0)

    /// Creation order. An op's record is always newer than its inputs' records, so processing
    /// records from newest to oldest is a valid reverse topological order.
    let id: Int
    /// Records of the inputs, in the order the backward closure returns their gradients.
    var inputs: [GradNode?]
    /// Output gradient → one gradient (or nil) per input. Nil for leaves, and after use.
    var backwardFunction: ((Tensor) -> [Tensor?])?
    /// The op's name, for error messages and debugging.
    public let name: String
    /// The shape of the tensor this record belongs to.
    public let shape: [Int]
    /// The accumulated gradient of a leaf after `backward()`.
    public internal(set) var grad: Tensor?

    /// True for a tracked input (made by `requiringGrad()`), false for an op's record.
    public let isLeaf: Bool

    init(name: String, shape: [Int], inputs: [GradNode?], backward: ((Tensor) -> [Tensor?])?) {
        id = GradNode.nextID.wrappingAdd(1, ordering: .relaxed).newValue
        self.name = name
        self.shape = shape
        self.inputs = inputs
        self.backwardFunction = backward
        self.isLeaf = backward == nil
    }
}

/// Whether ops record backward records. The switch is task-local (thread-local outside Swift
/// concurrency), so one thread's inference never disables another thread's recording.
public enum GradMode {
    @TaskLocal static var recording = true

    /// True unless inside `withoutGradient`.
    public static var isEnabled: Bool { recording }

    /// Runs `body` with recording switched off (inference, optimiser updates, backward itself).
    public static func withoutGradient<R>(_ body: () throws -> R) rethrows -> R {
        try $recording.withValue(false) { try body() }
    }

    /// Runs `body` with recording switched on, also inside `withoutGradient` (an optimisation
    /// loop called from inference code, e.g. null-text inversion run from a script builtin).
    public static func withGradient<R>(_ body: () throws -> R) rethrows -> R {
        try $recording.withValue(true) { try body() }
    }
}
