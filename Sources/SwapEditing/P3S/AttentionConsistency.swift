import SwapTensor

// P3S-Diffusion's attention consistency loss (paper §III-C eqs 11–13; spec §4.3):
//   L_ac = MSE(M_c, M_o) / avg,   avg = (Sum(M_c) + Sum(M_o)) / 2,
// between the cross-attention maps of the trainable copy and of the original UNet (the paper
// uses the last cross-attention layer only). When M are full softmax rows, avg is a constant
// (rows·heads) and L_ac is a rescaled MSE; on maps sliced to some tokens avg varies (spec
// pitfall), so normalisation `.none` (plain MSE) is offered too.

/// The attention consistency loss.
public enum AttentionConsistency {
    public enum Normalization: String, Sendable, CaseIterable {
        /// MSE / avg, avg = (Sum(M_c) + Sum(M_o)) / 2 (eq 12).
        case paper
        /// The plain MSE.
        case none
    }

    /// L_ac of two same-shaped maps, a scalar tensor; differentiable with respect to both.
    public static func loss(_ a: Tensor, _ b: Tensor, normalization: Normalization = .paper) throws -> Tensor {
        guard a.shape == b.shape, a.count > 0 else {
            throw EditingError("attention_consistency: the maps have shapes \(formatShape(a.shape)) and \(formatShape(b.shape)); they must match and be non-empty")
        }
        let mse = try (a - b).squared().mean()
        guard normalization == .paper else { return mse }
        let avg = try (a.sum() + b.sum()) * 0.5
        guard let value = avg.scalars.first, value.isFinite, value != 0 else {
            throw EditingError("attention_consistency: the maps sum to zero (or a non-finite value), so avg = (Sum(M_c) + Sum(M_o))/2 cannot divide; use normalization \"none\"")
        }
        return try mse / avg
    }
}
