import Foundation

/// A runtime value. Lists and records are shared references (like Python): `append(xs, 1)`
/// and `r.x = 1` are visible through every binding. Opaque host objects (tensors, images,
/// models...) are `.host` values; the language only talks to them through `HostValue`.
public enum Value {
    case number(Double)
    case string(String)
    case bool(Bool)
    case `nil`
    case list(ListBox)
    case record(RecordBox)
    case function(Closure)
    case builtin(Builtin)
    case range(RangeValue)
    case host(any HostValue)

    /// Builds a list value.
    public static func list(_ items: [Value]) -> Value { .list(ListBox(items)) }

    /// Builds a record value with fields in the given order.
    public static func record(_ fields: [(String, Value)]) -> Value { .record(RecordBox(fields)) }

    /// The type name shown by `type(x)` and in error messages.
    public var typeName: String {
        switch self {
        case .number: return "number"
        case .string: return "string"
        case .bool: return "bool"
        case .nil: return "nil"
        case .list: return "list"
        case .record: return "record"
        case .function: return "function"
        case .builtin: return "builtin"
        case .range: return "range"
        case .host(let h): return h.kindName
        }
    }

    /// The one-line summary shown when a value is displayed (strings quoted).
    public var summary: String { render(quoted: true) }

    /// The text `print` and `str` produce (strings unquoted at the top level).
    public var text: String { render(quoted: false) }

    func render(quoted: Bool, depth: Int = 0) -> String {
        switch self {
        case .number(let d): return formatNumber(d)
        case .string(let s): return quoted ? quote(s) : s
        case .bool(let b): return b ? "true" : "false"
        case .nil: return "nil"
        case .list(let box):
            if depth > 8 { return "[...]" }
            return "[" + box.items.map { $0.render(quoted: true, depth: depth + 1) }.joined(separator: ", ") + "]"
        case .record(let box):
            if depth > 8 { return "{...}" }
            return "{" + box.keys.map { k in
                "\(k): \(box.fields[k].map { $0.render(quoted: true, depth: depth + 1) } ?? "nil")"
            }.joined(separator: ", ") + "}"
        case .function(let f): return "<fn \(f.signature)>"
        case .builtin(let b): return "<builtin \(b.signatureText)>"
        case .range(let r): return r.description
        case .host(let h): return h.summary
        }
    }
}

/// Prints integral numbers without ".0": `3`, `-2`, `0.5`, `1e+20`.
public func formatNumber(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d > 0 ? "inf" : "-inf" }
    if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
    return String(d)
}

func quote(_ s: String) -> String {
    var out = "\""
    for c in s {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default: out.append(c)
        }
    }
    return out + "\""
}

/// Converts a number to an `Int` when it is integral and safely in range.
func exactInt(_ d: Double) -> Int? {
    guard d.isFinite, d == d.rounded(), abs(d) <= 9_007_199_254_740_992 else { return nil }
    return Int(d)
}

/// The mutable storage behind a list value.
public final class ListBox {
    public var items: [Value]
    public init(_ items: [Value]) { self.items = items }
}

/// The mutable storage behind a record value; field order is insertion order.
public final class RecordBox {
    public private(set) var keys: [String] = []
    public private(set) var fields: [String: Value] = [:]

    public init(_ pairs: [(String, Value)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public subscript(key: String) -> Value? {
        get { fields[key] }
        set {
            if let v = newValue {
                if fields.updateValue(v, forKey: key) == nil { keys.append(key) }
            } else if fields.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }
}

/// A user function value: its declaration and the environment it closes over.
public final class Closure {
    let declaration: FunctionDecl
    let environment: Environment

    init(declaration: FunctionDecl, environment: Environment) {
        self.declaration = declaration
        self.environment = environment
    }

    public var name: String { declaration.name ?? "fn" }

    /// `name(a, b: 2)`.
    public var signature: String {
        let params = declaration.parameters.map { $0.defaultValue == nil ? $0.name : "\($0.name): …" }
        return "\(name)(\(params.joined(separator: ", ")))"
    }
}

/// An integer range: `0..10` includes 10, `0..<10` stops before it; `range(a, b, step)`
/// builds half-open ranges with a step. Ranges are lazy and iterable.
public struct RangeValue: Equatable, Sendable, CustomStringConvertible {
    public var start: Int
    public var end: Int
    public var step: Int
    public var inclusive: Bool

    public init(start: Int, end: Int, step: Int = 1, inclusive: Bool) {
        self.start = start
        self.end = end
        self.step = step == 0 ? 1 : step
        self.inclusive = inclusive
    }

    /// Number of elements.
    public var count: Int {
        let stop = inclusive ? end + (step > 0 ? 1 : -1) : end
        let span = stop - start
        if span == 0 || (span > 0) != (step > 0) { return 0 }
        return (abs(span) + abs(step) - 1) / abs(step)
    }

    /// The i-th element (0-based, unchecked).
    public func element(_ i: Int) -> Int { start + i * step }

    public var description: String {
        let base = "\(start)\(inclusive ? ".." : "..<")\(end)"
        return step == 1 ? base : "range(\(start), \(end), \(step))"
    }
}

extension Value {
    /// Structural equality for plain values; identity for functions; `isEqual` for host values.
    public func equals(_ other: Value) -> Bool {
        switch (self, other) {
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.nil, .nil): return true
        case (.list(let a), .list(let b)):
            return a === b || (a.items.count == b.items.count && zip(a.items, b.items).allSatisfy { $0.equals($1) })
        case (.record(let a), .record(let b)):
            return a === b || (a.keys == b.keys && a.keys.allSatisfy { k in
                guard let x = a.fields[k], let y = b.fields[k] else { return false }
                return x.equals(y)
            })
        case (.range(let a), .range(let b)): return a == b
        case (.function(let a), .function(let b)): return a === b
        case (.builtin(let a), .builtin(let b)): return a === b
        case (.host(let a), .host(let b)): return a.isEqual(to: b)
        default: return false
        }
    }
}
