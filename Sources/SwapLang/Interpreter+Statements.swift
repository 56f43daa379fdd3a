// Statement execution: assignment, control flow, loops, function declarations.
extension Interpreter {
    enum Flow {
        case normal, breakLoop, continueLoop
        case returned(Value)
    }

    func executeBlock(_ body: [Stmt], _ env: Environment) throws -> Flow {
        for stmt in body {
            let flow = try execute(stmt, env)
            if case .normal = flow { continue }
            return flow
        }
        return .normal
    }

    func execute(_ stmt: Stmt, _ env: Environment) throws -> Flow {
        try tick(at: stmt.location)
        switch stmt.kind {
        case .expression(let e):
            _ = try evaluate(e, env)
        case .assign(let target, let valueExpr):
            let value = try evaluate(valueExpr, env)
            try assign(target, value, env)
        case .function(let decl):
            env.assign(decl.name ?? "fn", .function(Closure(declaration: decl, environment: env)))
        case .ifElse(let branches, let elseBody):
            for branch in branches {
                if try truth(try evaluate(branch.condition, env), branch.condition.location, "if") {
                    return try executeBlock(branch.body, env)
                }
            }
            if let body = elseBody { return try executeBlock(body, env) }
        case .whileLoop(let condition, let body):
            while try truth(try evaluate(condition, env), condition.location, "while") {
                try tick(at: stmt.location)
                switch try executeBlock(body, env) {
                case .breakLoop: return .normal
                case .returned(let v): return .returned(v)
                default: continue
                }
            }
        case .forLoop(let name, let iterableExpr, let body):
            let iterable = try evaluate(iterableExpr, env)
            let next = try iterator(for: iterable, at: iterableExpr.location)
            while let item = try at(iterableExpr.location, next) {
                try tick(at: stmt.location)
                env.assign(name, item)
                switch try executeBlock(body, env) {
                case .breakLoop: return .normal
                case .returned(let v): return .returned(v)
                default: continue
                }
            }
        case .returnValue(let e):
            return .returned(try e.map { try evaluate($0, env) } ?? .nil)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        case .help(let name):
            for line in helpText(for: name).split(separator: "\n", omittingEmptySubsequences: false) {
                output(String(line))
            }
        }
        return .normal
    }

    /// Conditions must be booleans (no truthiness surprises with 0, "" or empty lists).
    func truth(_ v: Value, _ loc: SourceLocation, _ construct: String) throws -> Bool {
        if case .bool(let b) = v { return b }
        throw RuntimeError(message: "\(construct): condition must be a bool, got \(v.typeName)", location: loc)
    }

    /// An iterator over lists (a snapshot), ranges, strings (characters), records (keys) and host values.
    func iterator(for value: Value, at loc: SourceLocation) throws -> HostIterator {
        var i = 0
        switch value {
        case .list(let box):
            let items = box.items
            return { defer { i += 1 }; return i < items.count ? items[i] : nil }
        case .range(let r):
            let n = r.count
            return { defer { i += 1 }; return i < n ? .number(Double(r.element(i))) : nil }
        case .string(let s):
            let chars = Array(s)
            return { defer { i += 1 }; return i < chars.count ? .string(String(chars[i])) : nil }
        case .record(let box):
            let keys = box.keys
            return { defer { i += 1 }; return i < keys.count ? .string(keys[i]) : nil }
        case .host(let h):
            if let it = try at(loc, { try h.makeIterator() }) { return it }
        default:
            break
        }
        throw RuntimeError(message: "for: cannot iterate over a \(value.typeName)", location: loc)
    }

    // MARK: - Assignment

    func assign(_ target: Expr, _ value: Value, _ env: Environment) throws {
        switch target.kind {
        case .variable(let name):
            env.assign(name, value)
        case .field(let objectExpr, let name):
            let object = try evaluate(objectExpr, env)
            try at(target.location) {
                switch object {
                case .record(let box): box[name] = value
                case .host(let h): try h.setField(name, to: value)
                default: throw HostError("cannot set field '\(name)' on a \(object.typeName)")
                }
            }
        case .index(let objectExpr, let items):
            let object = try evaluate(objectExpr, env)
            let index = try evaluateIndex(items, env)
            try at(target.location) { try setIndex(object, index, value) }
        default:
            throw RuntimeError(message: "cannot assign to this expression", location: target.location)
        }
    }
}
