/// What kind of value a builtin parameter accepts; checked once, generically, when binding.
public enum ParamKind: Equatable, Sendable, CustomStringConvertible {
    case any, number, string, bool, list, record, function
    /// An integer-valued number.
    case integer
    /// A host value whose `kindName` is one of these.
    case host([String])

    public var description: String {
        switch self {
        case .any: return "any"
        case .number: return "number"
        case .integer: return "int"
        case .string: return "string"
        case .bool: return "bool"
        case .list: return "list"
        case .record: return "record"
        case .function: return "function"
        case .host(let kinds): return kinds.joined(separator: "|")
        }
    }

    func accepts(_ v: Value) -> Bool {
        switch (self, v) {
        case (.any, _): return true
        case (.number, .number), (.string, .string), (.bool, .bool), (.list, .list), (.record, .record):
            return true
        case (.integer, .number(let d)): return exactInt(d) != nil
        case (.function, .function), (.function, .builtin): return true
        case (.host(let kinds), .host(let h)): return kinds.contains(h.kindName)
        default: return false
        }
    }
}

/// A builtin parameter. A parameter with a default may be omitted; a `variadic` parameter
/// (last positional) collects the remaining positional arguments into a list.
public struct BuiltinParam {
    public var name: String
    public var kind: ParamKind
    public var defaultValue: Value?
    public var variadic: Bool
    public var doc: String

    public init(_ name: String, _ kind: ParamKind = .any, default defaultValue: Value? = nil,
                variadic: Bool = false, doc: String = "") {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.variadic = variadic
        self.doc = doc
    }

    /// The default as shown in help (`50`, `"a cat"`, `nil`), or nil when required.
    public var defaultText: String? { defaultValue?.summary }
}

/// Arguments of a call as written: positional values, then named ones in order.
public struct Arguments {
    public var positional: [Value]
    public var named: [(name: String, value: Value)]

    public init(positional: [Value] = [], named: [(name: String, value: Value)] = []) {
        self.positional = positional
        self.named = named
    }
}

/// Arguments after binding to a parameter list: every parameter has a value.
public struct BoundArguments {
    public let callee: String
    public private(set) var values: [String: Value]

    public subscript(name: String) -> Value { values[name] ?? .nil }

    /// The list collected by a variadic parameter.
    public func rest(_ name: String) -> [Value] {
        if case .list(let box) = self[name] { return box.items }
        return []
    }

    public func number(_ name: String) throws -> Double {
        if case .number(let d) = self[name] { return d }
        throw HostError("\(callee): '\(name)' must be a number, got \(self[name].typeName)")
    }

    public func int(_ name: String) throws -> Int {
        guard case .number(let d) = self[name], let i = exactInt(d) else {
            throw HostError("\(callee): '\(name)' must be an integer, got \(self[name].summary)")
        }
        return i
    }

    public func string(_ name: String) throws -> String {
        if case .string(let s) = self[name] { return s }
        throw HostError("\(callee): '\(name)' must be a string, got \(self[name].typeName)")
    }

    public func isNil(_ name: String) -> Bool {
        if case .nil = self[name] { return true }
        return false
    }
}

/// A parameter list plus the generic binder (positional, named, defaults, variadics),
/// shared by builtins, user functions and host methods.
public struct Signature {
    public var name: String
    public var params: [BuiltinParam]

    public init(name: String, params: [BuiltinParam]) {
        self.name = name
        self.params = params
    }

    /// `sample(model, prompt, steps: 50, seed: nil)`.
    public var text: String {
        let parts = params.map { p -> String in
            if p.variadic { return "\(p.name)..." }
            if let d = p.defaultText { return "\(p.name): \(d)" }
            return p.name
        }
        return "\(name)(\(parts.joined(separator: ", ")))"
    }

    /// Binds by counts and names only (used by the static check); returns an error message or nil.
    func checkArity(positional: Int, named: [String]) -> String? {
        let placeholder = Arguments(positional: Array(repeating: .nil, count: positional),
                                    named: named.map { ($0, Value.nil) })
        do {
            _ = try bind(placeholder, checkKinds: false)
            return nil
        } catch let e as HostError {
            return e.message
        } catch {
            return "\(error)"
        }
    }

    /// Binds arguments to parameters; errors name the callee and list valid names.
    public func bind(_ args: Arguments, checkKinds: Bool = true) throws -> BoundArguments {
        var values: [String: Value] = [:]
        var positional = args.positional[...]
        for p in params {
            if p.variadic {
                values[p.name] = .list(Array(positional))
                positional = []
            } else if let v = positional.first {
                values[p.name] = v
                positional = positional.dropFirst()
            }
        }
        if !positional.isEmpty {
            let max = params.count
            throw HostError("\(name): expected at most \(max) argument\(max == 1 ? "" : "s"), got \(args.positional.count)")
        }
        for (n, v) in args.named {
            guard let p = params.first(where: { $0.name == n }), !p.variadic else {
                let valid = params.filter { !$0.variadic }.map(\.name)
                let list = valid.isEmpty ? "it takes none" : "valid names: " + valid.joined(separator: ", ")
                throw HostError("\(name): unknown argument '\(n)' (\(list))")
            }
            if values[n] != nil { throw HostError("\(name): argument '\(n)' given twice") }
            values[n] = v
        }
        for p in params where values[p.name] == nil {
            guard let d = p.defaultValue else { throw HostError("\(name): missing argument '\(p.name)'") }
            values[p.name] = d
        }
        if checkKinds {
            for p in params where !p.variadic && p.kind != .any {
                let v = values[p.name] ?? .nil
                if p.defaultValue != nil, case .nil = v { continue }
                if !p.kind.accepts(v) {
                    throw HostError("\(name): '\(p.name)' must be \(p.kind == .integer ? "an integer" : "a \(p.kind)"), got \(v.typeName)")
                }
            }
        }
        return BoundArguments(callee: name, values: values)
    }
}

/// A function the host registers: name, family, parameters, doc, example and body.
public final class Builtin {
    public let signature: Signature
    public let family: String
    public let doc: String
    public let example: String
    let body: (BoundArguments, CallContext) throws -> Value

    public var name: String { signature.name }
    public var params: [BuiltinParam] { signature.params }

    public init(_ name: String, family: String, params: [BuiltinParam] = [], doc: String,
                example: String, body: @escaping (BoundArguments, CallContext) throws -> Value) {
        self.signature = Signature(name: name, params: params)
        self.family = family
        self.doc = doc
        self.example = example
        self.body = body
    }
}

extension Builtin {
    var signatureText: String { signature.text }
}

/// All builtins known to an interpreter, grouped by family.
public final class BuiltinRegistry {
    public private(set) var byName: [String: Builtin] = [:]
    private var order: [String] = []

    public init() {}

    /// A registry holding the core builtins (`print`, `len`, `range`, ...).
    public static func standard() -> BuiltinRegistry {
        let r = BuiltinRegistry()
        r.registerCoreBuiltins()
        return r
    }

    /// Adds or replaces a builtin.
    public func register(_ builtin: Builtin) {
        if byName.updateValue(builtin, forKey: builtin.name) == nil { order.append(builtin.name) }
    }

    /// Convenience for `register(Builtin(...))`.
    public func register(_ name: String, family: String, params: [BuiltinParam] = [], doc: String,
                         example: String, body: @escaping (BoundArguments, CallContext) throws -> Value) {
        register(Builtin(name, family: family, params: params, doc: doc, example: example, body: body))
    }

    public func lookup(_ name: String) -> Builtin? { byName[name] }

    /// Builtins in registration order.
    public var all: [Builtin] { order.compactMap { byName[$0] } }

    /// Family names in first-registration order.
    public var families: [String] {
        var seen: [String] = []
        for b in all where !seen.contains(b.family) { seen.append(b.family) }
        return seen
    }
}
