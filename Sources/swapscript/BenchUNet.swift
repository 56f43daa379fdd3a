import ArgumentParser
import Foundation
import SwapIO
import SwapModels
import SwapRuntime
import SwapTensor

/// `swapscript bench unet --model DIR`: the Stable Diffusion UNet forward at the shapes of one
/// guided sampling step (batch 2, 64x64 latent, 77 text tokens, fp32), best of N after a
/// warm-up, and the peak resident memory against the fp32 weight bytes.
/// `tools/reference/bench_unet_torch.py` measures the same in PyTorch; `tools/bench-unet.sh`
/// runs both and prints the ratio.
struct BenchUNet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unet",
        abstract: "Time the UNet forward at SD 1.5 shapes (batch 2, 64x64, 77 tokens) and report peak RSS.")

    @Option(help: "A diffusers unet/ folder (tools/reference/make_sd15_random_unet.py writes one).")
    var model: String

    @Option(help: "Threads for the kernels (default 2).")
    var threads: Int = 2

    @Option(help: "Timed repetitions after the warm-up (the best is reported).")
    var repeats: Int = 3

    @Option(help: "Latent height and width.")
    var size: Int = 64

    func validate() throws {
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
        guard repeats > 0 else { throw ValidationError("--repeats must be positive") }
        guard size > 0, size % 8 == 0 else { throw ValidationError("--size must be a positive multiple of 8") }
    }

    func run() throws {
        Parallel.threadCount = threads
        let loadStart = Date()
        let unet = try UNet2DConditionModel(directory: model)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let weightBytes = try Self.weightBytes(directory: model)
        let rssAfterLoad = ProcessMemory.peakResidentBytes()

        var generator = PhiloxGenerator(seed: 0)
        let latent = generator.randn([2, unet.config.inChannels, size, size])
        let context = generator.randn([2, 77, unet.config.crossAttentionDim[0]])
        print("swapscript bench unet  threads=\(threads)  OpenBLAS \(BLAS.coreName)  repeats=\(repeats) (best of, after a warm-up)")
        print(String(format: "loaded %@ in %.1f s: %.2f GiB fp32 weights", model, loadSeconds, Double(weightBytes) / 1_073_741_824))

        var output = try unet(latent, timestep: 981, encoderHiddenStates: context)   // warm-up
        if ProcessInfo.processInfo.environment["BENCH_DEBUG"] != nil {
            print(String(format: "after warm-up: peak RSS %.2f GiB, RSS %.2f GiB, %d threads in the process",
                         Double(ProcessMemory.peakResidentBytes()) / 1_073_741_824,
                         Double(ProcessMemory.residentBytes()) / 1_073_741_824, ProcessMemory.threadCount()))
        }
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            output = try unet(latent, timestep: 981, encoderHiddenStates: context)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let peak = ProcessMemory.peakResidentBytes()
        if ProcessInfo.processInfo.environment["BENCH_DEBUG"] != nil {
            print("threads in the process at the end: \(ProcessMemory.threadCount())")
        }
        let best = times.min() ?? 0
        let meanAbs = output.abs().scalars.reduce(0, +) / Float(max(output.count, 1))
        print(String(format: "unet forward [2,4,%d,%d] x 77 tokens: best %.3f s  (all: %@)", size, size, best,
                     times.map { String(format: "%.3f", $0) }.joined(separator: ", ")))
        print(String(format: "peak RSS %.2f GiB = %.3f x fp32 weights (%.2f GiB; after loading %.2f GiB)  |out| mean %.4f",
                     Double(peak) / 1_073_741_824, Double(peak) / Double(weightBytes), Double(weightBytes) / 1_073_741_824,
                     Double(rssAfterLoad) / 1_073_741_824, meanAbs))
        print(String(format: "RESULT swapscript_seconds=%.6f rss_ratio=%.4f", best, Double(peak) / Double(weightBytes)))
    }

    /// Bytes of the folder's parameters as fp32: 4 × the element count of every tensor in its
    /// weight file (read from the header only).
    static func weightBytes(directory: String) throws -> Int {
        let path = (directory as NSString).appendingPathComponent("diffusion_pytorch_model.safetensors")
        let file = try SafeTensorsFile(path: path)
        return 4 * file.entries.reduce(0) { $0 + $1.count }
    }
}
