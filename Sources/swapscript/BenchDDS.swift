import ArgumentParser
import Foundation
import SwapEditing
import SwapModels
import SwapTensor

/// `swapscript bench dds --model DIR`: DDS with SSGU k (default 5) against DDS without, at the
/// same iteration count, in one run; prints both wall times, their UNet call counts and the
/// ratio (InstantSwap's SSGU target: ≤ 0.25, close to the 1/k limit). With `--cds`: CDS with its
/// early exit (the gradient pass stops after the last decoder self-attention) against the full
/// forward, alternating runs, with the final latents compared bit for bit.
struct BenchDDS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dds",
        abstract: "Wall-time ratio of DDS with SSGU k=5 to DDS without, at equal iteration counts.")

    @Option(help: "A diffusers Stable Diffusion folder (model_index.json, …).")
    var model: String

    @Option(help: "Iterations of each run.")
    var iterations: Int = 20

    @Option(help: "SSGU factor k.")
    var ssgu: Int = 5

    @Option(help: "Latent height and width (default: the UNet's sample_size).")
    var size: Int?

    @Option(help: "Threads for the kernels (default 2).")
    var threads: Int = 2

    @Flag(help: "Time CDS with the early exit against the full forward instead (3 alternating runs each).")
    var cds = false

    func validate() throws {
        guard iterations > 0 else { throw ValidationError("--iterations must be positive") }
        guard ssgu > 0 else { throw ValidationError("--ssgu must be positive") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
        if let size { guard size > 0 else { throw ValidationError("--size must be positive") } }
    }

    func run() throws {
        Parallel.threadCount = threads
        let sd = try StableDiffusion(directory: model)
        let side = size ?? sd.unet.config.sampleSize
        var generator = PhiloxGenerator(seed: 0)
        let source = generator.randn([1, sd.unet.config.inChannels, side, side])
        func embed(_ text: String) throws -> Tensor { try sd.textEncoder.promptEmbeddings([sd.tokenizer.encode(text)]) }
        let prompts = DistillationPrompts(null: try embed(""), source: try embed("a red circle"), target: try embed("a green square"))
        print("swapscript bench dds  model \(model)  latent \(side)x\(side)  iterations \(iterations)  threads \(threads)")
        if cds { return try benchCDS(sd, source: source, prompts: prompts) }

        func timed(ssgu k: Int) throws -> (seconds: Double, calls: Int) {
            var settings = DistillationSettings(method: .dds)
            settings.iterations = iterations
            settings.ssgu = k
            let process = try ScoreDistillation(predictor: NoisePredictor(model: sd), source: source, prompts: prompts, settings: settings)
            let start = DispatchTime.now().uptimeNanoseconds
            try GradMode.withoutGradient { _ = try process.run(.detached) }
            return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, process.predictor.unetCalls)
        }
        _ = try timed(ssgu: iterations)   // warm-up: one UNet call
        let plain = try timed(ssgu: 1)
        let skipping = try timed(ssgu: ssgu)
        print(String(format: "DDS          : %.3f s  (%d UNet calls)", plain.seconds, plain.calls))
        print(String(format: "DDS + SSGU %d : %.3f s  (%d UNet calls)", ssgu, skipping.seconds, skipping.calls))
        print(String(format: "RESULT ssgu_ratio=%.4f  (1/k = %.4f)", skipping.seconds / plain.seconds, 1 / Double(ssgu)))
    }

    /// CDS iterations with and without the early exit: CPU and wall seconds per iteration.
    func benchCDS(_ sd: StableDiffusion, source: Tensor, prompts: DistillationPrompts) throws {
        func cpuSeconds() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        var totals = [true: (cpu: 0.0, wall: 0.0), false: (cpu: 0.0, wall: 0.0)]
        var latents: [Bool: [Float]] = [:]
        for _ in 0..<3 {
            for early in [true, false] {
                var settings = DistillationSettings(method: .cds)
                settings.iterations = iterations
                settings.earlyExit = early
                let process = try ScoreDistillation(predictor: NoisePredictor(model: sd), source: source, prompts: prompts, settings: settings)
                let (cpu, wall) = (cpuSeconds(), DispatchTime.now().uptimeNanoseconds)
                _ = try process.run(.detached)
                totals[early]!.cpu += cpuSeconds() - cpu
                totals[early]!.wall += Double(DispatchTime.now().uptimeNanoseconds - wall) / 1e9
                latents[early] = process.state.latent.scalars
            }
        }
        let n = Double(3 * iterations)
        for early in [true, false] {
            print((early ? "CDS early exit  : " : "CDS full forward: ") + String(format: "%.4f s CPU, %.4f s wall per iteration", totals[early]!.cpu / n, totals[early]!.wall / n))
        }
        print(String(format: "RESULT cds_early_exit_cpu_ratio=%.4f", totals[true]!.cpu / totals[false]!.cpu)
              + "  identical_latents=\(latents[true] == latents[false])")
    }
}
