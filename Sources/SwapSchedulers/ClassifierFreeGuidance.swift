import SwapTensor

// Matches diffusers src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion.py (CFG in __call__, rescale_noise_cfg).

/// Classifier-free guidance (Ho & Salimans 2022) and the guidance rescale of Lin et al. 2023.
///
/// The pipeline batches the UNet input as **[uncond; cond]** along axis 0; ``split(_:)`` undoes
/// that. All functions are recorded `Tensor` ops, so gradients reach both branches.
public enum ClassifierFreeGuidance {
    /// ε = ε_u + s·(ε_c − ε_u). diffusers applies guidance only when s > 1; with s ≤ 1 a
    /// pipeline runs the conditional branch alone, which this formula also gives at s = 1.
    public static func combine(uncond: Tensor, cond: Tensor, scale: Float) throws -> Tensor {
        try requireSameShape(uncond, cond, "guidance")
        return try uncond + (cond - uncond) * scale
    }

    /// `rescale_noise_cfg`: ε_r = ε·std(ε_c)/std(ε), result φ·ε_r + (1−φ)·ε, with the
    /// **unbiased** standard deviation over all axes but the batch axis (per batch row).
    /// - Parameters:
    ///   - guided: ε from ``combine(uncond:cond:scale:)``.
    ///   - cond: the conditional prediction ε_c.
    ///   - rescale: φ (`guidance_rescale`, 0 = no change; 0.7 in the paper).
    public static func rescale(_ guided: Tensor, cond: Tensor, rescale: Float) throws -> Tensor {
        try requireSameShape(guided, cond, "guidance rescale")
        guard guided.rank >= 2 else {
            throw SchedulerError.invalidArgument("guidance rescale needs a batch axis and at least one more axis")
        }
        let axes = Array(1..<guided.rank)
        let stdCond = try cond.variance(axes: axes, unbiased: true, keepDims: true).sqrt()
        let stdGuided = try guided.variance(axes: axes, unbiased: true, keepDims: true).sqrt()
        let rescaled = try guided * (stdCond / stdGuided)
        return try rescaled * rescale + guided * (1 - rescale)
    }

    /// Splits a model output batched as [uncond; cond] along axis 0 into its two halves.
    public static func split(_ batched: Tensor) throws -> (uncond: Tensor, cond: Tensor) {
        guard batched.rank >= 1, batched.shape[0] % 2 == 0 else {
            throw SchedulerError.invalidArgument(
                "guidance: batch \(formatShape(batched.shape)) does not split into [uncond; cond] halves")
        }
        let halves = try batched.chunked(2, axis: 0)
        return (halves[0], halves[1])
    }

    /// ``split(_:)`` then ``combine(uncond:cond:scale:)`` then, if φ > 0, ``rescale(_:cond:rescale:)``.
    public static func guide(_ batched: Tensor, scale: Float, rescale φ: Float = 0) throws -> Tensor {
        let (u, c) = try split(batched)
        let guided = try combine(uncond: u, cond: c, scale: scale)
        return φ > 0 ? try rescale(guided, cond: c, rescale: φ) : guided
    }
}
