import Foundation
import SwapIO
import SwapTensor

// Checkpoints: one safetensors file per stage, `<run>/<stage>.safetensors`, written atomically,
// holding everything a step depends on in Float32 (parameters, AdamW moments, the moving
// average, the frozen VAE of the diffusion stage) and, in the metadata, the step, seed, batch
// size, recipe name, scaling factor and caption vocabulary.

extension Trainer {
    /// The checkpoint path of `stage` in run folder `run`.
    public static func checkpointPath(run: String, stage: TrainingStage) -> String {
        (run as NSString).appendingPathComponent(stage.rawValue + ".safetensors")
    }

    /// Writes the full training state to `path` (atomically).
    public func saveCheckpoint(to path: String) throws {
        var tensors: [(String, Tensor)] = []
        for (i, name) in names.enumerated() {
            tensors.append(("param." + name, optimizer.values[i]))
            tensors.append(("adam_m." + name, optimizer.firstMoment[i]))
            tensors.append(("adam_v." + name, optimizer.secondMoment[i]))
            tensors.append(("ema." + name, ema[i]))
        }
        for (name, tensor) in frozenVAE { tensors.append(("frozen_vae." + name, tensor)) }
        let metadata = [
            "format": "swapscript-training-checkpoint-1",
            "stage": stage.rawValue, "recipe": recipe.name, "seed": String(seed), "batch": String(batchSize),
            "step": String(step), "scaling_factor": String(scalingFactor.bitPattern),
            "vocabulary": source.vocabulary.joined(separator: " "),
        ]
        try SafeTensors.write(tensors, metadata: metadata, to: path)
    }

    /// Resumes from a checkpoint written by `saveCheckpoint`; the recipe, stage, seed, batch
    /// size and vocabulary must match the ones it was written with.
    public static func resume(from path: String, recipe: TrainingRecipe, source: any TrainingSceneSource) throws -> Trainer {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw TrainingError("resume: \(error)") }
        let meta = file.metadata ?? [:]
        guard meta["format"] == "swapscript-training-checkpoint-1", let stageName = meta["stage"],
              let stage = TrainingStage(rawValue: stageName), let seed = meta["seed"].flatMap(UInt64.init),
              let batch = meta["batch"].flatMap(Int.init), let step = meta["step"].flatMap(Int.init),
              let scaleBits = meta["scaling_factor"].flatMap(UInt32.init) else {
            throw TrainingError("resume: \(path) is not a SwapScript training checkpoint")
        }
        guard meta["recipe"] == recipe.name else {
            throw TrainingError("resume: \(path) was trained with recipe '\(meta["recipe"] ?? "?")', not '\(recipe.name)'")
        }
        guard meta["vocabulary"] == source.vocabulary.joined(separator: " ") else {
            throw TrainingError("resume: \(path) was trained with another caption vocabulary")
        }
        func read(_ name: String) throws -> Tensor {
            do { return try file.tensor(name) } catch { throw TrainingError("resume: \(error)") }
        }
        var frozen: [String: Tensor] = [:]
        for name in file.names where name.hasPrefix("frozen_vae.") { frozen[String(name.dropFirst(11))] = try read(name) }
        let trainer = try Trainer(recipe: recipe, stage: stage, seed: seed, batchSize: batch, source: source,
                                  vaeWeights: stage == .vae ? nil : frozen, measureScale: false)
        trainer.scalingFactor = Float(bitPattern: scaleBits)
        let values = try trainer.names.map { try read("param." + $0) }
        let m = try trainer.names.map { try read("adam_m." + $0) }
        let v = try trainer.names.map { try read("adam_v." + $0) }
        trainer.ema = try trainer.names.map { try read("ema." + $0) }
        for (i, name) in trainer.names.enumerated() where values[i].shape != trainer.optimizer.values[i].shape {
            throw TrainingError("resume: \(path): '\(name)' has shape \(values[i].shape), the recipe expects \(trainer.optimizer.values[i].shape)")
        }
        trainer.optimizer.restore(values: values, firstMoment: m, secondMoment: v, stepCount: step)
        return trainer
    }

    /// The EMA VAE weights of a VAE-stage checkpoint (what the diffusion stage starts from).
    public static func averagedWeights(checkpoint path: String) throws -> [String: Tensor] {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw TrainingError("train: \(error)") }
        var result: [String: Tensor] = [:]
        for name in file.names where name.hasPrefix("ema.") {
            do { result[String(name.dropFirst(4))] = try file.tensor(name) } catch { throw TrainingError("train: \(error)") }
        }
        guard !result.isEmpty else { throw TrainingError("train: \(path) holds no averaged weights") }
        return result
    }
}
