import Foundation
import SwapModels
import SwapTensor

extension Trainer {
    /// The number of trained scalars.
    public var parameterCount: Int { optimizer.values.reduce(0) { $0 + $1.count } }

    /// Seeds of `count` validation scenes (disjoint from the training stream).
    func validationSeeds(_ count: Int) -> [UInt64] {
        (0..<count).map { TrainingSeeds.mix(TrainingSeeds.derive(seed, 4) &+ UInt64($0)) }
    }

    /// The VAE (EMA weights) of a VAE-stage trainer, or the frozen VAE of a diffusion trainer.
    public func averagedVAE() throws -> AutoencoderKL {
        let weights = stage == .vae ? averagedParameters : frozenVAE
        return try AutoencoderKL(config: recipe.vae, store: WeightStore(tensors: weights))
    }

    /// Reconstructions (posterior mean, decoded, clamped to [0, 1]) of `images` [B, 3, S, S]
    /// in [0, 1], by the averaged VAE.
    public func reconstruct(_ images: Tensor) throws -> Tensor {
        let vae = try averagedVAE()
        return try GradMode.withoutGradient {
            let decoded = try vae.decode(vae.encode(images * 2 - 1).mean)
            return ((decoded + 1) * 0.5).clamped(min: 0, max: 1)
        }
    }

    /// PSNR (dB, images in [0, 1]) of the averaged VAE's reconstructions of `count` fresh scenes.
    public func reconstructionPSNR(count: Int) throws -> Double {
        let (x, _) = try source.batch(seeds: validationSeeds(count), objects: recipe.objects)
        let images = (x + 1) * 0.5
        let mse = try (reconstruct(images) - images).squared().mean().item
        return 10 * Foundation.log10(1 / Double(Swift.max(mse, 1e-12)))
    }
}
