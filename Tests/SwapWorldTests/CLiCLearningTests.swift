import Foundation
import SwapEditing
import SwapModels
import SwapTensor
import SwapWorld
import Testing

/// CLiC concept learning on the embedded default model (issue 9: "the CLiC losses decrease over
/// 50 steps on the default model"). The source is ShapesWorld scene 5 (two objects); the concept
/// is the stripes of its large red striped square.
struct CLiCLearningTests {
    static func source() throws -> (model: StableDiffusion, image: Tensor, mask: Tensor) {
        let scene = ShapesWorld.scene(seed: 5, split: .train, objects: 2...2)
        let object = try #require(scene.objects.first { $0.pattern == .striped && $0.shape == .square })
        return (try DefaultModel.load(), try scene.image.unsqueezed(0) * 2 - 1, object.maskTensor)
    }

    static func mean(_ xs: ArraySlice<Double>) -> Double { xs.reduce(0, +) / Double(xs.count) }

    /// 50 steps at lr 1e-3 (the code's 1e-5 moves the tiny model too little in 50 steps) with t
    /// drawn from [300, 700) (over 0..<1000 the per-step diffusion losses vary ~30× with t).
    /// Every term's mean over the last 5 steps is below its mean over the first 5, and on the
    /// same 3 draws (t, ε, VAE noise) every term is lower after training than before.
    @Test func lossesDecreaseOverFiftySteps() throws {
        let (model, image, mask) = try Self.source()
        var settings = CLiCLearningSettings()
        settings.steps = 50
        settings.learningRate = 1e-3
        settings.timestepRange = 300..<700
        settings.prompt = "a large red {token} {object}"
        let p = try CLiCLearning(model: model, image: image, mask: mask, token: "<x>", baseObject: "square",
                                 initializer: "striped", settings: settings)
        let draws = (0..<3).map { p.draws(step: 100 + $0) }
        func terms() throws -> [Double] {
            var sums = [0.0, 0.0, 0.0]
            for d in draws {
                let e = try p.evaluate(d)
                for (k, t) in [e.attention, e.context, e.roi].enumerated() { sums[k] += Double(try #require(t).item) }
            }
            return sums
        }
        let before = try terms()
        _ = try p.run(RunContext.detached)
        let after = try terms()
        #expect(p.index == 50 && p.trace.count == 50)
        for (k, name) in ["l_att", "l_con", "l_roi", "loss"].enumerated() {
            let series = try #require(p.trace.series(name))
            let (first, last) = (Self.mean(series[0..<5]), Self.mean(series[45..<50]))
            print("CLiC \(name): mean of steps 0–4 \(first), of steps 45–49 \(last)" + (k < 3 ? "; fixed draws \(before[k]) → \(after[k])" : ""))
            #expect(last < first, "\(name) did not decrease: \(first) → \(last)")
            if k < 3 { #expect(after[k] < before[k], "\(name) on fixed draws: \(before[k]) → \(after[k])") }
        }
    }

    /// `back` restores the state: the replayed step reports the same losses, bit for bit; the
    /// paper variant reports its three terms too.
    @Test func backReplaysAndPaperVariantSteps() throws {
        let (model, image, mask) = try Self.source()
        var settings = CLiCLearningSettings()
        settings.steps = 3
        let p = try CLiCLearning(model: model, image: image, mask: mask, token: "<x>", baseObject: "square", settings: settings)
        _ = try p.advance(2, RunContext.detached)
        let loss = p.state.loss
        try p.back(1)
        #expect(p.index == 1 && p.trace.count == 1)
        try p.advance(RunContext.detached)
        #expect(p.state.loss == loss)

        var paper = CLiCLearningSettings(variant: .paper)
        paper.steps = 1
        let q = try CLiCLearning(model: model, image: image, mask: mask, token: "<x>", baseObject: "square", settings: paper)
        #expect(q.parameterNames.allSatisfy { $0.hasSuffix("to_k.weight") || $0.hasSuffix("to_v.weight") })
        try q.advance(RunContext.detached)
        #expect([q.state.attentionLoss, q.state.contextLoss, q.state.roiLoss].allSatisfy { $0.isFinite && $0 > 0 })
    }
}
