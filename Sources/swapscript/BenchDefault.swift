import ArgumentParser
import Foundation
import SwapModels
import SwapPipeline
import SwapTensor
import SwapWorld

/// `swapscript bench default`: the speed figures of issue 7 on the embedded default model:
/// a 50-step DDIM sample with CFG 7.5, one UNet call at batch 2 (the guided step), 200 UNet
/// calls at batch 4 (the UNet work of 200 DDS iterations: source and target, each guided), and
/// one diffusion training step of the default recipe.
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
    }
}
