import SwapTensor

// The iteration schedule of score-distillation editing: which timestep each iteration draws,
// which iterations call the UNet (SSGU anchors), and the step size of the surrogate-loss SGD.
// Matches google/prompt-to-prompt DDS_zeroshot.ipynb (t ~ randint(50, 950) i.i.d., SGD lr 0.1 on
// 2000·Σ(z⊙g)/(h·w)) and chenyangzhu1/InstantSwap InstantSwap.py (randint(100, 900) sorted
// descending, anchors at i mod k == 0); see spec §0, §2, §4.4.

/// How the timesteps of an optimisation are drawn.
public enum TimestepSampling: String, Sendable, Equatable, CaseIterable {
    /// One draw per iteration, independent (DDS/SDS/CDS official code).
    case uniform
    /// All draws made up front and sorted from high to low (InstantSwap).
    case sortedDescending = "sorted"
}

/// The per-iteration timesteps and anchors of a score-distillation run.
public struct DistillationSchedule: Sendable, Equatable {
    /// The timestep drawn for iteration i (used only at anchors when SSGU is on).
    public let timesteps: [Int]
    /// SSGU factor k (1 = a fresh gradient every iteration).
    public let ssgu: Int

    /// Draws `iterations` timesteps in `low..<high` with a torch-compatible generator seeded
    /// with `seed`: `torch.manual_seed(seed); torch.randint(low, high, (n,))`, sorted
    /// descending for `.sortedDescending`.
    public init(iterations: Int, low: Int, high: Int, sampling: TimestepSampling, ssgu: Int, seed: UInt64) throws {
        guard iterations >= 0 else { throw EditingError("schedule: iterations must be ≥ 0, got \(iterations)") }
        guard low >= 0, low < high, high <= 1000 else {
            throw EditingError("schedule: timestep range \(low)..<\(high) must be a non-empty part of 0..<1000")
        }
        guard ssgu >= 1 else { throw EditingError("schedule: ssgu must be ≥ 1, got \(ssgu)") }
        var drawn = iterations == 0 ? [] : TorchGenerator(seed: seed).randint(low, high, [iterations])
        if sampling == .sortedDescending { drawn.sort(by: >) }
        timesteps = drawn
        self.ssgu = ssgu
    }

    /// A schedule from explicit timesteps (tests, replays).
    public init(timesteps: [Int], ssgu: Int = 1) throws {
        guard ssgu >= 1 else { throw EditingError("schedule: ssgu must be ≥ 1, got \(ssgu)") }
        guard timesteps.allSatisfy({ $0 >= 0 && $0 < 1000 }) else {
            throw EditingError("schedule: timesteps must lie in 0..<1000")
        }
        self.timesteps = timesteps
        self.ssgu = ssgu
    }

    public var iterations: Int { timesteps.count }

    /// Whether iteration `i` computes a fresh gradient (InstantSwap.py: `i % k == 0`).
    public func isAnchor(_ i: Int) -> Bool { i % ssgu == 0 }

    /// The anchor whose gradient iteration `i` uses.
    public func anchor(of i: Int) -> Int { i - i % ssgu }

    /// Number of anchors among the first `n` iterations: ⌈n / k⌉.
    public func anchorCount(upTo n: Int) -> Int { n <= 0 ? 0 : (n + ssgu - 1) / ssgu }

    /// The anchor iterations of the whole run.
    public var anchors: [Int] { Array(stride(from: 0, to: iterations, by: ssgu)) }
}

/// The update of the surrogate-loss trick (spec §0): the official code minimises
/// `L = lossScale · Σ(z ⊙ sg(g)) / (h·w)` with plain SGD (no momentum, no weight decay), so one
/// iteration is `z ← z − η_eff·g` with `η_eff = lr · lossScale / (h·w)` (0.048828125 for
/// 64×64 latents with the defaults lr = 0.1, lossScale = 2000).
public struct SurrogateSGD: Sendable, Equatable {
    public var learningRate: Float
    public var lossScale: Float

    public init(learningRate: Float = 0.1, lossScale: Float = 2000) {
        self.learningRate = learningRate
        self.lossScale = lossScale
    }

    /// η_eff for a latent of `height`×`width` cells.
    public func effectiveStep(height: Int, width: Int) -> Float {
        learningRate * lossScale / Float(height * width)
    }

    /// `z − η_eff·g` for a latent [B, C, h, w]: the same float operations as
    /// `torch.optim.SGD.step` after `(lossScale·Σ(z⊙g)/(h·w)).backward()`: the gradient
    /// `g·(lossScale/(h·w))` is formed first, then scaled by −lr and added.
    public func update(_ latent: Tensor, gradient: Tensor) throws -> Tensor {
        guard latent.rank == 4, latent.shape == gradient.shape else {
            throw EditingError("distillation step: latent \(formatShape(latent.shape)) and gradient \(formatShape(gradient.shape)) must be equal [B, C, h, w]")
        }
        let parameterGradient = gradient * (lossScale / Float(latent.shape[2] * latent.shape[3]))
        var result = latent
        result.addScaled(parameterGradient, -learningRate)
        return result
    }
}
