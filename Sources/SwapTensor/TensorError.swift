/// A failed tensor operation: names the operation and the shapes involved.
///
/// Every op whose success depends on its inputs' shapes throws this instead of trapping, so a
/// wrong shape typed at the REPL becomes a message, not a crash.
public struct TensorError: Error, CustomStringConvertible, Equatable {
    /// The operation, e.g. "matmul".
    public let operation: String
    /// What was wrong, naming the shapes.
    public let message: String

    public init(_ operation: String, _ message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}

/// Formats a shape the way error messages show it: `[1,4,64,64]`.
public func formatShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ",") + "]"
}
