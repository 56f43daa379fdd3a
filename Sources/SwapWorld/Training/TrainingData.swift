import SwapTensor

/// Where training images and captions come from: a pure function of a scene seed.
public protocol TrainingSceneSource: Sendable {
    /// Every word a caption can contain (the tokenizer makes each one token).
    var vocabulary: [String] { get }
    /// The image [3, S, S] in [0, 1] and caption of the scene with this seed.
    func scene(seed: UInt64, objects: ClosedRange<Int>) throws -> (image: Tensor, caption: String)
}

/// Seeds derived from the run seed, so that everything a training step sees is a pure function
/// of (seed, step): SplitMix64 finalisers over distinct purposes.
public enum TrainingSeeds {
    /// SplitMix64's output function.
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A seed for `purpose` (a small constant) under the run seed.
    public static func derive(_ seed: UInt64, _ purpose: UInt64) -> UInt64 { mix(mix(seed) ^ mix(purpose &* 0x1000_0001)) }

    /// The scene seed of batch row `row` at `step`.
    public static func scene(_ seed: UInt64, step: Int, row: Int) -> UInt64 {
        mix(derive(seed, 10) ^ mix(UInt64(step) &* 65_536 &+ UInt64(row)))
    }

    /// The random stream (noise, timesteps, caption dropout) of `step`.
    public static func stepGenerator(_ seed: UInt64, step: Int) -> PhiloxGenerator {
        PhiloxGenerator(seed: derive(seed, 11), stream: UInt64(step))
    }
}

extension TrainingSceneSource {
    /// A batch [B, 3, S, S] in [−1, 1] and its captions, for `seeds`.
    func batch(seeds: [UInt64], objects: ClosedRange<Int>) throws -> (images: Tensor, captions: [String]) {
        var images: [Tensor] = []
        var captions: [String] = []
        for seed in seeds {
            let (image, caption) = try scene(seed: seed, objects: objects)
            images.append(try image.unsqueezed(0))
            captions.append(caption)
        }
        return (try Tensor.concat(images, axis: 0) * 2 - 1, captions)
    }
}
