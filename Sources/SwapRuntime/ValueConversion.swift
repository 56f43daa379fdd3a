import SwapLang
import SwapTensor
import SwapModels

// Conversions between language values and engine types (tensors, shapes, axes), with the
// argument checks that keep a script from ever reaching an engine precondition.

/// Limits that keep a script from asking the engine for absurd allocations.
public enum TensorLimits {
    /// The largest number of elements a builtin will create (1 GiB of Float32).
    public static let maxElements = 1 << 28
    /// The largest rank a builtin accepts.
    public static let maxRank = 16
}

/// Checked conversions shared by builtins and host values. Every function throws a `HostError`
/// whose message starts with `op` (the builtin or method name).
enum Convert {
    /// An exactly integral number as `Int`.
    static func int(_ v: Value) -> Int? {
        guard case .number(let d) = v, d.isFinite, d == d.rounded(), Swift.abs(d) <= 9_007_199_254_740_992 else {
            return nil
        }
        return Int(d)
    }

    /// The number of elements of `shape`, checking for negative extents, overflow and the cap.
    static func elementCount(_ shape: [Int], _ op: String) throws -> Int {
        guard shape.count <= TensorLimits.maxRank else {
            throw HostError("\(op): rank \(shape.count) is above the limit of \(TensorLimits.maxRank)")
        }
        var total = 1
        for extent in shape {
            guard extent >= 0 else { throw HostError("\(op): negative extent in shape \(formatShape(shape))") }
            let (product, overflow) = total.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= TensorLimits.maxElements else {
                throw HostError("\(op): shape \(formatShape(shape)) has more than \(TensorLimits.maxElements) elements")
            }
            total = product
        }
        return total
    }

    /// A shape given as one integer (`8`) or a list of integers (`[1, 4, 8, 8]`).
    static func shape(_ v: Value, _ op: String, allowInferred: Bool = false) throws -> [Int] {
        let items: [Value]
        switch v {
        case .number: items = [v]
        case .list(let box): items = box.items
        default: throw HostError("\(op): shape must be an integer or a list of integers, got \(v.typeName)")
        }
        var shape: [Int] = []
        for item in items {
            guard let i = int(item) else {
                throw HostError("\(op): shape entries must be integers, got \(item.summary)")
            }
            guard i >= 0 || (allowInferred && i == -1) else {
                throw HostError("\(op): shape entries must be non-negative\(allowInferred ? " (or one -1)" : ""), got \(i)")
            }
            shape.append(i)
        }
        if allowInferred {
            guard shape.filter({ $0 == -1 }).count <= 1 else { throw HostError("\(op): only one extent may be -1") }
            _ = try elementCount(shape.map { $0 == -1 ? 1 : $0 }, op)
        } else {
            _ = try elementCount(shape, op)
        }
        return shape
    }

    /// A list of integers (axes, an order), also accepting a single integer.
    static func ints(_ v: Value, _ op: String, _ what: String) throws -> [Int] {
        let items: [Value]
        switch v {
        case .number: items = [v]
        case .list(let box): items = box.items
        default: throw HostError("\(op): \(what) must be an integer or a list of integers, got \(v.typeName)")
        }
        return try items.map { item in
            guard let i = int(item) else { throw HostError("\(op): \(what) must be integers, got \(item.summary)") }
            return i
        }
    }

    /// Resolves one axis (negative counts from the end) against `rank`.
    static func axis(_ axis: Int, rank: Int, _ op: String, shape: [Int]) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < rank else {
            throw HostError("\(op): axis \(axis) is out of range for shape \(formatShape(shape))")
        }
        return a
    }

    /// The tensor inside a tensor value.
    static func tensor(_ v: Value, _ op: String, _ name: String) throws -> Tensor {
        if case .host(let h) = v, let t = h as? TensorValue { return t.tensor }
        if case .host(let h) = v, let a = h as? AttentionMapValue { return a.map.values }
        throw HostError("\(op): '\(name)' must be a tensor, got \(v.typeName)")
    }

    /// A tensor, or nil when `v` is nil.
    static func optionalTensor(_ v: Value, _ op: String, _ name: String) throws -> Tensor? {
        if case .nil = v { return nil }
        return try tensor(v, op, name)
    }

    /// A tensor built from a number (rank 0) or nested lists of numbers (rectangular).
    static func tensor(fromNested v: Value, _ op: String) throws -> Tensor {
        if case .host(let h) = v, let t = h as? TensorValue { return t.tensor }
        var shape: [Int] = []
        var probe = v
        while case .list(let box) = probe {
            shape.append(box.items.count)
            guard let first = box.items.first else { break }
            probe = first
        }
        let count = try elementCount(shape, op)
        var scalars: [Float] = []
        scalars.reserveCapacity(count)
        func walk(_ value: Value, depth: Int, path: String) throws {
            if depth == shape.count {
                guard case .number(let d) = value else {
                    throw HostError("\(op): element \(path.isEmpty ? "" : path + " ")must be a number, got \(value.typeName)")
                }
                scalars.append(Float(d))
                return
            }
            guard case .list(let box) = value, box.items.count == shape[depth] else {
                let got: String
                if case .list(let box) = value { got = "\(box.items.count) items" } else { got = "a \(value.typeName)" }
                throw HostError("\(op): nested lists are not rectangular: expected \(shape[depth]) items at \(path.isEmpty ? "the top level" : path), got \(got)")
            }
            for (i, item) in box.items.enumerated() { try walk(item, depth: depth + 1, path: path + "[\(i)]") }
        }
        try walk(v, depth: 0, path: "")
        return Tensor(shape: shape, scalars: scalars)
    }

    /// A tensor element as a language number: the shortest decimal that reads back as the
    /// same Float32 (so `1.9269153`, not `1.9269152879714966`).
    static func number(_ f: Float) -> Double {
        guard f.isFinite else { return Double(f) }
        return Double(f.description) ?? Double(f)
    }

    /// Nested lists of numbers with the tensor's shape (a number for rank 0).
    static func list(_ t: Tensor) -> Value {
        let scalars = t.scalars
        if t.rank == 0 { return .number(number(scalars[0])) }
        func build(_ depth: Int, _ offset: Int) -> Value {
            let extent = t.shape[depth]
            if depth == t.rank - 1 {
                return .list((0..<extent).map { .number(number(scalars[offset + $0])) })
            }
            let stride = t.shape[(depth + 1)...].reduce(1, *)
            return .list((0..<extent).map { build(depth + 1, offset + $0 * stride) })
        }
        return build(0, 0)
    }

    /// The model of a `load_model` value.
    static func model(_ v: Value, _ op: String) throws -> StableDiffusion {
        guard case .host(let h as ModelValue) = v else {
            throw HostError("\(op): 'model' must be a model from load_model, got \(v.typeName)")
        }
        return h.model
    }

    /// Runs model code without gradient recording; errors become `op: message`.
    static func inference<T>(_ op: String, _ body: () throws -> T) throws -> T {
        do { return try GradMode.withoutGradient(body) } catch let e as HostError { throw e } catch {
            let text = "\(error)"
            throw HostError(text.hasPrefix(op + ":") ? text : "\(op): \(text)")
        }
    }

    /// Wraps a `TensorError` (or any engine error) as a `HostError` that names the operation.
    static func engine<T>(_ op: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as HostError {
            throw e
        } catch let e as TensorError {
            // The engine names its own op (`matmul: inner dimensions differ: ...`); keep the
            // builtin's name in front when it differs.
            throw HostError(e.operation == op ? e.description : "\(op): \(e.message)")
        } catch {
            throw HostError("\(op): \(error)")
        }
    }
}

extension Value {
    /// A tensor value.
    static func tensor(_ t: Tensor) -> Value { .host(TensorValue(t)) }
}
