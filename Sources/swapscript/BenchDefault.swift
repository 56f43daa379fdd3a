import ArgumentParser
import Foundation
import SwapModels
import SwapPipeline
import SwapTensor
import SwapWorld

/// `swapscript bench default`: the speed figures of issue 7 on the embedded default model:
/// a 50-step DDIM sample with CFG 7.5, one UNet call at batch 2 (the guided step), 200 UNet
/// calls at batch 4 (the UNet work of 200 DDS iterations: source and target, each guided), one
/// diffusion training step of the default recipe, and the REPL's start to its first prompt.
struct BenchDefault: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "default",
        abstract: "Time sampling, the UNet call and a training step of the default model.")

    @Option(help: "A diffusers folder to time instead of the embedded default model.")
    var model: String?

    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    @Option(help: "Timed repetitions (the best is reported).")
    var repeats: Int = 3

    @Option(name: .customLong("train-batch"), help: "Batch of the timed training step (0 skips it).")
    var trainBatch: Int = 32

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let loadStart = Date()
        let sd = try model.map { try StableDiffusion(directory: $0) } ?? DefaultModel.load()
        print(String(format: "swapscript bench default  threads=%d  loaded %@ in %.3f s", Parallel.threadCount,
                     model ?? "the default model", Date().timeIntervalSince(loadStart)))
        func best(_ body: () throws -> Void) rethrows -> Double {
            var times: [Double] = []
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return times.min() ?? 0
        }
        let pipeline = StableDiffusionPipeline(model: sd, scheduler: .ddim())
        try GradMode.withoutGradient {
            let request = GenerationRequest(prompt: "a red circle", guidanceScale: 7.5, steps: 50, seed: 0)
            _ = try pipeline.generate(request)   // warm-up
            let sample = try best { _ = try pipeline.generate(request) }
            let size = sd.unet.config.sampleSize * sd.vaeScaleFactor
            print(String(format: "50-step DDIM sample, CFG 7.5 (%dx%d):   %.3f s   (target ≤ 2 s)", size, size, sample))

            var generator = PhiloxGenerator(seed: 0)
            let c = sd.unet.config
            let latent2 = generator.randn([2, c.inChannels, c.sampleSize, c.sampleSize])
            let context2 = try pipeline.encodePrompts(["", "a red circle"])
            let call = try best { _ = try sd.unet(latent2, timestep: 500, encoderHiddenStates: context2) }
            print(String(format: "UNet call, batch 2:                     %.2f ms", call * 1e3))

            let latent4 = try Tensor.concat([latent2, latent2], axis: 0)
            let context4 = try Tensor.concat([context2, context2], axis: 0)
            let dds = try best { for _ in 0..<200 { _ = try sd.unet(latent4, timestep: 500, encoderHiddenStates: context4) } }
            print(String(format: "200 UNet calls at batch 4 (DDS x 200):  %.3f s   (target ≤ 5 s)", dds))
        }
        if trainBatch > 0 {
            let source = ShapesWorldSource()
            // Freshly initialised VAE weights: the step's cost does not depend on their values.
            let vaeWeights = ParameterLayout.initialize(ParameterLayout.vae(TrainingRecipe.defaultModel.vae), seed: 0)
            let trainer = try Trainer(recipe: .defaultModel, stage: .diffusion, seed: 0, batchSize: trainBatch, source: source,
                                      vaeWeights: vaeWeights, measureScale: false)
            try trainer.trainStep()   // warm-up
            let step = try best { try trainer.trainStep() }
            print(String(format: "diffusion training step, batch %d:      %.3f s  (%d parameters)", trainBatch, step, trainer.parameterCount))
        }
        let starts = try (0..<Swift.max(repeats, 1)).map { _ in try Self.replStartSeconds() }
        print(String(format: "REPL start to first prompt (terminal):  %.3f s   (target ≤ 0.3 s; models load on load_model)", starts.min()!))
    }

    /// Starts `swapscript repl` on a pseudo-terminal, as a user's shell would, and times until
    /// its ">> " prompt arrives (banner, readline and session set-up included).
    static func replStartSeconds() throws -> Double {
        // posix_openpt, unlockpt and ptsname by hand (Glibc's module exports none of them, nor the
        // ioctl numbers, which are Linux's _IOW('T', 0x31, int) and _IOR('T', 0x30, unsigned int)).
        let (TIOCSPTLCK, TIOCGPTN): (UInt, UInt) = (0x4004_5431, 0x8004_5430)
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var unlock: CInt = 0, number: CUnsignedInt = 0
        guard master >= 0, ioctl(master, TIOCSPTLCK, &unlock) == 0, ioctl(master, TIOCGPTN, &number) == 0 else {
            throw ValidationError("bench default: no pseudo-terminal for the REPL timing")
        }
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw ValidationError("bench default: cannot open /dev/pts/\(number)") }
        defer { close(master) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["repl"]
        var environment = ProcessInfo.processInfo.environment
        environment["TERM"] = environment["TERM"] ?? "xterm"
        process.environment = environment
        let terminal = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
        (process.standardInput, process.standardOutput, process.standardError) = (terminal, terminal, terminal)
        let start = DispatchTime.now().uptimeNanoseconds
        try process.run()
        var seen = [UInt8](), buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: seen, as: UTF8.self).contains(">> ") {
            let n = read(master, &buffer, buffer.count)
            guard n > 0 else { break }
            seen += buffer[0..<n]
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        process.terminate()
        process.waitUntilExit()
        guard String(decoding: seen, as: UTF8.self).contains(">> ") else {
            throw ValidationError("bench default: the REPL showed no prompt; it printed: \(String(decoding: seen, as: UTF8.self))")
        }
        return seconds
    }
}
