import Foundation
import SwapEditing
import SwapModels
import SwapTensor

// One swap of `swapscript bench swap`, from job to result row: the customized concepts (learned
// once per runner), the prompts, the timed method run, and the metrics (recognizer inside the
// ground-truth box, background PSNR/SSIM/MSE outside it against the source scene).

/// Runs benchmark jobs on one model.
public final class SwapBenchRunner {
    public let config: SwapBenchConfig
    /// The model as given (the default model in `swapscript bench swap`).
    public let base: StableDiffusion
    /// The base model plus a learned token for every held-out concept among the targets.
    public private(set) var model: StableDiffusion
    /// Seconds spent learning the customized concepts (not part of any swap's time).
    public private(set) var conceptSeconds: Double = 0

    public init(model: StableDiffusion, config: SwapBenchConfig) throws {
        try config.validate()
        self.config = config
        base = model
        self.model = model
    }

    /// Teaches the model the held-out concepts the targets use ("<cross>" from "star",
    /// "<checkered>" from "striped"): textual inversion (`TokenLearning`, diffusers' recipe)
    /// on `conceptImages` held-out scenes showing the concept, seed-fixed, so every shard
    /// learns the same token. Called by `run` when needed.
    public func learnConcepts(log: (String) -> Void = { _ in }) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        var learned = base
        for target in SwapBenchTarget.candidates.prefix(config.targets) where target.isHeldOut {
            let (token, initializer): (String, String) = target.shape == .heldOut
                ? (SwapBenchTarget.word(shape: .heldOut), "star") : (SwapBenchTarget.word(pattern: .heldOut), "striped")
            var latents: [Tensor] = []
            var seed: UInt64 = 7_000_000
            while latents.count < config.conceptImages {
                let scene = ShapesWorld.scene(seed: seed, split: .heldOut, objects: 1...1)
                seed += 1
                // Scenes that show this held-out concept and not the other one.
                guard let o = scene.objects.first,
                      target.shape == .heldOut ? o.shape == .heldOut && o.pattern != .heldOut
                                               : o.pattern == .heldOut && o.shape != .heldOut else { continue }
                let image = try scene.image.reshaped([1] + scene.image.shape) * 2 - 1
                latents.append(try GradMode.withoutGradient { try learned.vae.encode(image).mean * learned.vae.scalingFactor })
            }
            var settings = TokenLearningSettings()
            settings.steps = config.conceptSteps
            settings.seed = config.seed
            let process = try TokenLearning(model: learned, latents: latents, token: token, initializer: initializer, settings: settings)
            _ = try process.run(.detached)
            learned = try process.learnedModel()
            log("learned \(token) (from \"\(initializer)\", \(config.conceptSteps) steps on \(latents.count) held-out scenes)")
        }
        model = learned
        conceptSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// The swap of `job` (its scene, target concept and prompts).
    public func swap(for job: SwapBenchJob) throws -> (swap: SwapBenchSwap, scene: WorldScene, concept: WorldConcept) {
        let scene = config.scene(job.scene)
        guard let object = scene.objects.first else { throw WorldError("bench swap", "scene \(job.scene) has no object") }
        let source = WorldConcept(shape: object.shape, color: object.color, pattern: object.pattern)
        let concept = SwapBenchTarget.candidates[job.target].concept(replacing: object)
        let box = try PixelBox(top: object.box.y0, left: object.box.x0, bottom: object.box.y1, right: object.box.x1)
        let swap = SwapBenchSwap(model: model, source: try scene.image.reshaped([1] + scene.image.shape),
                                 sourcePrompt: "a " + SwapBenchTarget.phrase(source), targetPrompt: "a " + SwapBenchTarget.phrase(concept),
                                 sourceConcept: SwapBenchTarget.phrase(source), targetConcept: SwapBenchTarget.phrase(concept), box: box)
        return (swap, scene, concept)
    }

    /// Runs one job and measures it. The seconds cover the whole swap: encoding, the method
    /// (null-text inversion included for P2P) and decoding.
    public func run(_ job: SwapBenchJob) throws -> SwapBenchRow {
        let (swap, scene, concept) = try swap(for: job)
        let start = DispatchTime.now().uptimeNanoseconds
        let (edited, calls) = try job.method.run(swap, config: config)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let image = edited.clamped(min: 0, max: 1)
        let object = scene.objects[0]
        let check = try WorldRecognizer.check(image, box: object.box, concept: concept)
        let target = SwapBenchTarget.candidates[job.target]
        let swappedMatches = target.attribute == .shape ? check.shapeMatches : check.patternMatches
        let bg = try BackgroundMetrics.compute(try MetricImage(image, "bench swap"), try MetricImage(swap.source, "bench swap"),
                                               box: swap.box, dataRange: 1)
        return SwapBenchRow(
            job: job.id, jobs: config.jobs.count, n: config.scenes, m: config.targets, seed: config.seed,
            scene: job.scene, sceneSeed: scene.seed, target: job.target, method: job.method.rawValue,
            targetConcept: concept.description, swapped: target.attribute.rawValue, heldOut: target.isHeldOut,
            sourcePrompt: swap.sourcePrompt, targetPrompt: swap.targetPrompt,
            box: [object.box.x0, object.box.y0, object.box.x1, object.box.y1],
            fgAttribute: swappedMatches == true ? 1 : 0, fgFull: check.correct ? 1 : 0,
            readShape: check.reading?.shape.rawValue, readColor: check.reading?.color.rawValue, readPattern: check.reading?.pattern.rawValue,
            bgPSNR: bg.psnr, bgSSIM: bg.ssim, bgMSE: bg.mse, seconds: seconds, unetCalls: calls)
    }
}
