import SwapModels
import SwapSchedulers
import SwapTensor

// Imagic's stage A (Kawar et al. 2023, §3 "text embedding optimization"; diffusers community
// imagic_stable_diffusion.py): starting from e_tgt, optimise one text embedding with the model
// frozen under the denoising loss ‖ε − ε_θ(√ᾱ_t·z₀ + √(1−ᾱ_t)·ε, t, e)‖², t uniform in
// [0, 1000), Adam (lr 1e-3). Stage B (UNet fine-tuning) is not run: too costly on CPU. The
// result is e_opt for ``TransitionInterpolation/imagic(eta:)``.

/// Imagic's embedding optimisation: `iterations` Adam steps from e_tgt on the encoded image.
public struct ImagicEmbeddingOptimization {
    public var iterations: Int = 500
    public var learningRate: Float = 1e-3
    public var seed: UInt64 = 0

    public init(iterations: Int = 500, learningRate: Float = 1e-3, seed: UInt64 = 0) {
        self.iterations = iterations
        self.learningRate = learningRate
        self.seed = seed
    }

    /// e_opt and the loss of every iteration.
    public func run(model: StableDiffusion, encodedLatent z0: Tensor, target: Tensor, schedule: NoiseSchedule,
                    context: RunContext = .detached) throws -> (embedding: Tensor, losses: [Float]) {
        guard iterations >= 0, learningRate.isFinite, learningRate > 0 else {
            throw EditingError("imagic: iterations must be ≥ 0 and lr > 0")
        }
        let generator = TorchGenerator(seed: seed)
        let predictor = NoisePredictor(model: model)
        let trainSteps = schedule.alphasCumprod.count
        var adam = Adam([target], learningRate: learningRate)
        var losses: [Float] = []
        for _ in 0..<iterations {
            try context.checkCancelled()
            let t = min(Int(generator.rand([1]).scalars[0] * Float(trainSteps)), trainSteps - 1)
            let noise = generator.randn(z0.shape)
            let noisy = try schedule.addNoise(z0, noise: noise, timestep: t)
            let leaf = adam.parameters[0]
            let loss = try GradMode.withGradient { () throws -> Tensor in
                let eps = try predictor.predict([PredictionRow(latent: noisy, timestep: Float(t), embedding: leaf, role: .conditional)])
                return try (eps - noise).squared().mean()
            }
            guard loss.item.isFinite else { throw EditingError("imagic: the loss became \(loss.item); try a lower learning rate") }
            losses.append(loss.item)
            adam.step(gradients: loss.gradient(with: [leaf]))
        }
        return (adam.values[0].detached(), losses)
    }
}
