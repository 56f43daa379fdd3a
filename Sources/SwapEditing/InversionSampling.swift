import SwapModels
import SwapSchedulers
import SwapTensor

// Editing a real image (null_text_w_ptp.ipynb `text2image_ldm_stable` with `uncond_embeddings`):
// sampling starts from the inversion's z*_T and, after null-text inversion, guides step i with
// ∅_i for every prompt of the batch.

extension Sampler {
    /// A DDIM sampler that starts from `inversion` (its z*_T, and its per-step null-text
    /// embeddings when present). The sampler must use the inversion's grid: DDIM, the same
    /// number of steps and the same steps_offset (the model's scheduler config).
    public convenience init(model: StableDiffusion, settings: SamplerSettings, inversion: InversionResult,
                            capture: AttentionCaptureSettings = AttentionCaptureSettings()) throws {
        guard case .ddim(let eta) = settings.scheduler, eta == 0 else {
            throw EditingError("sample: an inversion result needs the deterministic DDIM scheduler (scheduler: \"ddim\")")
        }
        if let nulls = inversion.nullEmbeddings, nulls.count != inversion.steps {
            throw EditingError("sample: the null-text inversion has \(nulls.count) of \(inversion.steps) embeddings; run it to the end first")
        }
        let shape = inversion.startLatent.shape
        var sized = settings
        if sized.height == nil && sized.width == nil, shape.count == 4 {
            sized.height = shape[2] * model.vaeScaleFactor
            sized.width = shape[3] * model.vaeScaleFactor
        }
        try self.init(model: model, settings: sized, capture: capture, initialLatent: inversion.startLatent)
        let offset = (scheduler as? DDIMScheduler)?.config.stepsOffset ?? -1
        try inversion.checkCompatible(steps: scheduler.stepCount, offset: offset, "sample")
        nullEmbeddings = inversion.nullEmbeddings
    }
}
