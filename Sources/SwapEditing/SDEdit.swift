import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// Matches diffusers pipeline_stable_diffusion_img2img.py (`get_timesteps`, `prepare_latents`):
// init_timestep = min(⌊steps·strength⌋, steps), the loop starts at index steps − init_timestep,
// the image latent is `vae.encode(image).latent_dist.sample(generator) · scaling_factor`, and
// the start latent is `scheduler.add_noise(latent, randn(generator), timesteps[start])`.
// SDEdit: Meng et al. 2022 (spec baret-p2p-nulltext-masactrl.md §6).

extension Sampler {
    /// SDEdit / img2img: a sampler that starts part-way, from `image` noised to the first
    /// kept timestep.
    /// - Parameters:
    ///   - image: pixels [1, 3, H, W] in [−1, 1] (H, W multiples of the VAE factor).
    ///   - strength: how much of the schedule to run, in (0, 1]; 1 starts from pure noise
    ///     level (while keeping the image latent in the mix, as diffusers does).
    ///   - settings: prompt, steps, seed (one torch generator draws the posterior sample, then
    ///     the noise, as the diffusers pipeline with `generator=` does), guidance, scheduler.
    public static func sdedit(model: StableDiffusion, image: Tensor, strength: Double, settings: SamplerSettings,
                              capture: AttentionCaptureSettings = AttentionCaptureSettings()) throws -> Sampler {
        guard strength > 0, strength <= 1 else { throw EditingError("sdedit: strength must be in (0, 1], got \(strength)") }
        let f = model.vaeScaleFactor
        guard image.rank == 4, image.shape[0] == 1, image.shape[1] == 3, image.shape[2] % f == 0, image.shape[3] % f == 0,
              image.shape[2] > 0, image.shape[3] > 0 else {
            throw EditingError("sdedit: image has shape \(formatShape(image.shape)), expected [1, 3, H, W] with H and W multiples of \(f)")
        }
        guard settings.steps >= 1, settings.steps <= 1000 else {
            throw EditingError("sdedit: steps must be between 1 and 1000, got \(settings.steps)")
        }
        var sized = settings
        sized.height = image.shape[2]
        sized.width = image.shape[3]
        let scheduler = try StableDiffusionPipeline(model: model, scheduler: settings.scheduler).makeScheduler(steps: settings.steps)
        let kept = min(Int((Double(settings.steps) * strength).rounded(.down)), settings.steps)
        guard kept >= 1 else {
            throw EditingError("sdedit: strength \(strength) keeps no step of \(settings.steps) (needs steps·strength ≥ 1)")
        }
        let start = settings.steps - kept
        let generator = TorchGenerator(seed: settings.seed)
        let posterior = try model.vae.encode(image)
        let clean = try posterior.sample(noise: generator.randn(posterior.mean.shape)) * model.vae.scalingFactor
        let noise = generator.randn(clean.shape)
        let noised = try scheduler.addNoise(clean, noise: noise, timestep: scheduler.timesteps[start])
        return try Sampler(model: model, settings: sized, capture: capture, initialLatent: noised, startIndex: start,
                           kindName: "sdedit", generator: generator)
    }
}
