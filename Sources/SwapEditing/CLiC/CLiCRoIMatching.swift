import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// CLiC's RoI matching (Safaee et al. 2024 §3.3; official learning.py `instance_mode == "seg"` and
// segmentation/seg_diff.py; spec clic-p3s-metrics.md §3): a region token w*, initialised from
// v*, is trained with l_att alone on the source ("a w* region of a OBJECT"); then, for each
// DDIM timestep, the target is noised with fresh ε, the UNet runs, and w*'s up-block
// cross-attention map is averaged over layers and timesteps; min-max normalised, values < 0.75
// scaled by 0.9 (seg_diff.py), resized to the image, eroded then dilated once with a k×k box,
// thresholded at 100/255.

/// The settings of `roi_match`.
public struct CLiCRoIMatchSettings: Sendable, Equatable {
    /// Steps of the region token's training (paper and code: 500).
    public var learningSteps = 500
    /// Learning rate of that training (the concept learning's 1e-5 by default).
    public var learningRate: Float = 1e-5
    /// Code: the optimiser also tunes the cross-attention projections; paper: the token only.
    public var variant: CLiCVariant = .code
    /// DDIM timesteps averaged in the extraction (seg_diff.py: 50).
    public var extractionSteps = 50
    /// Side of the box kernel of the opening (seg_diff.py: 5 at 512²); nil: 5·H/512, at least 1.
    public var kernel: Int? = nil
    /// Binary threshold on the [0, 1] map (seg_diff.py: 100/255).
    public var threshold: Float = 100 / 255
    public var seed: UInt64 = 0

    public init() {}
}

/// What RoI matching found.
public struct CLiCRoIMatch {
    /// The soft map [H, W] in [0, 1] (after normalisation and the 0.75/0.9 tweak).
    public var map: Tensor
    /// The binary mask [H, W] (after the opening and the threshold).
    public var mask: Tensor
    /// The learned region token and its prompt on the target.
    public var regionToken: String, prompt: String
    /// The region token's training (its trace holds l_att per step).
    public var learning: CLiCLearning
}

public enum CLiCRoIMatching {
    /// Finds the region of `target` [1, 3, H, W] (in [−1, 1]) that corresponds to where the
    /// concept was learned, on an object called `baseObject`.
    public static func match(model: StableDiffusion, concept: CLiCConcept, target: Tensor, baseObject: String,
                             settings: CLiCRoIMatchSettings = CLiCRoIMatchSettings(), context: RunContext) throws -> CLiCRoIMatch {
        guard let sourceImage = concept.sourceImage, let sourceMask = concept.sourceMask else {
            throw EditingError("roi_match: the concept carries no source image and mask to learn the region token from")
        }
        guard settings.extractionSteps >= 1, settings.threshold.isFinite, (settings.kernel ?? 1) >= 1 else {
            throw EditingError("roi_match: extraction steps ≥ 1, a finite threshold and a kernel ≥ 1 are required")
        }
        let withConcept = try concept.applied(to: model)
        var learn = CLiCLearningSettings(variant: settings.variant)
        learn.steps = settings.learningSteps
        learn.learningRate = settings.learningRate
        learn.seed = settings.seed
        (learn.attentionWeight, learn.contextWeight, learn.roiWeight) = (1, 0, 0)
        learn.prompt = "a {token} region of a {object}"
        learn.trained = settings.variant == .code ? .all : .none
        let region = concept.token + "_roi"
        let learning = try CLiCLearning(model: withConcept, image: sourceImage, mask: sourceMask, token: region,
                                        baseObject: concept.baseObject, initialEmbedding: concept.embedding, settings: learn)
        try learning.run(context)
        let regionModel = try learning.concept().applied(to: withConcept)

        let f = model.vaeScaleFactor
        guard target.rank == 4, target.shape[0] == 1, target.shape[1] == 3, target.shape[2] % f == 0, target.shape[3] % f == 0 else {
            throw EditingError("roi_match: target \(formatShape(target.shape)) is not [1, 3, H, W] with sides multiples of \(f)")
        }
        let prompt = "a \(region) region of a \(baseObject)"
        let ids = regionModel.tokenizer.encode(prompt)
        guard let id = regionModel.tokenizer.vocabulary[region], let token = ids.firstIndex(of: id) else {
            throw EditingError("roi_match: the region token is missing from \"\(prompt)\"")
        }
        let pipeline = StableDiffusionPipeline(model: regionModel)
        let scheduler = try DDIMScheduler(config: pipeline.schedulerConfig(.ddim), steps: settings.extractionSteps)
        var g = PhiloxGenerator(seed: settings.seed, stream: 1 << 32)
        let (h, w) = (target.shape[2] / f, target.shape[3] / f)
        let shape = [1, regionModel.unet.config.inChannels, h, w]
        let latent = try regionModel.vae.encode(target).sample(noise: g.randn(shape)) * regionModel.vae.scalingFactor
        let embedding = try regionModel.textEncoder.promptEmbeddings([ids])
        let hook = CLiCAttentionHook(tokenIndex: token, height: h, width: w)
        let predictor = NoisePredictor(model: regionModel, hooks: [hook])
        var sum = Tensor(zeros: [1, 1, h, w])
        try GradMode.withoutGradient {
            for t in scheduler.integerTimesteps {
                try context.checkCancelled()
                let noisy = try scheduler.addNoise(latent, noise: g.randn(shape), timestep: Float(t))
                hook.reset()
                _ = try predictor.predict([PredictionRow(latent: noisy, timestep: Float(t), embedding: embedding, role: .conditional)])
                sum = try sum + hook.averagedMap()
            }
        }
        var map = try CLiCAttentionHook.minMaxNormalized(sum * (1 / Float(scheduler.integerTimesteps.count)))
        map = Tensor(shape: map.shape, scalars: map.scalars.map { $0 < 0.75 ? $0 * 0.9 : $0 })
        let (height, width) = (target.shape[2], target.shape[3])
        let full = try map.resizedBilinear(height: height, width: width).clamped(min: 0, max: 1).reshaped([height, width])
        let k = settings.kernel ?? Swift.max(1, (5 * height + 256) / 512)
        let opened = morphology(morphology(full, kernel: k, erode: true), kernel: k, erode: false)
        let mask = Tensor(shape: [height, width], scalars: opened.scalars.map { $0 > settings.threshold ? 1 : 0 })
        return CLiCRoIMatch(map: full, mask: mask, regionToken: region, prompt: prompt, learning: learning)
    }

    /// Grey-level erosion (window minimum) or dilation (window maximum) of [H, W] with a k×k box
    /// anchored at its centre (OpenCV's anchor (k−1)/2 … k/2); pixels outside are ignored.
    public static func morphology(_ x: Tensor, kernel k: Int, erode: Bool) -> Tensor {
        guard k > 1 else { return x }
        let (h, w) = (x.shape[0], x.shape[1])
        let v = x.scalars
        var out = [Float](repeating: 0, count: h * w)
        let (before, after) = ((k - 1) / 2, k / 2)
        for y in 0..<h {
            for xx in 0..<w {
                var m: Float = erode ? .infinity : -.infinity
                for dy in -before...after where y + dy >= 0 && y + dy < h {
                    for dx in -before...after where xx + dx >= 0 && xx + dx < w {
                        let s = v[(y + dy) * w + xx + dx]
                        m = erode ? Swift.min(m, s) : Swift.max(m, s)
                    }
                }
                out[y * w + xx] = m
            }
        }
        return Tensor(shape: [h, w], scalars: out)
    }
}
