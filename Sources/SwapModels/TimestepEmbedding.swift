import Foundation
import SwapTensor

/// Sinusoidal timestep features followed by the time MLP. Matches diffusers
/// `models/embeddings.py` `get_timestep_embedding` + `Timesteps` (`time_proj`, no weights) and
/// `TimestepEmbedding` (`time_embedding.linear_1` → SiLU → `linear_2`).
struct TimestepEmbedding: Sendable {
    var linear1: Linear, linear2: Linear
    let channels: Int
    let flipSinToCos: Bool
    let freqShift: Float

    init(_ store: WeightStore, channels: Int, embeddingDim: Int, flipSinToCos: Bool, freqShift: Float) throws {
        linear1 = try Linear(store, "time_embedding.linear_1", inFeatures: channels, outFeatures: embeddingDim)
        linear2 = try Linear(store, "time_embedding.linear_2", inFeatures: embeddingDim, outFeatures: embeddingDim)
        self.channels = channels
        self.flipSinToCos = flipSinToCos
        self.freqShift = freqShift
    }

    /// [B, channels]: for frequency i = exp(−ln(10000)·i/(half − shift)) and argument t·freq,
    /// [sin | cos], or [cos | sin] when flipped, in Float32 like diffusers.
    static func sinusoidal(_ timesteps: [Float], channels: Int, flipSinToCos: Bool, freqShift: Float) -> Tensor {
        let half = channels / 2
        var values = [Float](repeating: 0, count: timesteps.count * channels)
        let logMax = Float(Foundation.log(10000.0))
        let freqs: [Float] = (0..<half).map { i in Foundation.exp(-logMax * Float(i) / (Float(half) - freqShift)) }
        for (row, t) in timesteps.enumerated() {
            for i in 0..<half {
                let arg = t * freqs[i]
                let (s, c) = (Foundation.sin(arg), Foundation.cos(arg))
                values[row * channels + i] = flipSinToCos ? c : s
                values[row * channels + half + i] = flipSinToCos ? s : c
            }
        }
        return Tensor(shape: [timesteps.count, channels], scalars: values)
    }

    func callAsFunction(_ timesteps: [Float]) throws -> Tensor {
        let features = Self.sinusoidal(timesteps, channels: channels, flipSinToCos: flipSinToCos, freqShift: freqShift)
        return try linear2(linear1(features).silu())
    }
}
