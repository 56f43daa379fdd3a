import ArgumentParser
import Foundation
import SwapEditing
import SwapModels
import SwapTensor
import SwapWorld

/// `swapscript bench baret --model DIR`: BARET's efficiency claim (TTIS converges in fewer
/// inner iterations than null-text inversion), measured on ShapesWorld scenes: for each scene,
/// null-text inversion with its caption and TTIS with a target text, under the same cap on
/// inner iterations and the same early-stop threshold (``InversionComparison``).
struct BenchBaret: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baret",
        abstract: "Compare TTIS and null-text inversion: inner iterations to reach the early-stop threshold, and wall time.")

    @Option(help: "A diffusers Stable Diffusion 1.x folder.")
    var model: String

    @Option(help: "ShapesWorld scenes to invert (seeds 0, 1, ...).")
    var images: Int = 2

    @Option(help: "DDIM steps.")
    var steps: Int = 50

    @Option(help: "Inner iterations per step at most, for both methods.")
    var inner: Int = 10

    @Option(help: "Threads for the kernels (default 2).")
    var threads: Int = 2

    @Option(parsing: .upToNextOption,
            help: "TTIS learning rates, one TTIS run per rate (the paper's is 1e-3; null-text inversion uses 1e-2).")
    var ttisLr: [Float] = [1e-3, 1e-2]

    @Option(help: "Text appended to each caption to make TTIS's target text (empty: the caption itself).")
    var edit: String = ", seen from above"

    func validate() throws {
        guard images > 0, steps > 0, steps <= 1000, inner > 0, threads > 0 else {
            throw ValidationError("--images, --steps (≤ 1000), --inner and --threads must be positive")
        }
        guard !ttisLr.isEmpty, ttisLr.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw ValidationError("--ttis-lr needs one or more positive learning rates")
        }
    }

    func run() throws {
        Parallel.threadCount = threads
        let sd = try StableDiffusion(directory: model)
        print("swapscript bench baret  model=\(model)  steps=\(steps)  inner≤\(inner)  threads=\(threads)")
        var ntiTotals = (iterations: 0, seconds: 0.0)
        var ttisTotals = ttisLr.map { _ in (iterations: 0, seconds: 0.0) }
        for seed in 0..<UInt64(images) {
            let scene = ShapesWorld.scene(seed: seed, objects: 1...1)
            let pixels = try (scene.image * 2 - 1).reshaped([1] + scene.image.shape)
            let target = scene.caption + edit
            let c = try InversionComparison.run(model: sd, image: pixels, caption: scene.caption, target: target, steps: steps,
                                                inner: inner, ttisLearningRates: ttisLr)
            print("scene \(seed): \"\(scene.caption)\" (TTIS target \"\(target)\")")
            for line in c.lines { print("  " + line) }
            ntiTotals.iterations += c.nullText.iterations
            ntiTotals.seconds += c.nullText.seconds
            for (k, cost) in c.targetText.enumerated() {
                ttisTotals[k].iterations += cost.iterations
                ttisTotals[k].seconds += cost.seconds
            }
        }
        var result = String(format: "RESULT nti_iterations=%d nti_seconds=%.3f", ntiTotals.iterations, ntiTotals.seconds)
        for (rate, totals) in zip(ttisLr, ttisTotals) {
            result += String(format: " ttis_lr%g_iterations=%d ttis_lr%g_seconds=%.3f", rate, totals.iterations, rate, totals.seconds)
        }
        print(result)
    }
}
