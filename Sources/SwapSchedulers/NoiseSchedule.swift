import Foundation
import SwapTensor

/// The training noise schedule shared by every scheduler: β_t, α_t = 1 − β_t and
/// ᾱ_t = ∏α (`alphas_cumprod`), computed the way diffusers computes them in float32
/// (the `__init__` of `scheduling_ddim.py`, `scheduling_ddpm.py`, `scheduling_euler_discrete.py`).
///
/// Bit-level agreement with torch 2.13 (checked against `alphas_cumprod` fixtures):
/// * `torch.linspace` (float32, CPU) fills index i < n/2 as fma(step, i, start) and the rest as
///   fma(−step, n−1−i, end), with step = (end − start)/(n − 1) in float32;
/// * `torch.cumprod` on the CPU accumulates float32 inputs in **double** and rounds each prefix.
public struct NoiseSchedule: Sendable, Equatable {
    /// β_t for t = 0…T−1.
    public let betas: [Float]
    /// ᾱ_t for t = 0…T−1.
    public let alphasCumprod: [Float]

    /// Builds the schedule for `config` (`trained_betas` if given, else `beta_schedule`, then the
    /// optional zero-terminal-SNR rescale).
    public init(config: SchedulerConfig) {
        var betas: [Float]
        let n = config.numTrainTimesteps
        if let trained = config.trainedBetas {
            betas = trained
        } else {
            switch config.betaSchedule {
            case .linear:
                betas = Self.torchLinspace(config.betaStart, config.betaEnd, n)
            case .scaledLinear:
                betas = Self.torchLinspace(config.betaStart.squareRoot(), config.betaEnd.squareRoot(), n).map { $0 * $0 }
            case .squaredcosCapV2:
                betas = Self.cosineBetas(n)
            }
        }
        if config.rescaleBetasZeroSNR { betas = Self.rescaledToZeroTerminalSNR(betas) }
        self.betas = betas
        self.alphasCumprod = Self.cumulativeProduct(betas.map { 1 - $0 })
    }

    /// A schedule from explicit values (e.g. Euler's zero-SNR patch of the last ᾱ).
    public init(betas: [Float], alphasCumprod: [Float]) {
        self.betas = betas
        self.alphasCumprod = alphasCumprod
    }

    /// `torch.linspace(start, end, count, dtype=float32)` on the CPU, to the last bit.
    public static func torchLinspace(_ start: Double, _ end: Double, _ count: Int) -> [Float] {
        guard count > 1 else { return count == 1 ? [Float(start)] : [] }
        let a = Float(start), b = Float(end)
        let step = (b - a) / Float(count - 1)
        let half = count / 2
        return (0..<count).map { i in
            i < half ? a.addingProduct(step, Float(i)) : b.addingProduct(-step, Float(count - 1 - i))
        }
    }

    /// `torch.cumprod` of a float32 vector on the CPU: double accumulator, each prefix rounded.
    public static func cumulativeProduct(_ values: [Float]) -> [Float] {
        var acc = 1.0
        return values.map { acc *= Double($0); return Float(acc) }
    }

    /// `betas_for_alpha_bar(n)` with the cosine transform and max β 0.999 (computed in double).
    static func cosineBetas(_ n: Int) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<n).map { i in
            let t1 = Double(i) / Double(n), t2 = Double(i + 1) / Double(n)
            return Float(min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
        }
    }

    /// `rescale_zero_terminal_snr`: shifts and scales √ᾱ so that √ᾱ_{T−1} = 0 while √ᾱ₀ is kept,
    /// then converts back to βs (all in float32, in diffusers' operation order).
    static func rescaledToZeroTerminalSNR(_ betas: [Float]) -> [Float] {
        guard let _ = betas.first else { return betas }
        let sqrtBar = cumulativeProduct(betas.map { 1 - $0 }).map { $0.squareRoot() }
        let first = sqrtBar[0], last = sqrtBar[sqrtBar.count - 1]
        let scale = first / (first - last)
        let bar = sqrtBar.map { v -> Float in let s = (v - last) * scale; return s * s }
        var alphas = [bar[0]]
        for i in 1..<bar.count { alphas.append(bar[i] / bar[i - 1]) }
        return alphas.map { 1 - $0 }
    }

    /// ᾱ_t, or a `SchedulerError` when `t` lies outside 0…T−1.
    public func alphaCumprod(at t: Int) throws -> Float {
        guard t >= 0, t < alphasCumprod.count else {
            throw SchedulerError.invalidArgument("timestep \(t) is outside 0...\(alphasCumprod.count - 1)")
        }
        return alphasCumprod[t]
    }

    /// `add_noise` of DDIM/DDPM: √ᾱ_t·x₀ + √(1−ᾱ_t)·ε (float32, diffusers' order).
    public func addNoise(_ original: Tensor, noise: Tensor, timestep t: Int) throws -> Tensor {
        let abar = try alphaCumprod(at: t)
        try requireSameShape(original, noise, "addNoise")
        return try original * abar.squareRoot() + noise * (1 - abar).squareRoot()
    }
}

/// Throws when two tensors that a step combines elementwise differ in shape.
func requireSameShape(_ a: Tensor, _ b: Tensor, _ what: String) throws {
    guard a.shape == b.shape else {
        throw SchedulerError.invalidArgument(
            "\(what): shapes \(formatShape(a.shape)) and \(formatShape(b.shape)) differ")
    }
}
