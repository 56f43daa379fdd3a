import Foundation
import SwapLang
import SwapTensor

/// A tensor as the language sees it: an opaque host value wrapping a `SwapTensor.Tensor`.
///
/// - Display: `TensorSummary.line` (shape, min, max, mean, std, NaN/Inf counts).
/// - Fields: `shape` (list), `rank`, `count`, `dtype`.
/// - Methods: see `TensorValue+Methods.swift` (`sum`, `mean`, `reshape`, `softmax`, `item`, ...).
/// - Operators: `+ - * / % **` with numbers and tensors (broadcasting like PyTorch);
///   `< <= > >=` give 0/1 masks; `==` / `!=` compare whole tensors (same shape and elements)
///   and give a bool; unary `-`.
/// - Indexing: `x[0, :, 8:24]`, negative indices, steps, `...`, lists of indices; see
///   `TensorValue+Indexing.swift`. A fully indexed element is a number.
/// - `len(x)` is the first extent; `for row in x` iterates over the first axis.
///
/// Index assignment (`x[0, :] = 1`) mutates this value in place, so every binding that holds
/// the same tensor value sees the change (like NumPy arrays and SwapScript lists).
public final class TensorValue: HostValue {
    /// The wrapped tensor.
    public internal(set) var tensor: Tensor

    public init(_ tensor: Tensor) { self.tensor = tensor }

    public var kindName: String { "tensor" }
    public var summary: String { tensor.summary.line }
    public var fieldNames: [String] { ["shape", "rank", "count", "dtype"] }

    public func field(_ name: String) throws -> Value? {
        switch name {
        case "shape": return .list(tensor.shape.map { .number(Double($0)) })
        case "rank": return .number(Double(tensor.rank))
        case "count": return .number(Double(tensor.count))
        case "dtype": return .string("float32")
        default: return nil
        }
    }

    public var length: Int? { tensor.rank == 0 ? nil : tensor.shape[0] }

    public func makeIterator() throws -> HostIterator? {
        guard tensor.rank > 0 else { throw HostError("for: cannot iterate over a rank-0 tensor") }
        let snapshot = tensor
        var i = 0
        return {
            guard i < snapshot.shape[0] else { return nil }
            defer { i += 1 }
            return try TensorIndexer.select(snapshot, [.value(.number(Double(i)))])
        }
    }

    public func isEqual(to other: any HostValue) -> Bool {
        guard let o = other as? TensorValue else { return false }
        if o === self { return true }
        guard o.tensor.shape == tensor.shape else { return false }
        return tensor.withUnsafeBufferPointer { a in o.tensor.withUnsafeBufferPointer { b in a.elementsEqual(b) } }
    }

    // MARK: - Operators

    public func unary(_ op: UnaryOperator) throws -> Value? {
        guard op == .negate else { return nil }
        return .tensor(tensor.negated())
    }

    public func binary(_ op: BinaryOperator, _ other: Value, selfOnLeft: Bool) throws -> Value? {
        switch op {
        case .equal, .notEqual:
            guard case .host(let h) = other else { return nil }
            let same = isEqual(to: h)
            return .bool(op == .equal ? same : !same)
        default:
            break
        }
        switch other {
        case .number(let d):
            let s = Float(d)
            return .tensor(try TensorArithmetic.scalar(op, tensor, s, tensorOnLeft: selfOnLeft))
        case .host(let h):
            guard let o = h as? TensorValue else { return nil }
            let (a, b) = selfOnLeft ? (tensor, o.tensor) : (o.tensor, tensor)
            return .tensor(try TensorArithmetic.binary(op, a, b))
        default:
            return nil
        }
    }
}

/// Elementwise arithmetic for the language's operators, with messages that name the operator
/// and both shapes: `+: shapes [2,3] and [4] do not broadcast`.
enum TensorArithmetic {
    /// `a op b` for two tensors, broadcasting.
    static func binary(_ op: BinaryOperator, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard let shape = Broadcast.shape(a.shape, b.shape) else {
            throw HostError("\(op.rawValue): shapes \(formatShape(a.shape)) and \(formatShape(b.shape)) do not broadcast")
        }
        _ = try Convert.elementCount(shape, op.rawValue)
        switch op {
        case .add: return try a + b
        case .subtract: return try a - b
        case .multiply: return try a * b
        case .divide: return try a / b
        default:
            guard let f = function(op) else {
                throw HostError("\(op.rawValue): not supported between tensors")
            }
            let x = try a.broadcast(to: shape), y = try b.broadcast(to: shape)
            return zip(x, y, f)
        }
    }

    /// `t op s` (or `s op t` when `tensorOnLeft` is false).
    static func scalar(_ op: BinaryOperator, _ t: Tensor, _ s: Float, tensorOnLeft: Bool) throws -> Tensor {
        if tensorOnLeft {
            switch op {
            case .add: return t + s
            case .subtract: return t - s
            case .multiply: return t * s
            default: break
            }
        } else {
            switch op {
            case .add: return s + t
            case .multiply: return s * t
            default: break
            }
        }
        guard let f = function(op) else { throw HostError("\(op.rawValue): not supported between a tensor and a number") }
        return tensorOnLeft ? map(t) { f($0, s) } : map(t) { f(s, $0) }
    }

    /// The scalar function of an operator, or nil for `==` / `!=`.
    static func function(_ op: BinaryOperator) -> ((Float, Float) -> Float)? {
        switch op {
        case .add: return { $0 + $1 }
        case .subtract: return { $0 - $1 }
        case .multiply: return { $0 * $1 }
        case .divide: return { $0 / $1 }
        case .modulo: return { x, y in x - y * (x / y).rounded(.down) }
        case .power: return { x, y in Float(Foundation.pow(Double(x), Double(y))) }
        case .less: return { $0 < $1 ? 1 : 0 }
        case .lessEqual: return { $0 <= $1 ? 1 : 0 }
        case .greater: return { $0 > $1 ? 1 : 0 }
        case .greaterEqual: return { $0 >= $1 ? 1 : 0 }
        case .equal, .notEqual: return nil
        }
    }

    /// Applies `f` to every element.
    static func map(_ t: Tensor, _ f: (Float) -> Float) -> Tensor {
        if t.count == 0 { return Tensor(zeros: t.shape) }
        var out = Tensor(uninitializedShape: t.shape)
        t.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[i] = f(src[i]) }
            }
        }
        return out
    }

    /// Combines two tensors of the same shape elementwise.
    static func zip(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        if a.count == 0 { return Tensor(zeros: a.shape) }
        var out = Tensor(uninitializedShape: a.shape)
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                out.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<x.count { dst[i] = f(x[i], y[i]) }
                }
            }
        }
        return out
    }
}
