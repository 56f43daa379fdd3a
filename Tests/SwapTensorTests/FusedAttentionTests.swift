import Testing
@testable import SwapTensor

/// The AVX-512 kernel that serves long self-attention (CAttentionKernel) against the BLAS path,
/// which OpReferenceTests checks against torch: same outputs to float rounding (relative error
/// ≤ 1e-5 of the output's scale), for head sizes 40, 80 and 160 (SD 1.5's levels) and a query
/// count that is not a multiple of the kernel's 8-row tile; bit-identical for 1 and 2 threads.
@Suite(.serialized) struct FusedAttentionTests {
    @Test(arguments: [(40, 1024, 1000), (80, 1024, 1024), (160, 2048, 77)])
    func fusedKernelMatchesTheBLASPath(_ shape: (Int, Int, Int)) throws {
        let (d, keys, queries) = shape
        try #require(Tensor.usesFusedAttention(keys: keys, valueDim: d), "this CPU has no AVX-512: the kernel is not used")
        var generator = PhiloxGenerator(seed: UInt64(d))
        let q = generator.randn([3, queries, d]), k = generator.randn([3, keys, d]), v = generator.randn([3, keys, d])
        let fused = try Tensor.attention(query: q, key: k, value: v).output
        let reference = try Tensor.attention(query: q, key: k, value: v, keepProbabilities: true).output
        let scale = reference.scalars.map(abs).max()!
        let error = zip(fused.scalars, reference.scalars).map { abs($0 - $1) }.max()! / scale
        print("fused attention d=\(d) keys=\(keys) queries=\(queries): max error \(error) of scale \(scale)")
        #expect(error <= 1e-5)

        let threads = Parallel.threadCount
        defer { Parallel.threadCount = threads }
        Parallel.threadCount = 1
        let one = try Tensor.attention(query: q, key: k, value: v).output
        Parallel.threadCount = 2
        let two = try Tensor.attention(query: q, key: k, value: v).output
        #expect(one.scalars.map(\.bitPattern) == two.scalars.map(\.bitPattern))
        #expect(one.scalars.map(\.bitPattern) == fused.scalars.map(\.bitPattern))
    }
}
