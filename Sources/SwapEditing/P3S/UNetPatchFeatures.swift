import SwapIO
import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// Patch features from the diffusion model itself, for P3S's mask when no CLIP vision tower is
// loaded (the paper uses CLIP ViT-L/14, §IV-A; this source is the engine's own substitute,
// in the spirit of diffusion-feature correspondence work). The image is VAE-encoded (posterior
// mean × scaling factor), noised to a small timestep t with seeded noise,
// z_t = √ᾱ_t·z + √(1 − ᾱ_t)·ε (spec §0), and run once through the UNet with the empty prompt;
// the features are the input of one self-attention layer (its hidden states after the
// transformer block's first LayerNorm, what `to_q` sees), captured through the attention-hook
// seam and averaged over `samples` noise draws. Default layer: the first self-attention layer
// of the last up block, at the latent resolution (`up.2.attn.0.self`, 16×16, on the 64×64
// default model; `up.3.attn.0.self`, 64×64, on SD 1.x at 512²).

/// Records the query-side input of one attention layer.
final class LayerInputCapture: AttentionHook {
    let path: String
    var input: Tensor?
    var grid: (height: Int, width: Int)?

    init(path: String) { self.path = path }

    func keysAndValues(_ call: AttentionCall, query: Tensor, key: Tensor, value: Tensor) throws -> (key: Tensor, value: Tensor)? {
        if call.layer.path == path {
            input = call.input
            grid = (call.height, call.width)
        }
        return nil
    }
}

/// The UNet's own decoder features as a patch-feature source.
public final class UNetPatchFeatures: PatchFeatureSource {
    public let model: StableDiffusion
    /// The attention layer whose input is read (an `AttentionLayerInfo.path`).
    public let layer: String
    /// The DDPM timestep the latent is noised to (0 ..< training steps).
    public let timestep: Int
    /// The seed of the noise ε (draw k uses Philox stream k).
    public let seed: UInt64
    /// The number of noise draws whose features are averaged (DIFT's ensemble; 1 = one pass).
    public let samples: Int
    /// The prompt the UNet is conditioned on ("" = the unconditional embedding).
    public let prompt: String

    /// The default layer: the first self-attention layer of the last up block (finest grid).
    /// On the default model it separated objects best of the up-block layers (see
    /// P3SPointMaskTests; `up.2.attn.1.self`, the block's last, and the 8×8 layers did worse).
    public static func defaultLayer(of model: StableDiffusion) -> String? {
        let up = model.unet.attentionLayers.filter { $0.place == .up && $0.kind == .selfAttention }
        guard let last = up.map(\.block).max() else { return nil }
        return up.first { $0.block == last }?.path
    }

    /// - Parameters:
    ///   - layer: nil takes `defaultLayer(of:)`.
    ///   - timestep: default 150 (a lightly noised image: the features describe the content,
    ///     not the noise; on the default model t = 150–400 did best, t = 600 clearly worse).
    ///   - samples: noise draws averaged (all in one batched UNet call); default 8: on the
    ///     default model the mean IoU was 0.44–0.46 with one draw (t = 50–200), 0.53 with 8.
    public init(model: StableDiffusion, layer: String? = nil, timestep: Int = 150, seed: UInt64 = 0, samples: Int = 8,
                prompt: String = "") throws {
        guard let chosen = layer ?? Self.defaultLayer(of: model) else {
            throw EditingError("unet patch features: the model has no self-attention layer in its up blocks")
        }
        guard model.unet.attentionLayers.contains(where: { $0.path == chosen }) else {
            throw EditingError("unet patch features: no attention layer \"\(chosen)\"; layers: "
                               + model.unet.attentionLayers.map(\.path).joined(separator: ", "))
        }
        let trainSteps = try StableDiffusionPipeline(model: model).schedulerConfig(.ddpm).numTrainTimesteps
        guard (0..<trainSteps).contains(timestep) else {
            throw EditingError("unet patch features: t must be in 0..<\(trainSteps), got \(timestep)")
        }
        guard (1...64).contains(samples) else { throw EditingError("unet patch features: samples must be in 1...64, got \(samples)") }
        self.model = model
        self.samples = samples
        self.layer = chosen
        self.timestep = timestep
        self.seed = seed
        self.prompt = prompt
    }

    public var name: String { "unet \(layer) t=\(timestep)" + (samples > 1 ? " samples=\(samples)" : "") }

    public func patchFeatures(_ image: Image) throws -> PatchFeatures {
        let f = model.vaeScaleFactor
        guard image.width % f == 0, image.height % f == 0 else {
            throw EditingError("unet patch features: the image is \(image.width)x\(image.height); its sides must be multiples of \(f)")
        }
        return try GradMode.withoutGradient {
            let latent = try model.vae.encode(image.rgb.tensor(range: .minusOneToOne)).mean * model.vae.scalingFactor
            let cumulative = NoiseSchedule(config: try StableDiffusionPipeline(model: model).schedulerConfig(.ddpm)).alphasCumprod
            let a = cumulative[timestep]
            let noisy = try Tensor.concat((0..<samples).map { k in
                var generator = PhiloxGenerator(seed: seed, stream: UInt64(k))
                return try latent * a.squareRoot() + generator.randn(latent.shape) * (1 - a).squareRoot()
            }, axis: 0)
            let capture = LayerInputCapture(path: layer)
            let embedding = try model.textEncoder.promptEmbeddings([model.tokenizer.encode(prompt)])
            _ = try NoisePredictor(model: model, hooks: [capture])
                .predict([PredictionRow(latent: noisy, timestep: Float(timestep), embedding: embedding, role: .conditional)])
            guard let input = capture.input, let grid = capture.grid else {
                throw EditingError("unet patch features: layer \(layer) was not called")
            }
            let features = try input.mean(axes: [0])                               // [h·w, C]
            return try PatchFeatures(features: features, gridHeight: grid.height, gridWidth: grid.width,
                                     region: (0, 0, Double(image.width), Double(image.height)))
        }
    }
}
