import Foundation
import SwapModels
import SwapSchedulers
import SwapTensor

// Matches diffusers src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion.py
// (`encode_prompt`, `prepare_latents`, the denoising loop of `__call__` with classifier-free
// guidance, and the final `vae.decode(latents / scaling_factor)`), for text-to-image in float32.

/// What to generate: prompts, guidance, size, steps and where the initial noise comes from.
public struct GenerationRequest: Sendable {
    /// One image per prompt.
    public var prompts: [String]
    /// One negative prompt per prompt, or nil for "" (diffusers' default unconditional input).
    public var negativePrompts: [String]?
    /// s of ε = ε_u + s·(ε_c − ε_u); guidance (and the [uncond; cond] batch) only when s > 1.
    public var guidanceScale: Float = 7.5
    /// φ of `rescale_noise_cfg` (0 = off).
    public var guidanceRescale: Float = 0
    public var steps: Int = 50
    /// Image height and width in pixels (nil: the UNet's sample_size × the VAE scale factor).
    public var height: Int?
    public var width: Int?
    /// `clip_skip` (nil: the text encoder's last layer).
    public var clipSkip: Int?
    /// The seed of the torch generator used for the initial latents and for stochastic steps,
    /// like `generator=torch.Generator().manual_seed(seed)`.
    public var seed: UInt64 = 0
    /// Explicit initial latents [B, 4, h, w] (diffusers' `latents=`); they are still multiplied
    /// by the scheduler's init_noise_sigma, as `prepare_latents` does.
    public var latents: Tensor?

    public init(prompts: [String], negativePrompts: [String]? = nil, guidanceScale: Float = 7.5, steps: Int = 50,
                seed: UInt64 = 0, latents: Tensor? = nil) {
        self.prompts = prompts
        self.negativePrompts = negativePrompts
        self.guidanceScale = guidanceScale
        self.steps = steps
        self.seed = seed
        self.latents = latents
    }

    public init(prompt: String, negativePrompt: String? = nil, guidanceScale: Float = 7.5, steps: Int = 50,
                seed: UInt64 = 0, latents: Tensor? = nil) {
        self.init(prompts: [prompt], negativePrompts: negativePrompt.map { [$0] }, guidanceScale: guidanceScale,
                  steps: steps, seed: seed, latents: latents)
    }
}

/// Text-to-image with a loaded ``StableDiffusion``: prompt encoding, latent preparation, the
/// guided scheduler loop (through ``DenoisingLoop``, which can be stepped one step at a time)
/// and decoding.
public struct StableDiffusionPipeline: Sendable {
    public var model: StableDiffusion
    public var schedulerChoice: SchedulerChoice

    public init(model: StableDiffusion, scheduler: SchedulerChoice = .ddim()) {
        self.model = model
        self.schedulerChoice = scheduler
    }

    /// Loads a diffusers folder (``StableDiffusion/init(directory:)``).
    public init(directory: String, scheduler: SchedulerChoice = .ddim()) throws {
        try self.init(model: StableDiffusion(directory: directory), scheduler: scheduler)
    }

    /// The checkpoint's scheduler configuration read for `kind` (SD's standard values with the
    /// checkpoint's prediction type when it has no scheduler folder).
    public func schedulerConfig(_ kind: SchedulerKind) throws -> SchedulerConfig {
        if let path = model.schedulerConfigPath { return try SchedulerConfig.load(path: path, kind: kind) }
        var config = SchedulerConfig.stableDiffusion(kind)
        config.predictionType = PredictionType(rawValue: model.predictionType) ?? .epsilon
        return config
    }

    /// The scheduler of ``schedulerChoice`` with `steps` inference steps.
    public func makeScheduler(steps: Int) throws -> any Scheduler {
        switch schedulerChoice {
        case .ddim(let eta): return try DDIMScheduler(config: schedulerConfig(.ddim), steps: steps, eta: eta)
        case .ddpm: return try DDPMScheduler(config: schedulerConfig(.ddpm), steps: steps)
        case .eulerDiscrete: return try EulerDiscreteScheduler(config: schedulerConfig(.eulerDiscrete), steps: steps)
        }
    }

    /// `encode_prompt`: the text embeddings [N, 77, d] of `prompts`, in order.
    public func encodePrompts(_ prompts: [String], clipSkip: Int? = nil) throws -> Tensor {
        guard !prompts.isEmpty else { throw PipelineError("no prompts") }
        let ids = prompts.map { model.tokenizer.encode($0) }
        return try model.textEncoder.promptEmbeddings(ids, clipSkip: clipSkip)
    }

    /// The UNet context for a request: [uncond; cond] embeddings when guiding (s > 1), else the
    /// prompt embeddings alone.
    public func guidanceContext(_ request: GenerationRequest) throws -> Tensor {
        let negatives = request.negativePrompts ?? Array(repeating: "", count: request.prompts.count)
        guard negatives.count == request.prompts.count else {
            throw PipelineError("\(negatives.count) negative prompts for \(request.prompts.count) prompts")
        }
        if request.guidanceScale > 1 {
            return try encodePrompts(negatives + request.prompts, clipSkip: request.clipSkip)
        }
        return try encodePrompts(request.prompts, clipSkip: request.clipSkip)
    }

    /// The latent shape [B, latent channels, H / f, W / f] for a request.
    public func latentShape(_ request: GenerationRequest) throws -> [Int] {
        let f = model.vaeScaleFactor
        let height = request.height ?? model.unet.config.sampleSize * f
        let width = request.width ?? model.unet.config.sampleSize * f
        guard height > 0, width > 0, height % f == 0, width % f == 0 else {
            throw PipelineError("height and width must be positive multiples of \(f), got \(height)x\(width)")
        }
        return [request.prompts.count, model.unet.config.inChannels, height / f, width / f]
    }

    /// `prepare_latents`: the given latents, or randn(shape) from `generator` (torch's stream),
    /// times the scheduler's init_noise_sigma.
    public func prepareLatents(_ request: GenerationRequest, scheduler: any Scheduler,
                               generator: TorchGenerator) throws -> Tensor {
        let shape = try latentShape(request)
        if let given = request.latents {
            guard given.shape == shape else {
                throw PipelineError("latents have shape \(formatShape(given.shape)), expected \(formatShape(shape))")
            }
            return given * scheduler.initNoiseSigma
        }
        return generator.randn(shape) * scheduler.initNoiseSigma
    }

    /// A denoising loop positioned before its first step.
    public func makeLoop(_ request: GenerationRequest, hooks: [any AttentionHook] = []) throws -> DenoisingLoop {
        guard !request.prompts.isEmpty else { throw PipelineError("no prompts") }
        guard request.guidanceScale.isFinite, request.guidanceRescale.isFinite, request.guidanceRescale >= 0 else {
            throw PipelineError("guidance scale and rescale must be finite (rescale ≥ 0)")
        }
        let scheduler = try makeScheduler(steps: request.steps)
        let generator = TorchGenerator(seed: request.seed)
        let latents = try prepareLatents(request, scheduler: scheduler, generator: generator)
        return DenoisingLoop(unet: model.unet, scheduler: scheduler, context: try guidanceContext(request),
                             latents: latents, guidanceScale: request.guidanceScale,
                             guidanceRescale: request.guidanceRescale, generator: generator, hooks: hooks)
    }

    /// `vae.decode(latents / scaling_factor)`: images [B, 3, H, W], roughly in [−1, 1] (before
    /// diffusers' postprocess to [0, 1]).
    public func decode(_ latents: Tensor) throws -> Tensor {
        try model.vae.decode(latents / Tensor(scalar: model.vae.scalingFactor))   // a true division, as torch
    }

    /// Runs every step and decodes: images [B, 3, H, W] in about [−1, 1].
    public func generate(_ request: GenerationRequest, hooks: [any AttentionHook] = []) throws -> Tensor {
        var loop = try makeLoop(request, hooks: hooks)
        return try decode(loop.run())
    }
}
