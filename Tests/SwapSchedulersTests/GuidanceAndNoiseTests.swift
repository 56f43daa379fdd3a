import Foundation
import Testing
import SwapSchedulers
import SwapTensor

/// Classifier-free guidance, guidance rescale and `add_noise` against diffusers (fixtures from
/// tools/reference/make_scheduler_fixtures.py). Measured: CFG and add_noise bit-exact; the
/// rescale within 4.8e-7 (torch's std reduction order differs from SwapTensor's).
@Suite struct GuidanceAndNoiseTests {
    @Test func guidanceMatchesPipeline() throws {
        let m = try SchedulerFixtures.load()
        let uncond = try SchedulerFixtures.tensor("guidance.uncond")
        let cond = try SchedulerFixtures.tensor("guidance.cond")
        let guided = try ClassifierFreeGuidance.combine(uncond: uncond, cond: cond, scale: Float(m.guidance.scale))
        let expected = try SchedulerFixtures.tensor("guidance.guided")
        #expect(bits(guided) == bits(expected), "CFG: \(Deviation.of(guided, expected))")
        let rescaled = try ClassifierFreeGuidance.rescale(guided, cond: cond, rescale: Float(m.guidance.rescale))
        let expectedRescaled = try SchedulerFixtures.tensor("guidance.rescaled")
        let d = Deviation.of(rescaled, expectedRescaled)
        print("guidance rescale: \(d)")
        #expect(d.maxAbs <= 2e-6, "rescale: \(d)")
        // The batched helper gives the same as split + combine + rescale.
        let batched = try Tensor.concat([uncond, cond], axis: 0)
        let viaGuide = try ClassifierFreeGuidance.guide(batched, scale: Float(m.guidance.scale), rescale: Float(m.guidance.rescale))
        #expect(bits(viaGuide) == bits(rescaled))
        #expect(throws: SchedulerError.self) { try ClassifierFreeGuidance.split(Tensor(zeros: [3, 4])) }
    }

    @Test func addNoiseMatchesDiffusers() throws {
        let m = try SchedulerFixtures.load()
        #expect(m.add_noise.count == 5)
        for c in m.add_noise {
            let config = try SchedulerFixtures.config(c.config, kind: c.kind, source: c.name)
            let scheduler: any Scheduler
            switch c.kind {
            case "ddpm": scheduler = try DDPMScheduler(config: config, steps: c.steps)
            case "euler_discrete": scheduler = try EulerDiscreteScheduler(config: config, steps: c.steps)
            default: scheduler = try DDIMScheduler(config: config, steps: c.steps)
            }
            let original = try SchedulerFixtures.tensor("add_noise.\(c.name).original")
            let noise = try SchedulerFixtures.tensor("add_noise.\(c.name).noise")
            let expected = try SchedulerFixtures.tensor("add_noise.\(c.name).noisy")
            let noisy = try scheduler.addNoise(original, noise: noise, timestep: Float(c.timestep))
            #expect(bits(noisy) == bits(expected), "\(c.name): \(Deviation.of(noisy, expected))")
        }
        // Euler can only noise to one of its own timesteps.
        let euler = try EulerDiscreteScheduler(config: .stableDiffusion(.eulerDiscrete), steps: 10)
        let x = Tensor(zeros: [1, 4, 2, 2])
        #expect(throws: SchedulerError.self) { try euler.addNoise(x, noise: x, timestep: 500) }
        let ddim = try DDIMScheduler(config: .stableDiffusion(.ddim), steps: 10)
        #expect(throws: SchedulerError.self) { try ddim.addNoise(x, noise: x, timestep: 1000) }
        #expect(throws: SchedulerError.self) { try ddim.addNoise(x, noise: x, timestep: 10.5) }
    }

    @Test func guidanceIsDifferentiableThroughAStep() throws {
        // Null-text inversion differentiates a DDIM step w.r.t. the unconditional branch:
        // d(prev)/d(uncond) = (1 − s)·d(prev)/d(ε) = (1 − s)·(√(1−ᾱ_prev) − √ᾱ_prev·√(1−ᾱ_t)/√ᾱ_t).
        let ddim = try DDIMScheduler(config: .stableDiffusion(.ddim), steps: 50)
        let sample = Tensor.randn([1, 4, 2, 2], seed: 1)
        let cond = Tensor.randn([1, 4, 2, 2], seed: 2)
        let uncond = Tensor.randn([1, 4, 2, 2], seed: 3).requiringGrad()
        let eps = try ClassifierFreeGuidance.combine(uncond: uncond, cond: cond, scale: 7.5)
        let loss = try ddim.step(eps, stepIndex: 10, sample: sample, noise: .none).previous.sum()
        let gradient = loss.gradient(with: [uncond])[0]
        let t = ddim.integerTimesteps[10]
        let at = Double(ddim.schedule.alphasCumprod[t]), ap = Double(ddim.schedule.alphasCumprod[t - 20])
        let expected = Float((1 - 7.5) * ((1 - ap).squareRoot() - ap.squareRoot() * (1 - at).squareRoot() / at.squareRoot()))
        #expect(gradient.count == 16)
        for g in gradient.scalars { #expect(abs(g - expected) <= 1e-4 * abs(expected)) }
    }
}
