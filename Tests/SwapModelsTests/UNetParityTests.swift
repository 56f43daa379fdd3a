import Foundation
@testable import SwapModels
import SwapTensor
import Testing

/// UNet parity against diffusers on the tiny models of tools/reference/make_unet_vae_fixtures.py.
/// Measure: max |swift − torch| / max |torch| over the output (≤ 1e-4 required).
@Suite("UNet2DConditionModel parity")
struct UNetParityTests {
    @Test("SD1-style UNet (conv projections, 8 heads of width 1) matches diffusers")
    func sd1() throws {
        let unet = try ModelFixtures.unet("sd1")
        let f = try ModelFixtures.tensors("unet/sd1_fixture.safetensors")
        let latent = try #require(f["latent"]), context = try #require(f["context"])
        let out = try unet(latent, timesteps: try #require(f["timestep"]).scalars, encoderHiddenStates: context)
        let error = try Parity.relativeMaxError(out, try #require(f["output"]))
        print("unet sd1 relative max error \(error)")
        #expect(error <= 1e-4)
        #expect(unet.attentionLayers.map(\.path) == ["down.1.attn.0.self", "down.1.attn.0.cross",
                                                      "mid.attn.0.self", "mid.attn.0.cross",
                                                      "up.0.attn.0.self", "up.0.attn.0.cross",
                                                      "up.0.attn.1.self", "up.0.attn.1.cross"])
    }

    @Test("SD2-style UNet (linear projections, per-block heads, per-row timesteps) matches diffusers")
    func sd2() throws {
        let unet = try ModelFixtures.unet("sd2")
        #expect(unet.config.useLinearProjection)
        #expect(unet.config.attentionHeads == [2, 4, 4])
        let f = try ModelFixtures.tensors("unet/sd2_fixture.safetensors")
        let out = try unet(try #require(f["latent"]), timesteps: try #require(f["timestep"]).scalars,
                           encoderHiddenStates: try #require(f["context"]))
        let error = try Parity.relativeMaxError(out, try #require(f["output"]))
        print("unet sd2 relative max error \(error)")
        #expect(error <= 1e-4)
        let heads = Dictionary(uniqueKeysWithValues: unet.attentionLayers.map { ($0.path, $0.heads) })
        #expect(heads["down.0.attn.1.cross"] == 2)
        #expect(heads["down.1.attn.0.self"] == 4)
        #expect(heads["mid.attn.0.cross"] == 4)
        #expect(heads["up.2.attn.2.self"] == 2)
    }

    @Test("latent sizes that are not a multiple of 2^levels upsample to the skip's size")
    func oddSize() throws {
        let unet = try ModelFixtures.unet("sd2")
        let f = try ModelFixtures.tensors("unet/sd2_fixture.safetensors")
        let latent = try #require(f["odd.latent"])
        #expect(latent.shape == [1, 4, 10, 14])
        let out = try unet(latent, timesteps: try #require(f["odd.timestep"]).scalars,
                           encoderHiddenStates: try #require(f["odd.context"]))
        let error = try Parity.relativeMaxError(out, try #require(f["odd.output"]))
        print("unet sd2 odd-size relative max error \(error)")
        #expect(error <= 1e-4)
    }

    @Test("timestep features are [cos | sin] with diffusers' frequencies")
    func timeEmbedding() throws {
        let unet = try ModelFixtures.unet("sd1")
        let f = try ModelFixtures.tensors("unet/sd1_fixture.safetensors")
        let temb = try unet.timeEmbedding(try #require(f["timestep"]).scalars)
        let reference = try #require(f["inter.time_embedding"])
        #expect(try Parity.relativeMaxError(temb, reference.sliced(axis: 0, start: 0, end: 1)) <= 1e-5)
    }
}
