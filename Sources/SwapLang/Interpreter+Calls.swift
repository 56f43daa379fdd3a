/// What a builtin or host method gets besides its arguments: the call's location and a way
/// back into the interpreter (call a script function, print, poll cancellation).
public struct CallContext {
    let interpreter: Interpreter
    /// Where the call is in the source.
    public let location: SourceLocation

    /// Calls a script function, builtin or other callable value.
    public func call(_ callee: Value, _ arguments: Arguments) throws -> Value {
        try interpreter.callValue(callee, arguments, at: location)
    }

    /// Writes one line of output.
    public func output(_ line: String) { interpreter.output(line) }

    /// Throws `Interrupted` when the host asked to stop; long-running builtins should poll this.
    public func checkCancelled() throws { try interpreter.checkCancelled() }

    /// The registry of the running interpreter.
    public var registry: BuiltinRegistry { interpreter.registry }
}

// Calls: builtins, user functions (closures) and host methods.
extension Interpreter {
    func evaluateCall(_ calleeExpr: Expr, _ argExprs: [ArgumentExpr], at loc: SourceLocation,
                      _ env: Environment) throws -> Value {
        // `x.name(...)` on a host value is a method call.
        if case .field(let objectExpr, let name) = calleeExpr.kind {
            let object = try evaluate(objectExpr, env)
            let args = try evaluateArguments(argExprs, env)
            if case .host(let h) = object {
                try tick(at: loc)
                let context = CallContext(interpreter: self, location: loc)
                if let result = try at(loc, { try h.callMethod(name, arguments: args, context: context) }) {
                    return result
                }
                guard let f = try at(loc, { try h.field(name) }) else {
                    let names = h.methodNames
                    throw RuntimeError(message: "\(h.kindName) has no method '\(name)'"
                                       + (names.isEmpty ? "" : " (methods: \(names.joined(separator: ", ")))"),
                                       location: loc)
                }
                return try callValue(f, args, at: loc)
            }
            let f = try at(calleeExpr.location) { try field(of: object, name) }
            return try callValue(f, args, at: loc)
        }
        let callee = try evaluate(calleeExpr, env)
        return try callValue(callee, try evaluateArguments(argExprs, env), at: loc)
    }

    func evaluateArguments(_ argExprs: [ArgumentExpr], _ env: Environment) throws -> Arguments {
        var args = Arguments()
        for a in argExprs {
            let v = try evaluate(a.value, env)
            if let name = a.name {
                args.named.append((name, v))
            } else {
                if !args.named.isEmpty {
                    throw RuntimeError(message: "positional argument after named arguments", location: a.location)
                }
                args.positional.append(v)
            }
        }
        return args
    }

    /// Calls any callable value.
    func callValue(_ callee: Value, _ args: Arguments, at loc: SourceLocation) throws -> Value {
        try tick(at: loc)
        switch callee {
        case .builtin(let b):
            return try callBuiltin(b, args, at: loc)
        case .function(let f):
            return try callClosure(f, args, at: loc)
        default:
            throw RuntimeError(message: "a \(callee.typeName) is not callable", location: loc)
        }
    }

    func callBuiltin(_ b: Builtin, _ args: Arguments, at loc: SourceLocation) throws -> Value {
        do {
            let bound = try b.signature.bind(args)
            return try b.body(bound, CallContext(interpreter: self, location: loc))
        } catch let e as HostError {
            let message = e.message.hasPrefix("\(b.name):") ? e.message : "\(b.name): \(e.message)"
            throw RuntimeError(message: message, location: loc)
        }
    }

    func callClosure(_ f: Closure, _ args: Arguments, at loc: SourceLocation) throws -> Value {
        let decl = f.declaration
        let signature = Signature(name: f.name, params: decl.parameters.map {
            BuiltinParam($0.name, default: $0.defaultValue == nil ? nil : Value.nil)
        })
        let bound = try at(loc) { try signature.bind(args, checkKinds: false) }
        let given = Set(decl.parameters.prefix(args.positional.count).map(\.name)).union(args.named.map(\.name))

        if callDepth >= maxCallDepth {
            throw RuntimeError(message: "\(f.name): recursion too deep (more than \(maxCallDepth) nested calls)",
                               location: loc)
        }
        callDepth += 1
        defer { callDepth -= 1 }

        let env = Environment(parent: f.environment)
        for p in decl.parameters {
            if !given.contains(p.name), let d = p.defaultValue {
                env.define(p.name, try evaluate(d, env))
            } else {
                env.define(p.name, bound[p.name])
            }
        }
        switch try executeBlock(decl.body, env) {
        case .returned(let v): return v
        default: return .nil
        }
    }
}
