/// A wrong argument or an impossible request to a process or an attention query; the message
/// names the operation (`attention: res 64 is not captured ...`).
public struct EditingError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Thrown by ``RunContext/checkCancelled()`` when the user asked to stop (Ctrl-C).
public struct ProcessCancelled: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "cancelled" }
}
