// Expression evaluation.
extension Interpreter {
    func evaluate(_ expr: Expr, _ env: Environment) throws -> Value {
        switch expr.kind {
        case .number(let n): return .number(n)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .nilLiteral: return .nil
        case .variable(let name):
            if let v = env.lookup(name) { return v }
            if let b = registry.lookup(name) { return .builtin(b) }
            throw RuntimeError(message: "undefined variable '\(name)'", location: expr.location)
        case .list(let items):
            return .list(try items.map { try evaluate($0, env) })
        case .record(let entries):
            let box = RecordBox([])
            for (key, valueExpr) in entries { box[key] = try evaluate(valueExpr, env) }
            return .record(box)
        case .unary(let op, let operand):
            let v = try evaluate(operand, env)
            return try at(expr.location) { try unary(op, v) }
        case .binary(let op, let l, let r):
            let a = try evaluate(l, env)
            let b = try evaluate(r, env)
            return try at(expr.location) { try binary(op, a, b) }
        case .and(let l, let r):
            guard try truth(try evaluate(l, env), l.location, "and") else { return .bool(false) }
            return .bool(try truth(try evaluate(r, env), r.location, "and"))
        case .or(let l, let r):
            if try truth(try evaluate(l, env), l.location, "or") { return .bool(true) }
            return .bool(try truth(try evaluate(r, env), r.location, "or"))
        case .range(let l, let r, let inclusive):
            let a = try evaluate(l, env), b = try evaluate(r, env)
            guard case .number(let x) = a, case .number(let y) = b, let lo = exactInt(x), let hi = exactInt(y) else {
                throw RuntimeError(message: "range bounds must be integers, got \(a.summary) and \(b.summary)",
                                   location: expr.location)
            }
            return .range(RangeValue(start: lo, end: hi, inclusive: inclusive))
        case .call(let callee, let args):
            return try evaluateCall(callee, args, at: expr.location, env)
        case .field(let objectExpr, let name):
            let object = try evaluate(objectExpr, env)
            return try at(expr.location) { try field(of: object, name) }
        case .index(let objectExpr, let items):
            let object = try evaluate(objectExpr, env)
            let index = try evaluateIndex(items, env)
            return try at(expr.location) { try subscriptValue(object, index) }
        case .function(let decl):
            return .function(Closure(declaration: decl, environment: env))
        }
    }

    func evaluateIndex(_ items: [IndexExpr], _ env: Environment) throws -> [IndexItem] {
        try items.map { item in
            switch item {
            case .single(let e): return .value(try evaluate(e, env))
            case .ellipsis: return .ellipsis
            case .slice(let a, let b, let c):
                return .slice(start: try a.map { try evaluate($0, env) },
                              stop: try b.map { try evaluate($0, env) },
                              step: try c.map { try evaluate($0, env) })
            }
        }
    }

    func field(of object: Value, _ name: String) throws -> Value {
        switch object {
        case .record(let box):
            if let v = box[name] { return v }
            throw HostError("record has no field '\(name)'" + fieldList(box.keys))
        case .host(let h):
            if let v = try h.field(name) { return v }
            throw HostError("\(h.kindName) has no field '\(name)'" + fieldList(h.fieldNames))
        default:
            throw HostError("a \(object.typeName) has no fields (tried '.\(name)')")
        }
    }

    func fieldList(_ names: [String]) -> String {
        names.isEmpty ? "" : " (fields: \(names.joined(separator: ", ")))"
    }
}
