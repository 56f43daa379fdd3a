import Foundation
import SwapLang
import SwapTensor

// Tensor methods: `x.sum()`, `x.mean([2, 3])`, `x.reshape([4, -1])`, `x.softmax()`, ...
// Reductions over every axis return a number; with `axes` they return a tensor.

extension TensorValue {
    /// One method: its parameters, a one-line doc, and the body.
    struct Method {
        let params: [BuiltinParam]
        let doc: String
        let body: (Tensor, BoundArguments) throws -> Value
    }

    public var methodNames: [String] { TensorValue.methods.keys.sorted() }

    /// `name(params) – doc` lines for every method (for help and docs).
    public static var methodHelp: [String] {
        methods.keys.sorted().compactMap { name in
            methods[name].map { "\(Signature(name: name, params: $0.params).text) – \($0.doc)" }
        }
    }

    public func callMethod(_ name: String, arguments: Arguments, context: CallContext) throws -> Value? {
        guard let m = TensorValue.methods[name] else { return nil }
        let bound = try Signature(name: "tensor.\(name)", params: m.params).bind(arguments)
        return try m.body(tensor, bound)
    }

    static let methods: [String: Method] = {
        var table: [String: Method] = [:]
        let axesParam = BuiltinParam("axes", default: .nil, doc: "axis or list of axes; nil for all")
        let keepParam = BuiltinParam("keepdims", .bool, default: .bool(false))

        /// Registers a reduction: over all axes it returns a number, otherwise a tensor.
        func reduction(_ name: String, _ doc: String, all: @escaping (Tensor) -> Tensor,
                       some: @escaping (Tensor, [Int], Bool) throws -> Tensor) {
            table[name] = Method(params: [axesParam, keepParam], doc: doc) { t, args in
                let op = "tensor.\(name)"
                let keep = args["keepdims"].equals(.bool(true))
                if args.isNil("axes") && !keep {
                    guard t.count > 0 else { throw HostError("\(op): the tensor is empty") }
                    return .number(Convert.number(all(t).scalars[0]))
                }
                let axes = args.isNil("axes") ? Array(0..<t.rank) : try Convert.ints(args["axes"], op, "axes")
                for a in axes { _ = try Convert.axis(a, rank: t.rank, op, shape: t.shape) }
                return .tensor(try Convert.engine(op) { try some(t, axes, keep) })
            }
        }
        reduction("sum", "sum of the elements", all: { $0.sum() }, some: { try $0.sum(axes: $1, keepDims: $2) })
        reduction("mean", "mean of the elements", all: { $0.mean() }, some: { try $0.mean(axes: $1, keepDims: $2) })
        reduction("max", "largest element", all: { $0.max() }, some: { try $0.max(axes: $1, keepDims: $2) })
        reduction("min", "smallest element", all: { $0.min() }, some: { try $0.min(axes: $1, keepDims: $2) })
        reduction("var", "population variance (unbiased: false, like torch.var(unbiased=False))",
                  all: { $0.variance() }, some: { try $0.variance(axes: $1, keepDims: $2) })
        reduction("std", "population standard deviation",
                  all: { $0.variance().sqrt() }, some: { try $0.variance(axes: $1, keepDims: $2).sqrt() })

        table["reshape"] = Method(params: [BuiltinParam("shape", variadic: true)],
                                  doc: "the same elements in a new shape; one extent may be -1") { t, args in
            let op = "tensor.reshape"
            var items = args.rest("shape")
            if items.count == 1, case .list(let box) = items[0] { items = box.items }
            let shape = try Convert.shape(.list(items), op, allowInferred: true)
            return .tensor(try Convert.engine(op) { try t.reshaped(shape) })
        }
        table["flatten"] = Method(params: [], doc: "the elements as a rank-1 tensor") { t, _ in
            .tensor(try Convert.engine("tensor.flatten") { try t.reshaped([t.count]) })
        }
        table["permute"] = Method(params: [BuiltinParam("order", variadic: true)],
                                  doc: "reorders the axes: axis i of the result is axis order[i]") { t, args in
            let op = "tensor.permute"
            var items = args.rest("order")
            if items.count == 1, case .list(let box) = items[0] { items = box.items }
            let order = try Convert.ints(.list(items), op, "order").map { $0 < 0 ? $0 + t.rank : $0 }
            return .tensor(try Convert.engine(op) { try t.permuted(order) })
        }
        table["transpose"] = Method(params: [BuiltinParam("a", .integer, default: .number(-2)),
                                             BuiltinParam("b", .integer, default: .number(-1))],
                                    doc: "swaps two axes (default: the last two)") { t, args in
            let op = "tensor.transpose"
            guard t.rank >= 2 else { throw HostError("\(op): needs rank ≥ 2, got \(formatShape(t.shape))") }
            let a = try Convert.axis(try args.int("a"), rank: t.rank, op, shape: t.shape)
            let b = try Convert.axis(try args.int("b"), rank: t.rank, op, shape: t.shape)
            var order = Array(0..<t.rank)
            order.swapAt(a, b)
            return .tensor(try Convert.engine(op) { try t.permuted(order) })
        }
        table["unsqueeze"] = Method(params: [BuiltinParam("axis", .integer)], doc: "inserts an axis of extent 1") { t, args in
            .tensor(try Convert.engine("tensor.unsqueeze") { try t.unsqueezed(try args.int("axis")) })
        }
        table["squeeze"] = Method(params: [], doc: "removes every axis of extent 1") { t, _ in
            .tensor(try Convert.engine("tensor.squeeze") { try t.reshaped(t.shape.filter { $0 != 1 }) })
        }
        table["softmax"] = Method(params: [BuiltinParam("axis", .integer, default: .number(-1))],
                                  doc: "softmax along an axis (default the last)") { t, args in
            .tensor(try TensorOps.softmax(t, axis: try args.int("axis"), op: "tensor.softmax"))
        }
        let unary: [(String, String, (Tensor) -> Tensor)] = [
            ("exp", "e raised to each element", { $0.exp() }),
            ("log", "natural logarithm (NaN below 0)", { $0.log() }),
            ("sqrt", "square root (NaN below 0)", { $0.sqrt() }),
            ("abs", "absolute value", { $0.abs() }),
            ("relu", "max(x, 0)", { $0.relu() }),
            ("sigmoid", "1 / (1 + e^-x)", { $0.sigmoid() }),
            ("tanh", "hyperbolic tangent", { $0.tanh() }),
            ("silu", "x · sigmoid(x)", { $0.silu() }),
            ("gelu", "GELU (erf form)", { $0.gelu() }),
            ("sin", "sine", { $0.sin() }),
            ("cos", "cosine", { $0.cos() }),
        ]
        for (name, doc, f) in unary {
            table[name] = Method(params: [], doc: doc) { t, _ in .tensor(f(t)) }
        }
        table["clamp"] = Method(params: [BuiltinParam("lo", .number), BuiltinParam("hi", .number)],
                                doc: "limits every element to [lo, hi]") { t, args in
            let lo = try args.number("lo"), hi = try args.number("hi")
            guard lo <= hi else { throw HostError("tensor.clamp: lo (\(formatNumber(lo))) is above hi (\(formatNumber(hi)))") }
            return .tensor(t.clamped(min: Float(lo), max: Float(hi)))
        }
        table["item"] = Method(params: [], doc: "the single element of a one-element tensor, as a number") { t, _ in
            guard t.count == 1 else { throw HostError("tensor.item: needs a one-element tensor, got shape \(formatShape(t.shape))") }
            return .number(Convert.number(t.scalars[0]))
        }
        table["tolist"] = Method(params: [], doc: "nested lists of numbers (a number for rank 0)") { t, _ in
            guard t.count <= 1 << 20 else {
                throw HostError("tensor.tolist: \(t.count) elements is too many for a list (limit \(1 << 20))")
            }
            return Convert.list(t)
        }
        table["argmax"] = Method(params: [], doc: "index of the largest element along the last axis (a number for rank ≤ 1, else a tensor)") { t, _ in
            guard t.rank > 0, t.count > 0 else {
                throw HostError("tensor.argmax: needs a non-empty tensor of rank ≥ 1, got \(formatShape(t.shape))")
            }
            let indices = t.argmaxLastAxis()
            if t.rank == 1 { return .number(Double(indices[0])) }
            return .tensor(Tensor(shape: Array(t.shape.dropLast()), scalars: indices.map(Float.init)))
        }
        return table
    }()
}
