// The error every failing ShapesWorld operation throws.

/// A ShapesWorld error naming the operation and what was wrong.
public struct WorldError: Error, Equatable, CustomStringConvertible {
    /// The operation that failed, e.g. "recognize" or "parse caption".
    public let operation: String
    public let message: String

    public init(_ operation: String, _ message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}
