import Testing
@testable import SwapEditing
import SwapTensor

/// SSGU's anchor schedule, the timestep draws and the surrogate-loss step (spec §0, §4.4).
struct SSGUScheduleTests {
    @Test func anchorsEveryKIterations() throws {
        let s = try DistillationSchedule(iterations: 100, low: 50, high: 950, sampling: .uniform, ssgu: 5, seed: 0)
        #expect(s.anchors.count == 20)
        #expect(s.anchors == Array(stride(from: 0, to: 100, by: 5)))
        #expect(s.anchorCount(upTo: 100) == 20 && s.anchorCount(upTo: 101) == 21 && s.anchorCount(upTo: 0) == 0)
        #expect(s.anchor(of: 7) == 5 && s.isAnchor(10) && !s.isAnchor(11))
        let official = try DistillationSchedule(iterations: 550, low: 100, high: 900, sampling: .sortedDescending, ssgu: 5, seed: 42)
        #expect(official.anchors.count == 110)
    }

    /// `torch.manual_seed(42); torch.randint(100, 900, (5,))` = [842, 567, 576, 114, 526]
    /// (torch 2.13.0+cpu); InstantSwap sorts them high to low.
    @Test func timestepsMatchTorchRandint() throws {
        let iid = try DistillationSchedule(iterations: 5, low: 100, high: 900, sampling: .uniform, ssgu: 1, seed: 42)
        #expect(iid.timesteps == [842, 567, 576, 114, 526])
        let sorted = try DistillationSchedule(iterations: 5, low: 100, high: 900, sampling: .sortedDescending, ssgu: 1, seed: 42)
        #expect(sorted.timesteps == [842, 576, 567, 526, 114])
        #expect(throws: (any Error).self) { try DistillationSchedule(iterations: 5, low: 900, high: 100, sampling: .uniform, ssgu: 1, seed: 0) }
        #expect(throws: (any Error).self) { try DistillationSchedule(iterations: 5, low: 0, high: 10, sampling: .uniform, ssgu: 0, seed: 0) }
    }

    @Test func effectiveStepFollowsTheFormula() {
        let sgd = SurrogateSGD()
        #expect(sgd.effectiveStep(height: 64, width: 64) == 0.048828125)
        #expect(sgd.effectiveStep(height: 16, width: 16) == 0.78125)
        #expect(SurrogateSGD(learningRate: 0.2, lossScale: 1000).effectiveStep(height: 32, width: 64) == Float(0.2 * 1000.0 / 2048.0))
    }

    /// With plain SGD and a linear surrogate, k reuses of g equal one step of k·η_eff (to float
    /// rounding: relative 1e-6 of the step).
    @Test func kReusesEqualOneKTimesStep() throws {
        var rng = PhiloxGenerator(seed: 3)
        let z0 = rng.randn([1, 4, 8, 8]), g = rng.randn([1, 4, 8, 8])
        let sgd = SurrogateSGD()
        var z = z0
        for _ in 0..<5 { z = try sgd.update(z, gradient: g) }
        var once = z0
        once.addScaled(g, -5 * sgd.effectiveStep(height: 8, width: 8))
        let err = zip(z.scalars, once.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(err < 1e-5, "max |5 steps − one 5x step| = \(err)")
    }
}
