import Foundation
import SwapLang
import SwapTensor

// The "tensor" family, part 1: making tensors (from lists, constants, ranges and random draws).

extension BuiltinRegistry {
    /// Registers `tensor`, `zeros`, `ones`, `arange`, `randn` and `rand`.
    func registerTensorCreationBuiltins(_ ws: Workspace) {
        let shapeParam = BuiltinParam("shape", doc: "an integer or a list of integers, e.g. [1, 4, 64, 64]")

        register("tensor", family: "tensor", params: [BuiltinParam("values", doc: "a number or nested lists of numbers")],
                 doc: "A tensor from nested lists of numbers (rectangular); a single number gives a rank-0 tensor.",
                 example: "t = tensor([[1, 2, 3], [4, 5, 6]])   # shape [2, 3]") { args, _ in
            .tensor(try Convert.tensor(fromNested: args["values"], "tensor"))
        }
        register("zeros", family: "tensor", params: [shapeParam],
                 doc: "A tensor of the given shape filled with 0.",
                 example: "z = zeros([1, 4, 8, 8])") { args, _ in
            .tensor(Tensor(zeros: try Convert.shape(args["shape"], "zeros")))
        }
        register("ones", family: "tensor", params: [shapeParam],
                 doc: "A tensor of the given shape filled with 1.",
                 example: "o = ones([2, 3]) * 0.5") { args, _ in
            .tensor(Tensor(shape: try Convert.shape(args["shape"], "ones"), repeating: 1))
        }
        register("arange", family: "tensor",
                 params: [BuiltinParam("start", .number), BuiltinParam("stop", .number, default: .nil),
                          BuiltinParam("step", .number, default: .number(1))],
                 doc: "Evenly spaced values in [start, stop) as a rank-1 tensor, like torch.arange: `arange(n)` is 0, 1, ..., n-1.",
                 example: "xs = arange(8).reshape([1, 8])   # a row of column indices") { args, _ in
            let (start, stop): (Double, Double) = args.isNil("stop") ? (0, try args.number("start"))
                                                                      : (try args.number("start"), try args.number("stop"))
            let step = try args.number("step")
            guard step != 0, step.isFinite, start.isFinite, stop.isFinite else {
                throw HostError("arange: start, stop and step must be finite and step non-zero")
            }
            let span = ((stop - start) / step).rounded(.up)
            let count = span > 0 ? span : 0
            guard count <= Double(TensorLimits.maxElements) else {
                throw HostError("arange: \(formatNumber(count)) values is above the limit of \(TensorLimits.maxElements)")
            }
            let n = Int(count)
            if n == 0 { return .tensor(Tensor(zeros: [0])) }
            return .tensor(Tensor(shape: [n], scalars: (0..<n).map { Float(start + Double($0) * step) }))
        }
        for (name, what, torchName) in [("randn", "standard normal", "torch.randn"), ("rand", "uniform [0, 1)", "torch.rand")] {
            register(name, family: "tensor",
                     params: [shapeParam,
                              BuiltinParam("seed", .integer, default: .nil,
                                           doc: "0 ≤ seed < 2^53; nil draws from the session's stream (seeded with --seed)")],
                     doc: "\(what.prefix(1).uppercased() + what.dropFirst()) noise, bit-identical to torch on CPU: `\(name)(shape, seed: s)` equals `torch.manual_seed(s); \(torchName)(shape)` in float32. Without a seed it continues the session's stream, like successive \(torchName) calls after one manual_seed.",
                     example: name == "randn" ? "noise = randn([1, 4, 64, 64], seed: 42)" : "u = rand([2, 2], seed: 0)") { args, _ in
                let shape = try Convert.shape(args["shape"], name)
                let generator: TorchGenerator
                if args.isNil("seed") {
                    generator = ws.generator
                } else {
                    let seed = try args.int("seed")
                    guard seed >= 0 else { throw HostError("\(name): seed must be non-negative, got \(seed)") }
                    generator = TorchGenerator(seed: UInt64(seed))
                }
                return .tensor(name == "randn" ? generator.randn(shape) : generator.rand(shape))
            }
        }
    }
}
