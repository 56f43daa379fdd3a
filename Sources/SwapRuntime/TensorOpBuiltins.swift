import Foundation
import SwapLang
import SwapTensor

// The "tensor" family, part 2: operations (products, attention, convolution, norms,
// resampling, activations). Every argument is checked here first, so a bad call ends in an
// error naming the builtin and the shapes, never in an engine trap.

/// Shape-aware helpers shared by builtins and tensor methods.
enum TensorOps {
    /// Softmax along any axis (the engine's kernel works on the last axis).
    static func softmax(_ t: Tensor, axis: Int, op: String) throws -> Tensor {
        if t.rank == 0 { return Tensor(scalar: 1) }
        let a = try Convert.axis(axis, rank: t.rank, op, shape: t.shape)
        if a == t.rank - 1 { return t.softmax() }
        var order = Array(0..<t.rank)
        order.swapAt(a, t.rank - 1)
        return try Convert.engine(op) { try t.permuted(order).softmax().permuted(order) }
    }

    /// Views a [H, W], [C, H, W] or [N, C, H, W] tensor as [N, C, H, W]; returns the view and
    /// the original shape's leading part so `fromNCHW` can restore the rank.
    static func toNCHW(_ t: Tensor, _ op: String) throws -> (Tensor, [Int]) {
        switch t.rank {
        case 2: return (try Convert.engine(op) { try t.reshaped([1, 1] + t.shape) }, [])
        case 3: return (try Convert.engine(op) { try t.reshaped([1] + t.shape) }, [t.shape[0]])
        case 4: return (t, [t.shape[0], t.shape[1]])
        default: throw HostError("\(op): expects [H, W], [C, H, W] or [N, C, H, W], got \(formatShape(t.shape))")
        }
    }

    /// Undoes `toNCHW` for a result with new spatial extents.
    static func fromNCHW(_ t: Tensor, leading: [Int], _ op: String) throws -> Tensor {
        try Convert.engine(op) { try t.reshaped(leading + Array(t.shape.suffix(2))) }
    }

    /// Throws unless every extent of `t` is positive.
    static func requireNonEmpty(_ t: Tensor, _ op: String, _ name: String) throws {
        guard t.count > 0 else { throw HostError("\(op): '\(name)' is empty (shape \(formatShape(t.shape)))") }
    }

    /// A spatial size given as one integer (square) or [height, width].
    static func size(_ v: Value, _ op: String) throws -> (Int, Int) {
        let dims = try Convert.ints(v, op, "size")
        guard (1...2).contains(dims.count), dims.allSatisfy({ $0 > 0 && $0 <= 1 << 15 }) else {
            throw HostError("\(op): size must be a positive integer or [height, width] (each at most 32768), got \(v.summary)")
        }
        return dims.count == 1 ? (dims[0], dims[0]) : (dims[0], dims[1])
    }
}

extension BuiltinRegistry {
    /// Registers `matmul`, `linear`, `softmax`, `concat`, `resize`, `upsample`, `attention`,
    /// `conv2d`, `group_norm`, `layer_norm`, `silu` and `gelu`.
    func registerTensorOpBuiltins() {
        let t = ParamKind.host(["tensor"])

        register("matmul", family: "tensor", params: [BuiltinParam("a", t), BuiltinParam("b", t)],
                 doc: "Matrix product [..., m, k] × [..., k, n] → [..., m, n] (batch axes equal, or b a plain matrix).",
                 example: "y = matmul(ones([2, 3]), ones([3, 4]))   # shape [2, 4], every entry 3") { args, _ in
            let a = try Convert.tensor(args["a"], "matmul", "a"), b = try Convert.tensor(args["b"], "matmul", "b")
            guard a.rank >= 2, b.rank >= 2 else {
                throw HostError("matmul: needs matrices (rank ≥ 2), got \(formatShape(a.shape)) × \(formatShape(b.shape))")
            }
            guard a.shape[a.rank - 1] == b.shape[b.rank - 2] else {
                throw HostError("matmul: inner dimensions differ: \(formatShape(a.shape)) × \(formatShape(b.shape))")
            }
            _ = try Convert.elementCount(a.shape.dropLast() + [b.shape[b.rank - 1]], "matmul")
            return .tensor(try Convert.engine("matmul") { try a.matmul(b) })
        }
        register("linear", family: "tensor",
                 params: [BuiltinParam("x", t), BuiltinParam("weight", t, doc: "[out, in]"),
                          BuiltinParam("bias", t, default: .nil, doc: "[out]")],
                 doc: "x · weightᵀ + bias over the last axis (torch.nn.functional.linear).",
                 example: "y = linear(ones([2, 3]), ones([4, 3]), bias: zeros([4]))") { args, _ in
            let x = try Convert.tensor(args["x"], "linear", "x"), w = try Convert.tensor(args["weight"], "linear", "weight")
            let bias = try Convert.optionalTensor(args["bias"], "linear", "bias")
            guard x.rank >= 1 else { throw HostError("linear: 'x' must have rank ≥ 1, got \(formatShape(x.shape))") }
            return .tensor(try Convert.engine("linear") { try x.linear(weight: w, bias: bias) })
        }
        register("softmax", family: "tensor",
                 params: [BuiltinParam("x", t), BuiltinParam("axis", .integer, default: .number(-1))],
                 doc: "exp(x) / Σ exp(x) along an axis (default the last); each slice sums to 1.",
                 example: "p = softmax(tensor([1, 2, 3]))") { args, _ in
            .tensor(try TensorOps.softmax(try Convert.tensor(args["x"], "softmax", "x"), axis: try args.int("axis"), op: "softmax"))
        }
        register("concat", family: "tensor",
                 params: [BuiltinParam("tensors", .list, doc: "a list of tensors"), BuiltinParam("axis", .integer, default: .number(0))],
                 doc: "Joins tensors along an axis; every other extent must agree (torch.cat).",
                 example: "rgb = concat([red, green, blue], axis: 0)") { args, _ in
            guard case .list(let box) = args["tensors"], !box.items.isEmpty else {
                throw HostError("concat: needs a non-empty list of tensors")
            }
            let parts = try box.items.enumerated().map { i, v in try Convert.tensor(v, "concat", "tensors[\(i)]") }
            let total = parts.reduce(0) { $0 + $1.count }
            guard total <= TensorLimits.maxElements else { throw HostError("concat: result has too many elements") }
            return .tensor(try Convert.engine("concat") { try Tensor.concat(parts, axis: try args.int("axis")) })
        }
        register("resize", family: "tensor",
                 params: [BuiltinParam("x", t, doc: "[H, W], [C, H, W] or [N, C, H, W]"),
                          BuiltinParam("size", doc: "an integer (square) or [height, width]")],
                 doc: "Bilinear resize of the last two axes (torch interpolate, mode bilinear, align_corners=False).",
                 example: "big = resize(mask, size: 64)") { args, _ in
            let x = try Convert.tensor(args["x"], "resize", "x")
            let (h, w) = try TensorOps.size(args["size"], "resize")
            let (v, lead) = try TensorOps.toNCHW(x, "resize")
            try TensorOps.requireNonEmpty(v, "resize", "x")
            _ = try Convert.elementCount([v.shape[0], v.shape[1], h, w], "resize")
            return .tensor(try TensorOps.fromNCHW(try Convert.engine("resize") { try v.resizedBilinear(height: h, width: w) },
                                                  leading: lead, "resize"))
        }
        register("upsample", family: "tensor",
                 params: [BuiltinParam("x", t, doc: "[H, W], [C, H, W] or [N, C, H, W]"),
                          BuiltinParam("factor", .integer, default: .number(2), doc: "a power of two")],
                 doc: "Nearest-neighbour upsampling of the last two axes (each value becomes a factor×factor block).",
                 example: "crisp = upsample(mask, factor: 4)") { args, _ in
            let x = try Convert.tensor(args["x"], "upsample", "x")
            let factor = try args.int("factor")
            guard factor >= 1, factor <= 1024, factor & (factor - 1) == 0 else {
                throw HostError("upsample: factor must be a power of two between 1 and 1024, got \(factor)")
            }
            var (v, lead) = try TensorOps.toNCHW(x, "upsample")
            _ = try Convert.elementCount([v.count, factor, factor], "upsample")
            var f = factor
            while f > 1 {
                let current = v
                v = try Convert.engine("upsample") { try current.upsampleNearest2x() }
                f /= 2
            }
            return .tensor(try TensorOps.fromNCHW(v, leading: lead, "upsample"))
        }
        register("attention", family: "tensor",
                 params: [BuiltinParam("q", t, doc: "[B, Lq, D] or [Lq, D]"), BuiltinParam("k", t, doc: "[B, Lk, D] or [Lk, D]"),
                          BuiltinParam("v", t, doc: "[B, Lk, Dv] or [Lk, Dv]"),
                          BuiltinParam("scale", .number, default: .nil, doc: "default 1/√D")],
                 doc: "Scaled dot-product attention softmax(q·kᵀ·scale)·v. Returns a record {output, probabilities}: output [B, Lq, Dv], probabilities [B, Lq, Lk] (rank-2 inputs give rank-2 results).",
                 example: "a = attention(queries, keys, values); a.probabilities[:, 0]") { args, _ in
            var q = try Convert.tensor(args["q"], "attention", "q")
            var k = try Convert.tensor(args["k"], "attention", "k")
            var v = try Convert.tensor(args["v"], "attention", "v")
            let plain = q.rank == 2 && k.rank == 2 && v.rank == 2
            if plain {
                let (q2, k2, v2) = (q, k, v)
                q = try Convert.engine("attention") { try q2.reshaped([1] + q2.shape) }
                k = try Convert.engine("attention") { try k2.reshaped([1] + k2.shape) }
                v = try Convert.engine("attention") { try v2.reshaped([1] + v2.shape) }
            }
            guard q.rank == 3, k.rank == 3, v.rank == 3, q.shape[0] == k.shape[0], k.shape[0] == v.shape[0],
                  q.shape[2] == k.shape[2], k.shape[1] == v.shape[1] else {
                throw HostError("attention: expects q [B, Lq, D], k [B, Lk, D], v [B, Lk, Dv] (or all rank 2); got q \(formatShape(q.shape)), k \(formatShape(k.shape)), v \(formatShape(v.shape))")
            }
            for (name, x) in [("q", q), ("k", k), ("v", v)] { try TensorOps.requireNonEmpty(x, "attention", name) }
            _ = try Convert.elementCount([q.shape[0], q.shape[1], k.shape[1]], "attention")
            let scale: Float? = args.isNil("scale") ? nil : Float(try args.number("scale"))
            let (qq, kk, vv) = (q, k, v)
            let r = try Convert.engine("attention") {
                try Tensor.attention(query: qq, key: kk, value: vv, scale: scale, keepProbabilities: true)
            }
            var output = r.output
            var probabilities = r.probabilities ?? Tensor(zeros: [q.shape[0], q.shape[1], k.shape[1]])
            if plain {
                let (o, p) = (output, probabilities)
                output = try Convert.engine("attention") { try o.reshaped(Array(o.shape.dropFirst())) }
                probabilities = try Convert.engine("attention") { try p.reshaped(Array(p.shape.dropFirst())) }
            }
            return .record([("output", .tensor(output)), ("probabilities", .tensor(probabilities))])
        }
        register("conv2d", family: "tensor",
                 params: [BuiltinParam("x", t, doc: "[N, C, H, W]"), BuiltinParam("weight", t, doc: "[O, C, kh, kw]"),
                          BuiltinParam("bias", t, default: .nil, doc: "[O]"),
                          BuiltinParam("stride", .integer, default: .number(1)),
                          BuiltinParam("padding", .integer, default: .number(0))],
                 doc: "2-D convolution (cross-correlation), torch.nn.functional.conv2d.",
                 example: "edges = conv2d(img, tensor([[[[-1, 0, 1]]]]), padding: 0)") { args, _ in
            let x = try Convert.tensor(args["x"], "conv2d", "x"), w = try Convert.tensor(args["weight"], "conv2d", "weight")
            let bias = try Convert.optionalTensor(args["bias"], "conv2d", "bias")
            let stride = try args.int("stride"), padding = try args.int("padding")
            guard x.rank == 4, w.rank == 4, x.shape[1] == w.shape[1] else {
                throw HostError("conv2d: input \(formatShape(x.shape)) does not match weight \(formatShape(w.shape)) (expected x [N, C, H, W] and weight [O, C, kh, kw])")
            }
            guard stride >= 1, stride <= 1024, padding >= 0, padding <= 1024 else {
                throw HostError("conv2d: stride must be 1...1024 and padding 0...1024, got stride \(stride), padding \(padding)")
            }
            try TensorOps.requireNonEmpty(x, "conv2d", "x")
            try TensorOps.requireNonEmpty(w, "conv2d", "weight")
            let outH = (x.shape[2] + 2 * padding - w.shape[2]) / stride + 1
            let outW = (x.shape[3] + 2 * padding - w.shape[3]) / stride + 1
            guard x.shape[2] + 2 * padding >= w.shape[2], x.shape[3] + 2 * padding >= w.shape[3] else {
                throw HostError("conv2d: kernel \(formatShape(w.shape)) is larger than the padded input \(formatShape(x.shape))")
            }
            _ = try Convert.elementCount([x.shape[0], w.shape[0], outH, outW], "conv2d")
            _ = try Convert.elementCount([w.shape[1] * w.shape[2] * w.shape[3], outH * outW], "conv2d")
            return .tensor(try Convert.engine("conv2d") { try x.conv2d(weight: w, bias: bias, stride: stride, padding: padding) })
        }
        register("group_norm", family: "tensor",
                 params: [BuiltinParam("x", t, doc: "[N, C, ...]"), BuiltinParam("groups", .integer),
                          BuiltinParam("weight", t, default: .nil, doc: "[C]"), BuiltinParam("bias", t, default: .nil, doc: "[C]"),
                          BuiltinParam("eps", .number, default: .number(1e-5))],
                 doc: "Group normalisation: channels split into groups, each normalised to mean 0 and variance 1, then scaled by weight and shifted by bias.",
                 example: "h = group_norm(x, 32)") { args, _ in
            let x = try Convert.tensor(args["x"], "group_norm", "x")
            let groups = try args.int("groups")
            guard x.rank >= 2, groups > 0, x.shape[1] % groups == 0 else {
                throw HostError("group_norm: \(x.rank >= 2 ? "\(x.shape[1]) channels" : "input") of \(formatShape(x.shape)) do not split into \(groups) groups")
            }
            try TensorOps.requireNonEmpty(x, "group_norm", "x")
            let w = try Convert.optionalTensor(args["weight"], "group_norm", "weight")
            let b = try Convert.optionalTensor(args["bias"], "group_norm", "bias")
            let eps = Float(try args.number("eps"))
            return .tensor(try Convert.engine("group_norm") { try x.groupNorm(groups: groups, weight: w, bias: b, eps: eps) })
        }
        register("layer_norm", family: "tensor",
                 params: [BuiltinParam("x", t), BuiltinParam("weight", t, default: .nil, doc: "[D]"),
                          BuiltinParam("bias", t, default: .nil, doc: "[D]"), BuiltinParam("eps", .number, default: .number(1e-5))],
                 doc: "Layer normalisation over the last axis (mean 0, variance 1), then weight and bias.",
                 example: "h = layer_norm(tokens)") { args, _ in
            let x = try Convert.tensor(args["x"], "layer_norm", "x")
            guard x.rank >= 1 else { throw HostError("layer_norm: 'x' must have rank ≥ 1, got \(formatShape(x.shape))") }
            try TensorOps.requireNonEmpty(x, "layer_norm", "x")
            let w = try Convert.optionalTensor(args["weight"], "layer_norm", "weight")
            let b = try Convert.optionalTensor(args["bias"], "layer_norm", "bias")
            let eps = Float(try args.number("eps"))
            return .tensor(try Convert.engine("layer_norm") { try x.layerNorm(weight: w, bias: b, eps: eps) })
        }
        register("silu", family: "tensor", params: [BuiltinParam("x", t)],
                 doc: "x · sigmoid(x), elementwise (the UNet's activation).",
                 example: "h = silu(tensor([-1, 0, 1]))") { args, _ in
            .tensor(try Convert.tensor(args["x"], "silu", "x").silu())
        }
        register("gelu", family: "tensor", params: [BuiltinParam("x", t)],
                 doc: "GELU, x · Φ(x) with the exact erf form, elementwise.",
                 example: "h = gelu(tensor([-1, 0, 1]))") { args, _ in
            .tensor(try Convert.tensor(args["x"], "gelu", "x").gelu())
        }
    }
}
