import ArgumentParser
import Foundation
import SwapTensor

/// `swapscript bench ops`: GFLOP/s of the kernels Stable Diffusion spends its time in, at
/// SD 1.5 shapes on a 64x64 latent, each as a fraction of this machine's measured sgemm rate.
struct BenchOps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Measure sgemm, conv2d and attention throughput at Stable Diffusion 1.5 shapes.")

    @Option(help: "Threads for kernels and OpenBLAS (default: all cores).")
    var threads: Int?

    @Option(help: "Timed repetitions per kernel (the best is reported).")
    var repeats: Int = 5

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        var generator = PhiloxGenerator(seed: 0)
        print("swapscript bench ops  threads=\(Parallel.threadCount)  OpenBLAS \(BLAS.coreName)  repeats=\(repeats) (best of)")
        print(String(repeating: "-", count: 92))
        func row(_ name: String, _ gflop: Double, _ seconds: Double, _ peak: Double?, _ note: String = "") {
            let rate = gflop / seconds
            let fraction = peak.map { String(format: "%5.1f%% of sgemm", 100 * rate / $0) } ?? "     (reference)"
            let label = name.padding(toLength: 48, withPad: " ", startingAt: 0)
            print(label + String(format: " %9.2f ms %8.1f GFLOP/s  ", seconds * 1e3, rate) + fraction + "  " + note)
        }

        // sgemm peak: square and at the conv's own GEMM shape.
        let n = 2048
        let a = generator.randn([n, n]), b = generator.randn([n, n])
        let squareSeconds = try best { _ = try a.matmul(b) }
        let sgemmRate = 2 * Double(n * n * n) / 1e9 / squareSeconds
        row("sgemm 2048x2048x2048", 2 * Double(n * n * n) / 1e9, squareSeconds, nil)

        let w = generator.randn([320, 2880]), cols = generator.randn([2880, 4096])
        let convGemmFlop = 2 * 320.0 * 2880 * 4096 / 1e9
        row("sgemm 320x2880 · 2880x4096 (conv's GEMM)", convGemmFlop, try best { _ = try w.matmul(cols) }, sgemmRate)

        // Linear layers of the 64x64 transformers (batch 2 × 4096 tokens): x · Wᵀ.
        for (inputs, outputs, what) in [(320, 2560, "GEGLU proj"), (1280, 320, "feed-forward out"), (320, 320, "q/k/v/out")] {
            let xs = generator.randn([8192, inputs]), weight = generator.randn([outputs, inputs]) * 0.05
            row("linear 8192x\(inputs) · (\(outputs)x\(inputs))ᵀ (\(what))", 2 * 8192.0 * Double(inputs * outputs) / 1e9,
                try best { _ = try xs.linear(weight: weight) }, sgemmRate)
        }

        // 3x3 conv, 320 → 320 channels on 64x64 (UNet down.0 / up.3 resnets).
        let x = generator.randn([1, 320, 64, 64]), kernel = generator.randn([320, 320, 3, 3]) * 0.02
        let bias = generator.randn([320])
        row("conv2d 3x3 320→320 on 1x320x64x64", convGemmFlop,
            try best { _ = try x.conv2d(weight: kernel, bias: bias, stride: 1, padding: 1) }, sgemmRate)
        let x2 = generator.randn([2, 320, 64, 64])
        row("conv2d 3x3 320→320 on 2x320x64x64 (CFG batch)", 2 * convGemmFlop,
            try best { _ = try x2.conv2d(weight: kernel, bias: bias, stride: 1, padding: 1) }, sgemmRate)
        let x3 = generator.randn([1, 1280, 8, 8]), kernel3 = generator.randn([1280, 1280, 3, 3]) * 0.01
        row("conv2d 3x3 1280→1280 on 1x1280x8x8", 2 * 1280.0 * 1280 * 9 * 64 / 1e9,
            try best { _ = try x3.conv2d(weight: kernel3, bias: nil, stride: 1, padding: 1) }, sgemmRate)

        // Self-attention: 8 heads over 4096 tokens, head dim 40 (down.0 attentions at 64x64).
        let heads = 8, tokens = 4096, dim = 40
        let q = generator.randn([heads, tokens, dim]), k = generator.randn([heads, tokens, dim])
        let v = generator.randn([heads, tokens, dim])
        let attentionFlop = Double(heads) * 2 * 2 * Double(tokens * tokens * dim) / 1e9
        let blockBytes = Parallel.threadCount * Tensor.attentionBlockRows(keys: tokens) * tokens * 4
        row("self-attention 8 heads x 4096 tokens, d=40", attentionFlop,
            try best { _ = try Tensor.attention(query: q, key: k, value: v) }, sgemmRate,
            String(format: "scores %.1f MiB live vs %.0f MiB per head", Double(blockBytes) / 1048576,
                   Double(tokens * tokens * 4) / 1048576))

        if ProcessInfo.processInfo.environment["BENCH_DEBUG"] != nil {
            let sm = generator.randn([4096, 4096])
            row("DEBUG softmax 4096x4096", 1, try best { _ = sm.softmax() }, sgemmRate)
            let qa = generator.randn([256, 40]), ka = generator.randn([4096, 40])
            row("DEBUG qk 256x40x4096", 2 * 256 * 40 * 4096 / 1e9, try best { _ = try qa.matmul(ka.transposedLastTwo()) }, sgemmRate)
            let pa = generator.randn([256, 4096]), va = generator.randn([4096, 40])
            row("DEBUG pv 256x4096x40", 2 * 256 * 40 * 4096 / 1e9, try best { _ = try pa.matmul(va) }, sgemmRate)
            let qb = generator.randn([4096, 40])
            row("DEBUG qk 4096x40x4096", 2 * 4096 * 40 * 4096 / 1e9, try best { _ = try qb.matmul(ka.transposedLastTwo()) }, sgemmRate)
        }
        // Cross-attention: 4096 queries over 77 text tokens.
        let kc = generator.randn([heads, 77, dim]), vc = generator.randn([heads, 77, dim])
        row("cross-attention 8 heads x 4096 → 77, d=40", Double(heads) * 2 * 2 * Double(tokens * 77 * dim) / 1e9,
            try best { _ = try Tensor.attention(query: q, key: kc, value: vc) }, sgemmRate)
        print(String(repeating: "-", count: 92))
        print("GFLOP counts only multiply-adds of the GEMMs (2·m·n·k); attention includes softmax time.")
    }

    /// The fastest of `repeats` timed runs after one warm-up.
    func best(_ body: () throws -> Void) throws -> Double {
        try body()
        var fastest = Double.infinity
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            fastest = min(fastest, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return fastest
    }
}
