/// An error a host (or a builtin) throws; the interpreter attaches the source location of the
/// call. The message should name the operation: `unet: latent has shape [1,3,64,64], expected 4 channels`.
public struct HostError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One subscript passed to `HostValue.index`: `x[0, :, 8:24]` gives
/// `[.value(0), .slice(nil, nil, nil), .slice(8, 24, nil)]`; `...` gives `.ellipsis`.
public enum IndexItem {
    case value(Value)
    case slice(start: Value?, stop: Value?, step: Value?)
    case ellipsis
}

/// Produces the next element of a host iteration, or nil at the end.
public typealias HostIterator = () throws -> Value?

/// An opaque value owned by the host: tensor, image, tokens, attention map, mask, box, model,
/// a steppable process. Every requirement except `kindName` and `summary` has a default that
/// reports "not supported", so a host implements only what its kind offers.
public protocol HostValue: AnyObject {
    /// The kind shown by `type(x)` and in errors: "tensor", "image", ...
    var kindName: String { get }
    /// One line shown when the value is displayed: `tensor [1, 4, 64, 64] float32`.
    var summary: String { get }
    /// Field names offered for completion and in "no field" errors.
    var fieldNames: [String] { get }
    /// Method names offered for completion.
    var methodNames: [String] { get }
    /// `x.name`; return nil when there is no such field.
    func field(_ name: String) throws -> Value?
    /// `x.name = value`.
    func setField(_ name: String, to value: Value) throws
    /// `x.name(args)`; return nil when there is no such method.
    func callMethod(_ name: String, arguments: Arguments, context: CallContext) throws -> Value?
    /// `x[items]`.
    func index(_ items: [IndexItem]) throws -> Value
    /// `x[items] = value`.
    func setIndex(_ items: [IndexItem], to value: Value) throws
    /// `self op other` (or `other op self` when `selfOnLeft` is false). Return nil if unsupported.
    func binary(_ op: BinaryOperator, _ other: Value, selfOnLeft: Bool) throws -> Value?
    /// `-self`; return nil if unsupported.
    func unary(_ op: UnaryOperator) throws -> Value?
    /// `len(x)`; nil if the value has no length.
    var length: Int? { get }
    /// `for v in x`; nil if the value is not iterable.
    func makeIterator() throws -> HostIterator?
    /// `==` between two host values.
    func isEqual(to other: any HostValue) -> Bool
}

extension HostValue {
    public var fieldNames: [String] { [] }
    public var methodNames: [String] { [] }
    public func field(_ name: String) throws -> Value? { nil }
    public func setField(_ name: String, to value: Value) throws {
        throw HostError("cannot set field '\(name)' of a \(kindName)")
    }
    public func callMethod(_ name: String, arguments: Arguments, context: CallContext) throws -> Value? { nil }
    public func index(_ items: [IndexItem]) throws -> Value {
        throw HostError("a \(kindName) cannot be indexed")
    }
    public func setIndex(_ items: [IndexItem], to value: Value) throws {
        throw HostError("a \(kindName) does not support index assignment")
    }
    public func binary(_ op: BinaryOperator, _ other: Value, selfOnLeft: Bool) throws -> Value? { nil }
    public func unary(_ op: UnaryOperator) throws -> Value? { nil }
    public var length: Int? { nil }
    public func makeIterator() throws -> HostIterator? { nil }
    public func isEqual(to other: any HostValue) -> Bool { self === other }
}
