import Foundation

// Arithmetic, comparison and unary operators. Host values get the first say through
// `HostValue.binary` / `unary` (so `t * 2 + u` broadcasts in the host).
extension Interpreter {
    /// Largest list or string an operator may build (guards scripts against runaway memory).
    static let maxCollectionSize = 1 << 24

    func binary(_ op: BinaryOperator, _ a: Value, _ b: Value) throws -> Value {
        if case .host(let h) = a, let r = try h.binary(op, b, selfOnLeft: true) { return r }
        if case .host(let h) = b, let r = try h.binary(op, a, selfOnLeft: false) { return r }
        switch op {
        case .equal: return .bool(a.equals(b))
        case .notEqual: return .bool(!a.equals(b))
        default: break
        }
        switch (a, b) {
        case (.number(let x), .number(let y)):
            return try arithmetic(op, x, y)
        case (.string(let x), .string(let y)):
            switch op {
            case .add:
                guard x.utf8.count + y.utf8.count <= Interpreter.maxCollectionSize else { throw HostError("+: string too long") }
                return .string(x + y)
            case .less: return .bool(x < y)
            case .lessEqual: return .bool(x <= y)
            case .greater: return .bool(x > y)
            case .greaterEqual: return .bool(x >= y)
            default: break
            }
        case (.list(let x), .list(let y)) where op == .add:
            guard x.items.count + y.items.count <= Interpreter.maxCollectionSize else { throw HostError("+: list too long") }
            return .list(x.items + y.items)
        case (.string, _) where op == .add, (_, .string) where op == .add:
            throw HostError("+: cannot add \(a.typeName) and \(b.typeName) (use str(x) to convert)")
        default:
            break
        }
        throw HostError("\(op.rawValue): unsupported operand types \(a.typeName) and \(b.typeName)")
    }

    private func arithmetic(_ op: BinaryOperator, _ x: Double, _ y: Double) throws -> Value {
        switch op {
        case .add: return .number(x + y)
        case .subtract: return .number(x - y)
        case .multiply: return .number(x * y)
        case .divide:
            if y == 0 { throw HostError("/: division by zero") }
            return .number(x / y)
        case .modulo:
            if y == 0 { throw HostError("%: modulo by zero") }
            return .number(x - y * (x / y).rounded(.down))
        case .power: return .number(pow(x, y))
        case .less: return .bool(x < y)
        case .lessEqual: return .bool(x <= y)
        case .greater: return .bool(x > y)
        case .greaterEqual: return .bool(x >= y)
        case .equal: return .bool(x == y)
        case .notEqual: return .bool(x != y)
        }
    }

    func unary(_ op: UnaryOperator, _ v: Value) throws -> Value {
        if case .host(let h) = v, let r = try h.unary(op) { return r }
        switch (op, v) {
        case (.negate, .number(let x)): return .number(-x)
        case (.not, .bool(let b)): return .bool(!b)
        case (.not, _): throw HostError("not: operand must be a bool, got \(v.typeName)")
        default: throw HostError("-: cannot negate a \(v.typeName)")
        }
    }
}
