import Foundation
import Testing
import SwapSchedulers
import SwapTensor

/// DDIM inversion followed by DDIM sampling with the same model outputs returns to the start
/// (the NTI / P2P convention: the model output for the inversion step *to* t is reused for the
/// sampling step *from* t). Swift-only property test, no fixture; the per-step inversion
/// formula itself is checked against diffusers in StepParityTests.
@Suite struct InversionTests {
    /// A fixed, timestep-dependent stand-in for the UNet: ε(t) from a seeded generator.
    static func epsilonTable(_ timesteps: [Int], shape: [Int]) -> [Int: Tensor] {
        let g = TorchGenerator(seed: 77)
        var table: [Int: Tensor] = [:]
        for t in timesteps.sorted() { table[t] = g.randn(shape) }
        return table
    }

    static func roundTrip(config: SchedulerConfig, steps: Int) throws -> (error: Float, scale: Float, zT: Tensor) {
        let ddim = try DDIMScheduler(config: config, steps: steps)
        let shape = [1, 4, 8, 8]
        let z0 = Tensor.randn(shape, seed: 5)
        let eps = epsilonTable(ddim.integerTimesteps, shape: shape)
        var z = z0
        for t in ddim.inversionTimesteps {
            z = try ddim.invertStep(try #require(eps[t]), timestep: t, sample: z).previous
        }
        let zT = z
        for (i, t) in ddim.integerTimesteps.enumerated() {
            z = try ddim.step(try #require(eps[t]), stepIndex: i, sample: z, noise: .none).previous
        }
        let err = zip(z.scalars, z0.scalars).map { abs($0 - $1) }.max() ?? .infinity
        let scale = z0.scalars.map(abs).max() ?? 0
        return (err, scale, zT)
    }

    @Test func sd15LeadingFiftyStepsRoundTrip() throws {
        // Measured: max |z₀' − z₀| 5.4e-6 on |z₀| ≤ 2.9 after 50 + 50 steps (offset-1 grid, ᾱ_final = ᾱ₀).
        let (err, scale, zT) = try Self.roundTrip(config: .stableDiffusion(.ddim), steps: 50)
        print("DDIM inversion round trip (SD1.5, 50 steps): max error \(err), max |z0| \(scale)")
        #expect(err <= 2e-5, "round trip error \(err) on scale \(scale)")
        // Inversion really moved the latent to the noisy end (not the identity).
        let moved = zip(zT.scalars, Tensor.randn([1, 4, 8, 8], seed: 5).scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(moved > 0.5)
    }

    /// ε- and x₀-prediction round-trip; v-prediction does not with a *reused* output, because v
    /// depends on the latent it was evaluated on (measured: 0.3 max error), so it is not tested.
    @Test func trailingAndSamplePredictionRoundTrip() throws {
        var trailing = SchedulerConfig.stableDiffusion(.ddim)
        trailing.timestepSpacing = .trailing
        let a = try Self.roundTrip(config: trailing, steps: 10)
        #expect(a.error <= 1e-5, "trailing round trip error \(a.error)")
        var x0 = SchedulerConfig.stableDiffusion(.ddim)
        x0.predictionType = .sample
        let b = try Self.roundTrip(config: x0, steps: 25)
        #expect(b.error <= 1e-5, "x0-prediction round trip error \(b.error)")
    }

    @Test func singleStepInvertsExactlyInExactArithmetic() throws {
        // One inversion step to t then one sampling step from t: max error a few ulp.
        let ddim = try DDIMScheduler(config: .stableDiffusion(.ddim), steps: 50)
        let x = Tensor.randn([1, 4, 4, 4], seed: 8)
        let e = Tensor.randn([1, 4, 4, 4], seed: 9)
        let up = try ddim.invertStep(e, timestep: 501, sample: x)
        let down = try ddim.step(e, timestep: 501, sample: up.previous)
        let err = zip(down.previous.scalars, x.scalars).map { abs($0 - $1) }.max() ?? .infinity
        #expect(err <= 2e-6)
        // Same x̂₀ both ways.
        let x0err = zip(down.predictedOriginal.scalars, up.predictedOriginal.scalars).map { abs($0 - $1) }.max() ?? .infinity
        #expect(x0err <= 2e-6)
    }

    @Test func offsetZeroFirstInversionStepIsNearlyIdentity() throws {
        // The spec's pitfall: with steps_offset 0 the first inversion step goes ᾱ₀ → ᾱ₀.
        var config = SchedulerConfig.stableDiffusion(.ddim)
        config.stepsOffset = 0
        let ddim = try DDIMScheduler(config: config, steps: 50)
        #expect(ddim.inversionTimesteps.first == 0)
        let x = Tensor.randn([1, 4, 4, 4], seed: 10)
        let out = try ddim.invertStep(Tensor.randn([1, 4, 4, 4], seed: 11), timestep: 0, sample: x)
        let err = zip(out.previous.scalars, x.scalars).map { abs($0 - $1) }.max() ?? .infinity
        #expect(err <= 1e-6)
    }
}
