import Foundation
import SwapModels
import SwapTensor
import Testing

/// VAE parity against diffusers on the tiny VAE of tools/reference/make_unet_vae_fixtures.py.
/// Measure: max |swift − torch| / max |torch| (≤ 1e-4 required).
@Suite("AutoencoderKL parity")
struct VAEParityTests {
    @Test("encode: posterior mean, log-variance and a sample from given noise match diffusers")
    func encode() throws {
        let vae = try ModelFixtures.vae()
        let f = try ModelFixtures.tensors("vae/vae_fixture.safetensors")
        let posterior = try vae.encode(try #require(f["image"]))
        let meanError = try Parity.relativeMaxError(posterior.mean, try #require(f["mean"]))
        let logvarError = try Parity.relativeMaxError(posterior.logvar, try #require(f["logvar"]))
        let sampleError = try Parity.relativeMaxError(try posterior.sample(noise: try #require(f["noise"])),
                                                      try #require(f["sample"]))
        print("vae encode relative max error: mean \(meanError), logvar \(logvarError), sample \(sampleError)")
        #expect(meanError <= 1e-4)
        #expect(logvarError <= 1e-4)
        #expect(sampleError <= 1e-4)
        #expect(vae.scalingFactor == 0.18215)
    }

    @Test("decode matches diffusers")
    func decode() throws {
        let vae = try ModelFixtures.vae()
        let f = try ModelFixtures.tensors("vae/vae_fixture.safetensors")
        let image = try vae.decode(try #require(f["latent"]))
        let error = try Parity.relativeMaxError(image, try #require(f["decoded"]))
        print("vae decode relative max error \(error)")
        #expect(error <= 1e-4)
    }

    @Test("wrong image and latent shapes are refused with the shape in the message")
    func shapes() throws {
        let vae = try ModelFixtures.vae()
        #expect(throws: ModelLoadError("vae: image has shape [1,4,32,32], expected [B,3,H,W]")) {
            try vae.encode(Tensor(zeros: [1, 4, 32, 32]))
        }
        #expect(throws: ModelLoadError("vae: image has shape [1,3,31,32]; H and W must be positive multiples of 2")) {
            try vae.encode(Tensor(zeros: [1, 3, 31, 32]))
        }
        #expect(throws: ModelLoadError("vae: latent has shape [1,3,8,8], expected [B,4,h,w]")) {
            try vae.decode(Tensor(zeros: [1, 3, 8, 8]))
        }
    }
}
