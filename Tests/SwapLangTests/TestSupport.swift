import Foundation
@testable import SwapLang

/// A fake opaque host value ("vec") that proves the host protocol: fields, methods,
/// operators with broadcasting, indexing, iteration, equality.
final class Vec: HostValue {
    var xs: [Double]
    var name = "v"

    init(_ xs: [Double]) { self.xs = xs }

    var kindName: String { "vec" }
    var summary: String { "vec[" + xs.map(formatNumber).joined(separator: ", ") + "]" }
    var fieldNames: [String] { ["size", "first", "name"] }
    var methodNames: [String] { ["sum", "scale"] }
    var length: Int? { xs.count }

    func field(_ name: String) throws -> Value? {
        switch name {
        case "size": return .number(Double(xs.count))
        case "first":
            guard let f = xs.first else { throw HostError("vec.first: vec is empty") }
            return .number(f)
        case "name": return .string(self.name)
        default: return nil
        }
    }

    func setField(_ name: String, to value: Value) throws {
        guard name == "name" else { throw HostError("vec: field '\(name)' is read-only") }
        guard case .string(let s) = value else { throw HostError("vec.name must be a string, got \(value.typeName)") }
        self.name = s
    }

    func callMethod(_ name: String, arguments: Arguments, context: CallContext) throws -> Value? {
        switch name {
        case "sum":
            _ = try Signature(name: "vec.sum", params: []).bind(arguments)
            return .number(xs.reduce(0, +))
        case "scale":
            let b = try Signature(name: "vec.scale", params: [BuiltinParam("k", .number),
                                                               BuiltinParam("offset", .number, default: .number(0))]).bind(arguments)
            let k = try b.number("k"), o = try b.number("offset")
            return .host(Vec(xs.map { $0 * k + o }))
        default: return nil
        }
    }

    func index(_ items: [IndexItem]) throws -> Value {
        guard items.count == 1 else { throw HostError("vec: expected 1 index, got \(items.count)") }
        switch items[0] {
        case .value(.number(let d)):
            guard let i = exactInt(d), i >= -xs.count, i < xs.count else {
                throw HostError("vec: index \(formatNumber(d)) out of range for size \(xs.count)")
            }
            return .number(xs[i < 0 ? i + xs.count : i])
        case .slice(let a, let b, _):
            func bound(_ v: Value?, _ d: Int) -> Int {
                if case .number(let x)? = v, let i = exactInt(x) { return max(0, min(xs.count, i < 0 ? i + xs.count : i)) }
                return d
            }
            let lo = bound(a, 0), hi = bound(b, xs.count)
            return .host(Vec(lo < hi ? Array(xs[lo..<hi]) : []))
        case .ellipsis: return .host(Vec(xs))
        default: throw HostError("vec: index must be a number or slice")
        }
    }

    func setIndex(_ items: [IndexItem], to value: Value) throws {
        guard items.count == 1, case .value(.number(let d)) = items[0], let i = exactInt(d), i >= 0, i < xs.count,
              case .number(let x) = value else { throw HostError("vec: bad index assignment") }
        xs[i] = x
    }

    func binary(_ op: BinaryOperator, _ other: Value, selfOnLeft: Bool) throws -> Value? {
        let rhs: [Double]
        switch other {
        case .number(let d): rhs = [d]
        case .host(let h as Vec): rhs = h.xs
        default: return nil
        }
        let n = max(xs.count, rhs.count)
        guard xs.count == rhs.count || xs.count == 1 || rhs.count == 1 else {
            throw HostError("vec \(op.rawValue): sizes \(xs.count) and \(rhs.count) do not broadcast")
        }
        let f: (Double, Double) -> Double
        switch op {
        case .add: f = (+)
        case .subtract: f = (-)
        case .multiply: f = (*)
        case .divide: f = (/)
        default: return nil
        }
        return .host(Vec((0..<n).map { i in
            let a = xs[xs.count == 1 ? 0 : i], b = rhs[rhs.count == 1 ? 0 : i]
            return selfOnLeft ? f(a, b) : f(b, a)
        }))
    }

    func unary(_ op: UnaryOperator) throws -> Value? {
        op == .negate ? .host(Vec(xs.map { -$0 })) : nil
    }

    func makeIterator() throws -> HostIterator? {
        var i = 0
        let snapshot = xs
        return { defer { i += 1 }; return i < snapshot.count ? .number(snapshot[i]) : nil }
    }

    func isEqual(to other: any HostValue) -> Bool {
        (other as? Vec)?.xs == xs
    }
}

/// A registry with the core builtins plus the test family (`vec`, `fail_op`).
func testRegistry() -> BuiltinRegistry {
    let r = BuiltinRegistry.standard()
    r.register("vec", family: "test", params: [BuiltinParam("values", variadic: true)],
               doc: "Makes a test vector.", example: "vec(1, 2, 3)") { args, _ in
        .host(Vec(try args.rest("values").map {
            guard case .number(let d) = $0 else { throw HostError("vec: values must be numbers, got \($0.typeName)") }
            return d
        }))
    }
    r.register("unet", family: "test", params: [BuiltinParam("latent", .host(["vec"]))],
               doc: "Fails like a model would.", example: "unet(vec(1, 2, 3))") { args, _ in
        guard case .host(let v as Vec) = args["latent"] else { return .nil }
        if v.xs.count != 4 { throw HostError("unet: latent has shape [\(v.xs.count)], expected 4 channels") }
        return .host(Vec(v.xs.map { $0 / 2 }))
    }
    r.register("sample", family: "test",
               params: [BuiltinParam("model", .string), BuiltinParam("prompt", .string),
                        BuiltinParam("steps", .integer, default: .number(50)), BuiltinParam("seed", .integer, default: .nil)],
               doc: "Pretends to sample.", example: "sample(\"sd\", \"a cat\", steps: 10)") { args, _ in
        .string("\(try args.string("model")):\(try args.string("prompt")):\(try args.int("steps")):\(args["seed"].text)")
    }
    r.register("each", family: "test", params: [BuiltinParam("items"), BuiltinParam("f", .function)],
               doc: "Calls f on each item and returns the results.", example: "each([1, 2], fn(x) { return x * 2 })") { args, ctx in
        guard case .list(let box) = args["items"] else { throw HostError("each: items must be a list") }
        return .list(try box.items.map { try ctx.call(args["f"], Arguments(positional: [$0])) })
    }
    return r
}

/// Runs source in a fresh (or given) interpreter and captures its output lines.
struct Run {
    var output: [String] = []
    var result: RunResult
    var interpreter: Interpreter

    var errors: String { formatDiagnostics(result.diagnostics) }
}

final class Collector: @unchecked Sendable {
    var lines: [String] = []
}

@discardableResult
func run(_ source: String, file: String = "<repl>", in interpreter: Interpreter? = nil, untilCell: Int? = nil) -> Run {
    let interp = interpreter ?? Interpreter(registry: testRegistry())
    let collector = Collector()
    interp.output = { collector.lines.append($0) }
    let result = interp.run(source: source, file: file, untilCell: untilCell)
    return Run(output: collector.lines, result: result, interpreter: interp)
}

/// Output of a run that must succeed.
func out(_ source: String) -> [String] {
    let r = run(source)
    return r.result.status == .ok ? r.output : r.output + ["ERROR: " + r.errors]
}
