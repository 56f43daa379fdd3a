import Foundation
import SwapTensor

// BARET's Progressive Transition Scheme (§PTS, equation 3 as reconstructed in
// shared/spec/baret-p2p-nulltext-masactrl.md §8.2): ê_i = λ_i·C_i + (1 − λ_i)·e_tgt with λ going
// from λ_start (close to the reconstruction) to λ_end (close to the target) over the run; and,
// as the alternative the paper compares against, Imagic's interpolation (Kawar et al. 2023,
// §3 stage C): ē = η·e_tgt + (1 − η)·e_opt with one η for every step (η weights the target,
// the opposite polarity of λ).

/// How λ moves between its end points over the steps [I: the paper gives the end points only].
public enum TransitionCurve: String, Sendable, CaseIterable {
    /// λ_i = λ_s + (λ_e − λ_s)·i/(N − 1).
    case linear
    /// λ_i = λ_s + (λ_e − λ_s)·(1 − cos(π·i/(N − 1)))/2.
    case cosine
}

/// How the transition embedding of a step is formed.
public enum TransitionInterpolation: Equatable, Sendable {
    /// BARET: ê_i = λ_i·C_i + (1 − λ_i)·e_tgt with the per-step tuned C_i.
    case baret
    /// Imagic: ē = η·e_tgt + (1 − η)·e_opt for every step, with one optimised embedding e_opt
    /// (``ImagicEmbeddingOptimization``, or the last C_i when none is given).
    case imagic(eta: Float)
}

/// The λ schedule and interpolation of the transition branch (defaults: λ 0.8 → 0.1, linear,
/// BARET's interpolation).
public struct TransitionSchedule: Equatable, Sendable {
    public var start: Float = 0.8
    public var end: Float = 0.1
    public var curve: TransitionCurve = .linear
    public var interpolation: TransitionInterpolation = .baret

    public init(start: Float = 0.8, end: Float = 0.1, curve: TransitionCurve = .linear, interpolation: TransitionInterpolation = .baret) {
        self.start = start
        self.end = end
        self.curve = curve
        self.interpolation = interpolation
    }

    /// λ ≡ 1: the transition branch is the reconstruction (the paper's rigid-edit setting).
    public static let rigid = TransitionSchedule(start: 1, end: 1)

    /// λ at step `i` of `steps`.
    public func lambda(step i: Int, of steps: Int) -> Float {
        guard steps > 1 else { return start }
        let u = Float(min(max(i, 0), steps - 1)) / Float(steps - 1)
        let f = curve == .linear ? u : (1 - cos(Float.pi * u)) / 2
        return start + (end - start) * f
    }

    /// The transition embedding of step `i` from the tuned embeddings, e_tgt and (Imagic) e_opt.
    public func embedding(step i: Int, tuned: [Tensor], target: Tensor, optimized: Tensor?) throws -> Tensor {
        guard i >= 0, i < tuned.count else { throw EditingError("transition: step \(i) is outside the \(tuned.count) tuned embeddings") }
        switch interpolation {
        case .baret:
            let l = lambda(step: i, of: tuned.count)
            // Exact at the ends: λ = 1 gives C_i and λ = 0 gives e_tgt bit for bit.
            if l == 1 { return tuned[i] }
            if l == 0 { return target }
            return try tuned[i] * l + target * (1 - l)
        case .imagic(let eta):
            let e = optimized ?? tuned[tuned.count - 1]
            return try target * eta + e * (1 - eta)
        }
    }

    /// Checks the end points (finite; λ in [0, 1] is the paper's range but extrapolation is allowed).
    public func validate(_ op: String) throws {
        guard start.isFinite, end.isFinite else { throw EditingError("\(op): lambda must be finite, got \(start)..\(end)") }
        if case .imagic(let eta) = interpolation, !eta.isFinite { throw EditingError("\(op): eta must be finite") }
    }
}
