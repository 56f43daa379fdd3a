import Foundation
import SwapIO
import SwapPipeline
import SwapModels
import SwapTensor

extension Trainer {
    /// The number of trained scalars.
    public var parameterCount: Int { optimizer.values.reduce(0) { $0 + $1.count } }

    /// Seeds of `count` validation scenes (disjoint from the training stream).
    func validationSeeds(_ count: Int) -> [UInt64] {
        (0..<count).map { TrainingSeeds.mix(TrainingSeeds.derive(seed, 4) &+ UInt64($0)) }
    }

    /// The VAE (EMA weights) of a VAE-stage trainer, or the frozen VAE of a diffusion trainer.
    public func averagedVAE() throws -> AutoencoderKL {
        let weights = stage == .vae ? averagedParameters : frozenVAE.merging(stage == .decoder ? averagedParameters : [:]) { $1 }
        return try AutoencoderKL(config: recipe.vae, store: WeightStore(tensors: weights))
    }

    /// Reconstructions (posterior mean, decoded, clamped to [0, 1]) of `images` [B, 3, S, S]
    /// in [0, 1], by the averaged VAE.
    public func reconstruct(_ images: Tensor) throws -> Tensor {
        let vae = try averagedVAE()
        return try GradMode.withoutGradient {
            let decoded = try vae.decode(vae.encode(images * 2 - 1).mean)
            return ((decoded + 1) * 0.5).clamped(min: 0, max: 1)
        }
    }

    /// PSNR (dB, images in [0, 1]) of the averaged VAE's reconstructions of `count` fresh scenes.
    public func reconstructionPSNR(count: Int) throws -> Double {
        let (x, _) = try source.batch(seeds: validationSeeds(count), objects: recipe.objects)
        let images = (x + 1) * 0.5
        let mse = try (reconstruct(images) - images).squared().mean().item
        return 10 * Foundation.log10(1 / Double(Swift.max(mse, 1e-12)))
    }
}

extension Trainer {
    /// The averaged weights as a `StableDiffusion` (diffusion stage only), as the export would
    /// load, but in Float32.
    public func averagedModel() throws -> StableDiffusion {
        guard stage == .diffusion else { throw TrainingError("preview: needs a diffusion-stage trainer") }
        let store = WeightStore(tensors: averagedParameters)
        var vaeConfig = recipe.vae
        vaeConfig.scalingFactor = scalingFactor
        return try StableDiffusion(
            source: "training run (step \(step))", version: .sd1, tokenizer: tokenizer,
            textEncoder: CLIPTextModel(config: recipe.text, weights: store.prefixed("text_encoder.")),
            unet: UNet2DConditionModel(config: recipe.unet, store: store.prefixed("unet.")),
            vae: AutoencoderKL(config: vaeConfig, store: WeightStore(tensors: frozenVAE)),
            schedulerConfigPath: nil, schedulerClassName: "DDIMScheduler", predictionType: "epsilon")
    }

    /// A picture of where training stands, for `count` validation scenes: the scenes on the
    /// first row; below, the VAE's reconstructions (VAE stage) or 50-step DDIM samples at
    /// CFG 7.5 for the scenes' captions (diffusion stage).
    public func preview(count: Int) throws -> Image {
        let (x, captions) = try source.batch(seeds: validationSeeds(count), objects: recipe.objects)
        let originals = try Image.images(fromBatch: x, range: .minusOneToOne)
        let second: [Image]
        switch stage {
        case .vae, .decoder:
            second = try Image.images(fromBatch: reconstruct((x + 1) * 0.5), range: .zeroToOne)
        case .diffusion:
            let pipeline = StableDiffusionPipeline(model: try averagedModel(), scheduler: .ddim())
            let images = try GradMode.withoutGradient {
                try pipeline.generate(GenerationRequest(prompts: captions, guidanceScale: 7.5, steps: 50, seed: 0))
            }
            second = try Image.images(fromBatch: images.clamped(min: -1, max: 1), range: .minusOneToOne)
        }
        let scale = max(1, 96 / recipe.imageSize)
        func enlarged(_ image: Image) throws -> Image {
            let t = try image.tensor(range: .zeroToOne).resizedBilinear(height: image.height * scale, width: image.width * scale)
            return try Image(tensor: t, range: .zeroToOne)
        }
        return try grid((originals + second).map(enlarged), columns: count,
                        captions: captions + Array(repeating: "", count: count), captionScale: 1)
    }
}

/// How the recognizer reads the objects of VAE reconstructions (the bar of issue 7: ≥ 95% of
/// objects read right on reconstructions of fresh renders).
public struct ReconstructionRecognition: Sendable, CustomStringConvertible {
    public var objects = 0, correct = 0, shapeCorrect = 0, colorCorrect = 0, patternCorrect = 0
    /// Objects whose shape, colour and pattern are all read right, as a fraction.
    public var accuracy: Double { objects > 0 ? Double(correct) / Double(objects) : 0 }

    public var description: String {
        func percent(_ n: Int) -> String { String(format: "%.1f%%", 100 * Double(n) / Double(Swift.max(objects, 1))) }
        return "recognizer on reconstructions: \(percent(correct)) of \(objects) objects right (shape \(percent(shapeCorrect)), "
            + "colour \(percent(colorCorrect)), pattern \(percent(patternCorrect)))"
    }
}

extension Trainer {
    /// Reconstructs `count` fresh training-split scenes (seeds disjoint from the training stream)
    /// at 64x64 with the averaged VAE and reads each object inside its true box.
    public func reconstructionRecognition(count: Int) throws -> ReconstructionRecognition {
        var result = ReconstructionRecognition()
        let seeds = validationSeeds(count)
        for chunk in stride(from: 0, to: seeds.count, by: 16) {
            let scenes = seeds[chunk..<Swift.min(chunk + 16, seeds.count)].map { ShapesWorld.scene(seed: $0, split: .train, objects: recipe.objects) }
            let batch = try Tensor.concat(scenes.map { try $0.image.unsqueezed(0) }, axis: 0)
            let reconstructed = try reconstruct(batch)
            for (i, scene) in scenes.enumerated() {
                let image = try reconstructed.sliced(axis: 0, start: i, end: i + 1).reshaped(Array(reconstructed.shape.dropFirst()))
                for object in scene.objects {
                    let reading = try WorldRecognizer.recognize(image, box: object.box)
                    result.objects += 1
                    let shape = reading?.shape == object.shape, color = reading?.color == object.color
                    let pattern = reading?.pattern == object.pattern
                    if shape { result.shapeCorrect += 1 }
                    if color { result.colorCorrect += 1 }
                    if pattern { result.patternCorrect += 1 }
                    if shape && color && pattern { result.correct += 1 }
                }
            }
        }
        return result
    }
}

/// How often samples follow their prompt (issue 7: the recognizer agrees with the caption's
/// shape and colour on ≥ 80% of held-out single-object captions, 50 DDIM steps, CFG 7.5).
public struct SampleAgreement: Sendable, CustomStringConvertible {
    public var split: WorldSplit
    public var samples = 0, shapeAndColor = 0, shape = 0, color = 0

    public var description: String {
        func percent(_ n: Int) -> String { String(format: "%.1f%%", 100 * Double(n) / Double(Swift.max(samples, 1))) }
        return "samples (\(split.rawValue) split, \(samples) single-object captions, DDIM 50, CFG 7.5): shape and colour "
            + "\(percent(shapeAndColor)), shape \(percent(shape)), colour \(percent(color))"
    }
}

extension Trainer {
    /// Samples one image per caption of `count` fresh single-object scenes of `split` (seeds
    /// disjoint from training) with the averaged weights and reads the largest object.
    public func sampleAgreement(count: Int, split: WorldSplit) throws -> SampleAgreement {
        let pipeline = StableDiffusionPipeline(model: try averagedModel(), scheduler: .ddim())
        var result = SampleAgreement(split: split)
        let seeds = (0..<count).map { TrainingSeeds.mix(TrainingSeeds.derive(seed, 5) &+ UInt64($0)) }
        for chunk in stride(from: 0, to: count, by: 8) {
            let scenes = seeds[chunk..<Swift.min(chunk + 8, count)].map { ShapesWorld.scene(seed: $0, split: split, objects: 1...1) }
            let images = try GradMode.withoutGradient {
                try pipeline.generate(GenerationRequest(prompts: scenes.map(\.caption), guidanceScale: 7.5, steps: 50,
                                                        seed: UInt64(chunk)))
            }
            let pixels = ((images + 1) * 0.5).clamped(min: 0, max: 1)
            for (i, scene) in scenes.enumerated() {
                guard let truth = scene.objects.first else { continue }
                let image = try pixels.sliced(axis: 0, start: i, end: i + 1).reshaped(Array(pixels.shape.dropFirst()))
                let reading = try WorldRecognizer.recognize(image)
                result.samples += 1
                let shape = reading?.shape == truth.shape, color = reading?.color == truth.color
                if shape { result.shape += 1 }
                if color { result.color += 1 }
                if shape && color { result.shapeAndColor += 1 }
            }
        }
        return result
    }
}
