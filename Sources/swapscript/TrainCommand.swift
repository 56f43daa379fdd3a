import ArgumentParser
import Foundation
import SwapIO
import SwapTensor
import SwapWorld

/// `swapscript train`: trains the default model on ShapesWorld with SwapScript's own autograd,
/// one stage at a time, checkpointing into a run folder; `--export` writes the diffusers folder.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the embedded default model (VAE stage, then the diffusion stage) on ShapesWorld.",
        discussion: """
        A run folder holds vae.safetensors and diffusion.safetensors (parameters, AdamW moments, EMA, step).
        Training is a pure function of (seed, step): `--steps N` in one run equals `--steps N/2`, then
        `--steps N --resume`, bit for bit. tools/train-default-model.sh has the command sequence of the
        committed weights.
        """)

    @Option(help: "vae, diffusion (text encoder + UNet on the frozen VAE) or decoder (fine-tunes the VAE decoder, encoder frozen).")
    var stage: String = "vae"

    @Option(help: "Train until this many steps are done (counting resumed ones).")
    var steps: Int = 1000

    @Option(help: "Scenes per step.")
    var batch: Int = 32

    @Option(help: "Run seed (initialisation, scenes, noise).")
    var seed: UInt64 = 0

    @Option(help: "Run folder for checkpoints.")
    var out: String

    @Flag(help: "Continue from the stage's checkpoint in --out.")
    var resume = false

    @Option(help: "Recipe preset: default or tiny.")
    var recipe: String = "default"

    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints.")
    var checkpointEvery: Int = 100

    @Option(name: .customLong("log-every"), help: "Steps between progress lines.")
    var logEvery: Int = 10

    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    @Option(name: .customLong("unet-channels"), help: "Override the recipe's UNet block_out_channels (e.g. 64,128): for measuring candidates.")
    var unetChannels: String?

    @Option(name: .customLong("vae-channels"), help: "Override the recipe's VAE block_out_channels (e.g. 32,64,128).")
    var vaeChannels: String?

    @Option(help: "Write the diffusion checkpoint's EMA weights as a diffusers folder here (fp16) and exit.")
    var export: String?

    @Option(help: "Write a PNG of the stage checkpoint's reconstructions (vae) or samples (diffusion) of 8 fresh scenes and exit.")
    var preview: String?

    @Option(help: "Measure the stage checkpoint on N fresh scenes and exit: the recognizer on VAE reconstructions (vae, decoder), or on samples for single-object captions of the train and unseen-pairs splits (diffusion).")
    var evaluate: Int?

    func validate() throws {
        guard TrainingStage(rawValue: stage) != nil else { throw ValidationError("--stage must be vae, diffusion or decoder") }
        guard steps >= 0, batch > 0, checkpointEvery > 0, logEvery > 0 else {
            throw ValidationError("--steps must be ≥ 0; --batch, --checkpoint-every and --log-every positive")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        var recipe = try TrainingRecipe.named(self.recipe)
        func channels(_ text: String) throws -> [Int] {
            let list = text.split(separator: ",").compactMap { Int($0) }
            guard !list.isEmpty, list.count == text.split(separator: ",").count else { throw ValidationError("bad channel list '\(text)'") }
            return list
        }
        if let unetChannels { try recipe.overrideUNetChannels(channels(unetChannels)) }
        if let vaeChannels { try recipe.overrideVAEChannels(channels(vaeChannels)) }
        let source = ShapesWorldSource(imageSize: recipe.imageSize)
        let stage = TrainingStage(rawValue: self.stage)!
        if let export {
            let trainer = try Trainer.resume(from: Trainer.checkpointPath(run: out, stage: .diffusion), recipe: recipe, source: source)
            let decoderPath = Trainer.checkpointPath(run: out, stage: .decoder)
            let decoder = FileManager.default.fileExists(atPath: decoderPath)
                ? try Trainer.resume(from: decoderPath, recipe: recipe, source: source) : nil
            try DefaultModelExport.export(trainer, decoder: decoder, to: export)
            print("exported diffusion step \(trainer.step)" + (decoder.map { ", decoder step \($0.step)" } ?? "")
                  + " (EMA weights, fp16) to \(export)")
            return
        }
        let path = Trainer.checkpointPath(run: out, stage: stage)
        if let preview {
            let trainer = try Trainer.resume(from: path, recipe: recipe, source: source)
            try trainer.preview(count: 8).save(preview)
            print("wrote \(preview): step \(trainer.step)")

            return
        }
        if let evaluate {
            let trainer = try Trainer.resume(from: path, recipe: recipe, source: source)
            print("\(stage.rawValue) checkpoint step \(trainer.step)")
            if stage == .diffusion {
                print(try trainer.sampleAgreement(count: evaluate, split: .train))
                print(try trainer.sampleAgreement(count: evaluate, split: .unseenPairs))
                print(try trainer.attentionLocalization(count: evaluate))
            } else {
                print(String(format: "reconstruction PSNR %.2f dB (%d fresh scenes)", try trainer.reconstructionPSNR(count: evaluate), evaluate))
                print(try trainer.reconstructionRecognition(count: evaluate))
            }
            return
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let trainer: Trainer
        if resume {
            trainer = try Trainer.resume(from: path, recipe: recipe, source: source)
            guard trainer.stage == stage else { throw TrainingError("train: \(path) is a \(trainer.stage.rawValue) checkpoint") }
        } else {
            let vaeWeights = stage == .vae
                ? nil : try Trainer.averagedWeights(checkpoint: Trainer.checkpointPath(run: out, stage: .vae))
            trainer = try Trainer(recipe: recipe, stage: stage, seed: seed, batchSize: batch, source: source, vaeWeights: vaeWeights)
        }
        print("train \(stage.rawValue): recipe \(recipe.name), \(trainer.parameterCount) parameters, batch \(trainer.batchSize), "
              + "seed \(trainer.seed), step \(trainer.step) → \(steps), threads \(Parallel.threadCount)"
              + (stage == .diffusion ? String(format: ", latent scaling factor %.5f", trainer.scalingFactor) : ""))
        var windowStart = Date(), windowSteps = 0, windowLoss = 0.0
        while trainer.step < steps {
            let losses = try trainer.trainStep()
            windowSteps += 1
            windowLoss += Double(losses.total)
            let k = trainer.step
            if k % logEvery == 0 || k == steps {
                let elapsed = Date().timeIntervalSince(windowStart)
                let parts = losses.parts.map { String(format: "%@ %.5f", $0.0, $0.1) }.joined(separator: "  ")
                print(String(format: "step %d  loss %.5f (mean of %d: %.5f)  %@  %.3f steps/s  %.2f s/step  %@",
                             k, losses.total, windowSteps, windowLoss / Double(windowSteps), parts,
                             Double(windowSteps) / elapsed, elapsed / Double(windowSteps), Self.clock()))
                fflush(stdout)
                windowStart = Date(); windowSteps = 0; windowLoss = 0
            }
            if k % checkpointEvery == 0 || k == steps {
                try trainer.saveCheckpoint(to: path)
                if stage != .diffusion {
                    let psnr = try trainer.reconstructionPSNR(count: 32)
                    print(String(format: "checkpoint step %d → %@  EMA VAE reconstruction PSNR %.2f dB (32 fresh scenes)", k, path, psnr))
                } else {
                    print("checkpoint step \(k) → \(path)")
                }
                fflush(stdout)
            }
        }
    }

    static func clock() -> String {
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss"
        return f.string(from: Date())
    }
}
