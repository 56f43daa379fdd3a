import Foundation
import Testing
import SwapSchedulers
import SwapTensor

/// βs, ᾱs, timestep lists and Euler σs against diffusers (fixtures from
/// tools/reference/make_scheduler_fixtures.py).
///
/// Timesteps and the linear / scaled_linear / cosine schedules are compared **exactly**.
/// Anything that goes through torch's float32 `sqrt` (`** 0.5`) is compared to 1 ulp: torch
/// 2.13's CPU sqrt is not correctly rounded (measured: 6 of the 1000 SD σ-table entries are
/// 1 ulp below IEEE sqrt, in the AVX512, AVX2 and default kernels alike), while Swift's
/// `squareRoot()` is IEEE. That touches the Euler σ table and the zero-terminal-SNR rescale.
@Suite struct ScheduleTests {
    @Test func betasAndAlphasCumprodAreBitExact() throws {
        let m = try SchedulerFixtures.load()
        #expect(m.schedules.count == 4)
        for s in m.schedules where s.name != "sd15_zero_snr" {
            let config = try SchedulerFixtures.config(s.config, kind: "ddim", source: s.name)
            let schedule = NoiseSchedule(config: config)
            let betas = try SchedulerFixtures.tensor("schedule.\(s.name).betas")
            let abar = try SchedulerFixtures.tensor("schedule.\(s.name).alphas_cumprod")
            let betaErrors = bitMismatches(schedule.betas, betas.scalars)
            let abarErrors = bitMismatches(schedule.alphasCumprod, abar.scalars)
            #expect(betaErrors.isEmpty, "betas of \(s.name): \(betaErrors)")
            #expect(abarErrors.isEmpty, "alphas_cumprod of \(s.name): \(abarErrors)")
        }
    }

    @Test func zeroTerminalSNRScheduleWithinSqrtRounding() throws {
        let m = try SchedulerFixtures.load()
        let entry = try #require(m.schedules.first { $0.name == "sd15_zero_snr" })
        let schedule = NoiseSchedule(config: try SchedulerFixtures.config(entry.config, kind: "ddim", source: entry.name))
        let abar = try SchedulerFixtures.tensor("schedule.sd15_zero_snr.alphas_cumprod").scalars
        let betas = try SchedulerFixtures.tensor("schedule.sd15_zero_snr.betas").scalars
        #expect(schedule.alphasCumprod.last == 0 && abar.last == 0)
        // Measured: ᾱ max relative error 1.6e-7, β max |Δ| 1.8e-7 (β = 1 − ratio of nearly equal ᾱs).
        let abarRel = zip(schedule.alphasCumprod, abar).map { abs($0 - $1) / max($1, 1e-6) }.max() ?? .infinity
        let betaAbs = zip(schedule.betas, betas).map { abs($0 - $1) }.max() ?? .infinity
        #expect(abarRel <= 5e-7, "zero-SNR alphas_cumprod max relative error \(abarRel)")
        #expect(betaAbs <= 5e-7, "zero-SNR betas max |error| \(betaAbs)")
    }

    @Test func torchLinspaceFillOrder() {
        // Endpoints are exact and the midpoint comes from the backward half (n = 4: 2 from the end).
        let v = NoiseSchedule.torchLinspace(0.1, 0.7, 4)
        #expect(v.first == Float(0.1) && v.last == Float(0.7))
        let step = (Float(0.7) - Float(0.1)) / 3
        #expect(v[2] == Float(0.7).addingProduct(-step, 1))
    }

    @Test func timestepListsAreExact() throws {
        let m = try SchedulerFixtures.load()
        #expect(m.timestep_lists.count > 100)
        var checked = 0, sigmaMismatches = 0, sigmaCount = 0
        for entry in m.timestep_lists {
            let what = "\(entry.kind) \(entry.config) steps \(entry.steps)"
            let config = try SchedulerFixtures.config(entry.config, kind: entry.kind, source: what)
            let expected = entry.timesteps.map { Float($0) }
            switch entry.kind {
            case "ddim":
                #expect(try DDIMScheduler(config: config, steps: entry.steps).timesteps == expected, "\(what)")
            case "ddpm":
                #expect(try DDPMScheduler(config: config, steps: entry.steps).timesteps == expected, "\(what)")
            case "ddim_inverse":
                let s = try DDIMScheduler(config: config, steps: entry.steps)
                #expect(s.inversionTimesteps.map(Float.init) == expected, "\(what)")
            default:
                let s = try EulerDiscreteScheduler(config: config, steps: entry.steps)
                #expect(s.timesteps == expected, "\(what)")
                let sigmas = (entry.sigmas ?? []).map { Float($0) }
                let ulps = maxULPDistance(s.sigmas, sigmas)
                #expect(ulps <= 1, "sigmas of \(what): \(bitMismatches(s.sigmas, sigmas))")
                sigmaMismatches += s.sigmas.indices.filter { s.sigmas[$0] != sigmas[$0] }.count
                sigmaCount += sigmas.count
                let ins = Float(entry.init_noise_sigma ?? .nan)
                #expect(maxULPDistance([s.initNoiseSigma], [ins]) <= 1, "init_noise_sigma of \(what): \(s.initNoiseSigma) vs \(ins)")
            }
            checked += 1
        }
        #expect(checked == m.timestep_lists.count)
        // Exact σ for at least 99% of entries (the rest are torch's 1-ulp sqrt misroundings).
        #expect(sigmaCount > 1000 && sigmaMismatches * 100 <= sigmaCount, "\(sigmaMismatches) of \(sigmaCount) sigmas differ")
    }

    @Test func sd15LeadingGridAndPreviousTimestep() throws {
        let s = try DDIMScheduler(config: .stableDiffusion(.ddim), steps: 50)
        #expect(s.timesteps.first == 981 && s.timesteps.last == 1)
        // prev ignores steps_offset: 1 − 20 < 0 uses ᾱ₀ (set_alpha_to_one false).
        #expect(s.previousTimestep(1) == -19)
        #expect(s.finalAlphaCumprod == s.schedule.alphasCumprod[0])
        #expect(s.inversionTimesteps.first == 1 && s.inversionTimesteps.last == 981)
    }

    @Test func invalidStepCountsAreErrors() throws {
        #expect(throws: SchedulerError.self) { try DDIMScheduler(config: .stableDiffusion(.ddim), steps: 0) }
        #expect(throws: SchedulerError.self) { try DDPMScheduler(config: .stableDiffusion(.ddpm), steps: 1001) }
        var linspace = SchedulerConfig.stableDiffusion(.ddim)
        linspace.timestepSpacing = .linspace
        #expect(throws: SchedulerError.self) { try Timesteps.inversion(steps: 10, config: linspace) }
    }
}
