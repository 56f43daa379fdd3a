import Foundation
import Testing
import SwapSchedulers
import SwapTensor

/// Per-step outputs of DDIM, DDPM, Euler and DDIM inversion against diffusers' `step` on fixed
/// random model outputs and samples (fixtures from tools/reference/make_scheduler_fixtures.py,
/// shape [2,4,4,4], SD1.5 / SD2-v / class-default configs, 10 and 50 steps).
///
/// Tolerance: |Δ| ≤ 1e-6 + 2e-6·|ref| elementwise, and max|Δ|/max|ref| < 1e-6 per tensor.
/// Measured (x86_64, fixtures from torch 2.13 AVX512): 15 of the 19 cases are **bit-exact**
/// (every DDIM ε/v/x₀ case with η 0, 0.5 and 1, DDPM fixed_small / fixed_small_log /
/// fixed_large, Euler linspace / trailing-v / churn, all three inversion cases). The other four
/// are within 4.8e-7 absolute, 1.4e-7 relative to the tensor's scale: DDIM linspace and
/// zero-SNR, DDPM learned_range (Swift's exp/log vs torch's SLEEF) and Euler leading (one σ
/// off by torch's 1-ulp sqrt rounding). Noise drawn from `TorchGenerator` is bit-identical.
@Suite struct StepParityTests {
    static let atol: Float = 1e-6
    static let rtol: Float = 2e-6

    /// Largest violation of |a − e| ≤ atol + rtol·|e| (≤ 0: within tolerance).
    static func violation(_ a: Tensor, _ e: Tensor) -> Float {
        guard a.shape == e.shape else { return .infinity }
        var worst = -Float.infinity
        for (x, y) in zip(a.scalars, e.scalars) {
            let d = abs(x - y)
            if d.isNaN { return .infinity }
            worst = max(worst, d - (atol + rtol * abs(y)))
        }
        return worst
    }

    static func scheduler(for c: SchedulerFixtures.Manifest.StepCase) throws -> any Scheduler {
        let config = try SchedulerFixtures.config(c.config, kind: c.kind, source: c.name)
        switch c.kind {
        case "ddpm": return try DDPMScheduler(config: config, steps: c.steps)
        case "euler_discrete":
            var s = try EulerDiscreteScheduler(config: config, steps: c.steps)
            s.sChurn = Float(c.s_churn)
            return s
        default: return try DDIMScheduler(config: config, steps: c.steps, eta: Float(c.eta))
        }
    }

    @Test func everyStepCaseMatchesDiffusers() throws {
        let m = try SchedulerFixtures.load()
        #expect(m.step_cases.count == 19)
        var worstRel: Float = 0
        var report: [String] = []
        for c in m.step_cases {
            let scheduler = try Self.scheduler(for: c)
            let generator = c.seed.map { TorchGenerator(seed: $0) }
            let noise: VarianceNoise = generator.map { .generator($0) } ?? .none
            if c.kind == "ddim_inverse" {
                let ddim = try #require(scheduler as? DDIMScheduler)
                #expect(ddim.inversionTimesteps.map(Float.init) == c.timesteps.map(Float.init), "\(c.name) timesteps")
            } else {
                #expect(scheduler.timesteps == c.timesteps.map(Float.init), "\(c.name) timesteps")
            }
            if let ins = c.init_noise_sigma {
                #expect(abs(scheduler.initNoiseSigma - Float(ins)) <= 2e-7 * Float(ins), "\(c.name) init_noise_sigma")
            }
            var dev = Deviation()
            for i in c.indices {
                let p = "\(c.name).i\(i)"
                let sample = try SchedulerFixtures.tensor(p + ".sample")
                let modelOutput = try SchedulerFixtures.tensor(p + ".model_output")
                let out: SchedulerStepOutput
                if c.kind == "ddim_inverse" {
                    let ddim = try #require(scheduler as? DDIMScheduler)
                    out = try ddim.invertStep(modelOutput, inversionIndex: i, sample: sample)
                } else {
                    out = try scheduler.step(modelOutput, stepIndex: i, sample: sample, noise: noise)
                }
                let prev = try SchedulerFixtures.tensor(p + ".prev")
                let x0 = try SchedulerFixtures.tensor(p + ".x0")
                #expect(Self.violation(out.previous, prev) <= 0, "\(p) previous: \(Deviation.of(out.previous, prev))")
                #expect(Self.violation(out.predictedOriginal, x0) <= 0, "\(p) x0: \(Deviation.of(out.predictedOriginal, x0))")
                dev.add(out.previous, prev)
                dev.add(out.predictedOriginal, x0)
                if let expectedNoise = SchedulerFixtures.tensors[p + ".noise"] {
                    // The generator's draw must be bit-identical to torch's.
                    let drawn = try #require(out.noise, "\(p) drew no noise")
                    #expect(bits(drawn) == bits(expectedNoise), "\(p) noise differs from torch's generator")
                } else {
                    #expect(out.noise == nil, "\(p) drew noise where diffusers did not")
                }
                if let scaled = SchedulerFixtures.tensors[p + ".scaled"] {
                    let mine = try scheduler.scaleModelInput(sample, stepIndex: i)
                    #expect(Self.violation(mine, scaled) <= 0, "\(p) scaled input: \(Deviation.of(mine, scaled))")
                    dev.add(mine, scaled)
                }
            }
            if let sigmas = SchedulerFixtures.tensors["\(c.name).sigmas"], let euler = scheduler as? EulerDiscreteScheduler {
                #expect(maxULPDistance(euler.sigmas, sigmas.scalars) <= 1, "\(c.name) sigmas")
            }
            worstRel = max(worstRel, dev.maxRel)
            report.append("\(c.name): \(dev)")
        }
        print("StepParityTests measured:\n  " + report.joined(separator: "\n  ") + "\n  worst relative \(worstRel)")
        #expect(worstRel < 1e-6)
    }

    @Test func stochasticStepsNeedNoise() throws {
        let ddim = try DDIMScheduler(config: .stableDiffusion(.ddim), steps: 10, eta: 0.5)
        let x = Tensor(zeros: [1, 4, 2, 2])
        #expect(throws: SchedulerError.self) { try ddim.step(x, stepIndex: 0, sample: x, noise: .none) }
        let ddpm = try DDPMScheduler(config: .stableDiffusion(.ddpm), steps: 10)
        #expect(throws: SchedulerError.self) { try ddpm.step(x, stepIndex: 0, sample: x, noise: .none) }
        // The last DDPM step (t = 1 → −1) has t > 0 and still draws; wrong-shaped noise is an error.
        #expect(throws: SchedulerError.self) {
            try ddpm.step(x, stepIndex: 9, sample: x, noise: .tensor(Tensor(zeros: [1, 4, 2, 3])))
        }
        #expect(throws: SchedulerError.self) { try ddim.step(x, stepIndex: 10, sample: x, noise: .none) }
    }

    @Test func explicitNoiseReplaysAGeneratorStep() throws {
        // Snapshot/replay: stepping with the recorded noise reproduces the generator step exactly.
        let ddim = try DDIMScheduler(config: .stableDiffusion(.ddim), steps: 10, eta: 0.5)
        let sample = Tensor.randn([1, 4, 4, 4], seed: 1)
        let eps = Tensor.randn([1, 4, 4, 4], seed: 2)
        let first = try ddim.step(eps, stepIndex: 3, sample: sample, noise: .generator(TorchGenerator(seed: 3)))
        let noise = try #require(first.noise)
        let replay = try ddim.step(eps, stepIndex: 3, sample: sample, noise: .tensor(noise))
        #expect(bits(replay.previous) == bits(first.previous))
        let deterministic = try ddim.step(eps, stepIndex: 3, sample: sample, noise: .tensor(noise * 0))
        #expect(bits(deterministic.previous) != bits(first.previous))
    }
}
