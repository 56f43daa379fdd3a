import Foundation
import SwapModels
import SwapSchedulers

/// Everything that defines a training run of the default model except the seed and the step
/// counts: model sizes, optimiser, loss options. Presets are chosen by name so that a
/// checkpoint records which one it belongs to.
public struct TrainingRecipe: Sendable, Equatable {
    /// "default" (the committed model) or "tiny" (tests).
    public var name: String
    public var imageSize = 64
    public var vae = VAEConfig()
    public var text = CLIPTextConfig()
    public var unet = UNetConfig()

    // Stage 1: VAE.
    public var vaeLearningRate: Float = 1e-3
    /// Weight of the L2 term next to L1 (both means over pixels in [−1, 1]).
    public var vaeL2Weight: Float = 1
    /// Weight of the KL term (mean over latent elements).
    public var vaeKLWeight: Float = 1e-6
    /// The VAE trains on random square crops of this size (a multiple of the downsample
    /// factor; nil: whole images). It is fully convolutional when `vae.midBlockAddAttention`
    /// is off, so crops cost a quarter and change nothing at full size.
    public var vaeCrop: Int? = nil

    // Stage 2: text encoder + UNet.
    public var diffusionLearningRate: Float = 1e-3
    /// Probability of training on the empty caption (for classifier-free guidance).
    public var captionDropout: Float = 0.1
    /// Min-SNR-γ loss weighting (Hang et al. 2023, eq. 11 for ε-prediction); nil: plain MSE.
    public var minSNRGamma: Float? = 5

    // Both stages.
    public var weightDecay: Float = 1e-2
    public var warmupSteps = 200
    public var gradientClip: Float = 1
    public var emaDecay: Float = 0.999
    /// Objects per training scene.
    public var objects: ClosedRange<Int> = 1...2

    /// The committed default model (sizes chosen by measurement; see tools/train-default-model.sh).
    public static var defaultModel: TrainingRecipe {
        var r = TrainingRecipe(name: "default")
        r.vae.blockOutChannels = [32, 64, 64]
        r.vae.layersPerBlock = 1
        r.vae.normNumGroups = 16
        r.vae.latentChannels = 4
        r.vae.midBlockAddAttention = false
        r.vaeCrop = 32
        r.warmupSteps = 100
        r.text = CLIPTextConfig(vocabSize: 0, hiddenSize: 64, intermediateSize: 256, projectionDim: 64,
                                numHiddenLayers: 2, numAttentionHeads: 4, maxPositionEmbeddings: CLIPTokenizer.maxLength,
                                hiddenAct: .quickGELU)
        r.unet = TrainingRecipe.unetConfig(channels: [32, 64, 64], heads: 4, crossAttentionDim: 64, latentChannels: 4, sampleSize: 16)
        // One resnet + transformer per level (two on the way up): 60% of the cost of two, which
        // the sampling and DDS speed targets need on two cores.
        r.unet.layersPerBlock = [1, 1, 1]
        return r
    }

    /// A tiny configuration for tests: a few thousand parameters, 16x16 images.
    public static var tiny: TrainingRecipe {
        var r = TrainingRecipe(name: "tiny")
        r.imageSize = 16
        r.vae.blockOutChannels = [8, 8]
        r.vae.layersPerBlock = 1
        r.vae.normNumGroups = 4
        r.vae.latentChannels = 4
        r.vae.midBlockAddAttention = false
        r.vaeCrop = 8
        r.text = CLIPTextConfig(vocabSize: 0, hiddenSize: 16, intermediateSize: 32, projectionDim: 16,
                                numHiddenLayers: 1, numAttentionHeads: 2, maxPositionEmbeddings: CLIPTokenizer.maxLength,
                                hiddenAct: .quickGELU)
        r.unet = TrainingRecipe.unetConfig(channels: [8, 16], heads: 2, crossAttentionDim: 16, latentChannels: 4, sampleSize: 8)
        r.unet.normNumGroups = 4
        r.unet.layersPerBlock = [1, 1]
        r.warmupSteps = 2
        return r
    }

    /// The preset called `name`.
    public static func named(_ name: String) throws -> TrainingRecipe {
        switch name {
        case "default": return .defaultModel
        case "tiny": return .tiny
        default: throw TrainingError("unknown recipe '\(name)' (expected default or tiny)")
        }
    }

    /// An SD-style UNet: cross-attention on every level, 2 resnets per level.
    static func unetConfig(channels: [Int], heads: Int, crossAttentionDim: Int, latentChannels: Int, sampleSize: Int) -> UNetConfig {
        var c = UNetConfig()
        let n = channels.count
        c.inChannels = latentChannels
        c.outChannels = latentChannels
        c.blockOutChannels = channels
        c.downBlockTypes = Array(repeating: "CrossAttnDownBlock2D", count: n)
        c.upBlockTypes = Array(repeating: "CrossAttnUpBlock2D", count: n)
        c.layersPerBlock = Array(repeating: 2, count: n)
        c.crossAttentionDim = Array(repeating: crossAttentionDim, count: n)
        c.transformerLayersPerBlock = Array(repeating: 1, count: n)
        c.attentionHeads = Array(repeating: heads, count: n)
        c.normNumGroups = 32 <= channels.min()! ? 32 : channels.min()! / 2
        c.sampleSize = sampleSize
        return c
    }

    /// Replaces the UNet's block_out_channels (the name records it, so checkpoints stay matched).
    public mutating func overrideUNetChannels(_ channels: [Int]) throws {
        let heads = unet.attentionHeads[0]
        unet = Self.unetConfig(channels: channels, heads: heads, crossAttentionDim: unet.crossAttentionDim[0],
                               latentChannels: unet.inChannels, sampleSize: unet.sampleSize)
        try unet.validate()
        name += "+unet" + channels.map(String.init).joined(separator: "-")
    }

    /// Replaces the VAE's block_out_channels (the name records it).
    public mutating func overrideVAEChannels(_ channels: [Int]) throws {
        guard channels.allSatisfy({ $0 > 0 && $0 % vae.normNumGroups == 0 }) else {
            throw TrainingError("VAE channels \(channels) must be multiples of \(vae.normNumGroups)")
        }
        vae.blockOutChannels = channels
        name += "+vae" + channels.map(String.init).joined(separator: "-")
    }

    /// SD's scheduler values (scaled_linear, 1000 steps, ε-prediction) for every scheduler kind.
    public static let schedulerConfig: SchedulerConfig = SchedulerConfig.stableDiffusion(.ddim)
}

/// A training problem: names the operation and what is wrong.
public struct TrainingError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
