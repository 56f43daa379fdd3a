import Foundation
import SwapModels
import SwapTensor
import Testing

/// Gradients through the whole tiny UNet (tools/reference/make_unet_vae_fixtures.py weights).
@Suite("UNet gradients")
struct UNetGradientTests {
    /// L = Σ out ⊙ w in Double, for finite differences.
    static func loss(_ out: Tensor, _ w: Tensor) -> Double {
        zip(out.scalars, w.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    @Test("∂(Σ out⊙w)/∂latent is finite and matches central differences in probed coordinates",
          arguments: [false, true])
    func latentGradient(withReplacingHook: Bool) throws {
        let unet = try ModelFixtures.unet("sd1")
        let f = try ModelFixtures.tensors("unet/sd1_fixture.safetensors")
        let latent = try #require(f["latent"]), context = try #require(f["context"])
        // A replacing hook forces the unfused, differentiable attention path at every layer.
        let hooks: [any AttentionHook] = withReplacingHook ? [ScaleProbabilitiesHook(factor: 1)] : []
        let w = TestRandom.tensor(latent.shape, seed: 21)
        let x = latent.requiringGrad()
        let out = try unet(x, timestep: 10, encoderHiddenStates: context, hooks: hooks)
        let grad = try (out * w).sum().gradient(with: [x])[0]
        #expect(!grad.hasNonFinite)
        // Central differences (step 1e-2; Float32 forward, Double accumulation of the loss).
        // Tolerance: 1e-3 absolute + 1% relative, above the observed O(h²) and rounding error.
        let h: Float = 1e-2
        for index in [[0, 0, 0, 0], [1, 2, 7, 9], [0, 3, 15, 4]] {
            var plus = latent, minus = latent
            plus[index] += h
            minus[index] -= h
            let lp = Self.loss(try unet(plus, timestep: 10, encoderHiddenStates: context, hooks: hooks), w)
            let lm = Self.loss(try unet(minus, timestep: 10, encoderHiddenStates: context, hooks: hooks), w)
            let numeric = Float((lp - lm) / Double(2 * h))
            let analytic = grad[index]
            print("grad check hook=\(withReplacingHook) \(index): analytic \(analytic) numeric \(numeric)")
            #expect(abs(analytic - numeric) <= 1e-3 + 0.01 * abs(numeric), "at \(index)")
        }
    }

    @Test("gradients reach the text states and a cross-attention weight")
    func contextAndWeightGradients() throws {
        var unet = try ModelFixtures.unet("sd2")
        let f = try ModelFixtures.tensors("unet/sd2_fixture.safetensors")
        var toK: Tensor?
        var visited: [String] = []
        try unet.updateAttentionLayers { info, layer in
            visited.append(info.path)
            if info.path == "up.1.attn.2.cross" {
                layer.toK.weight = layer.toK.weight.requiringGrad()
                toK = layer.toK.weight
            }
        }
        #expect(visited == unet.attentionLayers.map(\.path))
        let weight = try #require(toK)
        let context = try #require(f["context"]).requiringGrad()
        let out = try unet(try #require(f["latent"]), timesteps: [981, 501], encoderHiddenStates: context)
        let g = out.squared().mean().gradient(with: [context, weight])
        for gradient in g {
            #expect(!gradient.hasNonFinite)
            #expect(gradient.abs().max().item > 0)
        }
        #expect(g[1].shape == [16, 12])
    }
}
