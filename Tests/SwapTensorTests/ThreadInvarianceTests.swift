import Foundation
import Testing
@testable import SwapTensor

/// Results are bit-identical at 1 and 2 threads (and 3, more than this machine has cores).
struct ThreadInvarianceTests {
    /// A workload touching every parallel kernel: conv (im2col), norms, attention blocks,
    /// reductions, softmax, resampling and their backward passes.
    static func workload() throws -> [Tensor] {
        var generator = PhiloxGenerator(seed: 99)
        let x = generator.randn([2, 8, 33, 31]).requiringGrad()
        let w = (generator.randn([16, 8, 3, 3]) * 0.1).requiringGrad()
        let q = generator.randn([4, 700, 16]).requiringGrad()
        let k = generator.randn([4, 1500, 16])
        let v = generator.randn([4, 1500, 8])
        let conv = try x.conv2d(weight: w, bias: nil, stride: 1, padding: 1)
        let normed = try conv.groupNorm(groups: 4, weight: nil, bias: nil, eps: 1e-5).silu()
        let up = try normed.upsampleNearest2x().resizedBilinear(height: 50, width: 41)
        let attended = try Tensor.attention(query: q, key: k, value: v).output
        let total = try up.squared().mean() + attended.exp().sum() * 1e-4 + (try normed.variance(axes: [1, 2]).sum())
        let grads = total.gradient(with: [x, w, q])
        return [conv, normed, up, attended, try q.softmax().sum(axes: [0]), total] + grads
    }

    @Test func bitIdenticalAcrossThreadCounts() throws {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        var results: [[[UInt32]]] = []
        for threads in [1, 2, 3] {
            Parallel.threadCount = threads
            results.append(try Self.workload().map { $0.scalars.map(\.bitPattern) })
        }
        let names = ["conv", "group_norm+silu", "resample", "attention", "softmax+sum", "loss", "dx", "dw", "dq"]
        for other in 1..<results.count {
            let differing = names.indices.filter { results[0][$0] != results[other][$0] }.map { names[$0] }
            #expect(differing.isEmpty, "1 vs \([1, 2, 3][other]) threads: \(differing) differ")
        }
    }
}

/// Identical batch items give bit-identical outputs on every conv2d path (one GEMM over the
/// batch at 16x16 and 8x8, Winograd at 32x32 and 64x64, per-image im2col at odd sizes, and
/// strided), so a CFG or edit batch whose branches agree stays in agreement.
struct BatchInvarianceTests {
    @Test(arguments: [(128, 16), (128, 8), (128, 32), (128, 64), (8, 15), (8, 31)])
    func identicalImagesGiveIdenticalOutputs(_ shape: (Int, Int)) throws {
        let (channels, side) = shape
        var generator = PhiloxGenerator(seed: UInt64(side))
        let image = generator.randn([1, channels, side, side])
        let weight = generator.randn([channels, channels, 3, 3]) * 0.05
        let bias = generator.randn([channels])
        let batch = try Tensor.concat([image, image, image], axis: 0)
        for stride in [1, 2] {
            let out = try batch.conv2d(weight: weight, bias: bias, stride: stride, padding: 1)
            let items = try (0..<3).map { try out.sliced(axis: 0, start: $0, end: $0 + 1).scalars.map(\.bitPattern) }
            #expect(items[0] == items[1] && items[1] == items[2], "stride \(stride): batch items differ")
        }
    }
}
