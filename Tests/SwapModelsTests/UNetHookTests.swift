import Foundation
import SwapModels
import SwapTensor
import Testing

/// Hooks inside the real (tiny) UNets: captured probabilities against diffusers' classic
/// AttnProcessor (recorded by tools/reference/make_unet_vae_fixtures.py), call records, and
/// row isolation of edits.
@Suite("UNet attention hooks")
struct UNetHookTests {
    @Test("captured self- and cross-attention probabilities equal diffusers'", arguments: [
        ("sd1", ["down.1.attn.0.self", "down.1.attn.0.cross"]),
        ("sd2", ["up.2.attn.1.self", "mid.attn.0.cross"]),
    ])
    func capturedProbabilities(model: String, paths: [String]) throws {
        let unet = try ModelFixtures.unet(model)
        let f = try ModelFixtures.tensors("unet/\(model)_fixture.safetensors")
        let capture = CaptureHook(paths: Set(paths))
        let out = try unet(try #require(f["latent"]), timesteps: try #require(f["timestep"]).scalars,
                           encoderHiddenStates: try #require(f["context"]), hooks: [capture])
        // Observing does not change the output.
        #expect(try Parity.relativeMaxError(out, try #require(f["output"])) <= 1e-4)
        for path in paths {
            let reference = try #require(f["probs." + path])  // [B·heads, Lq, Lk]
            let got = try #require(capture.captured[path])    // [B, heads, Lq, Lk]
            let error = try Parity.maxAbsError(got.reshaped(reference.shape), reference)
            print("\(model) \(path) probabilities \(got.shape) max abs error \(error)")
            #expect(error <= 1e-5)
        }
    }

    @Test("every layer is called once per forward, in order, with its resolution and the row roles")
    func callRecords() throws {
        let unet = try ModelFixtures.unet("sd2")
        let f = try ModelFixtures.tensors("unet/sd2_fixture.safetensors")
        let capture = CaptureHook()
        let roles = [RowRole.unconditional, RowRole.conditional]
        _ = try unet(try #require(f["latent"]), timesteps: [981, 501], encoderHiddenStates: try #require(f["context"]),
                     hooks: [capture], rowRoles: roles)
        #expect(capture.calls.map(\.path) == unet.attentionLayers.map(\.path))
        #expect(unet.attentionLayers.count == 2 * (2 + 2 + 1 + 3 + 3))
        #expect(unet.attentionLayers.enumerated().allSatisfy { $0.offset == $0.element.order })
        for call in capture.calls {
            let expectedSize = call.path.hasPrefix("down.0") || call.path.hasPrefix("up.2") ? 16
                : call.path.hasPrefix("down.1") || call.path.hasPrefix("up.1") ? 8 : 4
            #expect(call.height == expectedSize && call.width == expectedSize, "\(call.path)")
            #expect(call.rows == roles)
            #expect(call.timesteps == [981, 501])
        }
        let cross = try #require(capture.captured["mid.attn.0.cross"])
        #expect(cross.shape == [2, 4, 16, 77])
    }

    @Test("mutual self-attention changes only the target rows; uniform maps change the output")
    func rowIsolation() throws {
        let unet = try ModelFixtures.unet("sd1")
        let f = try ModelFixtures.tensors("unet/sd1_fixture.safetensors")
        let (latent, context) = (try #require(f["latent"]), try #require(f["context"]))
        let roles = [RowRole(.conditional, branch: 0), RowRole(.conditional, branch: 1)]
        let plain = try unet(latent, timestep: 10, encoderHiddenStates: context)
        let masa = try unet(latent, timestep: 10, encoderHiddenStates: context, hooks: [SourceKeysValuesHook()], rowRoles: roles)
        let row = { (t: Tensor, i: Int) in try t.sliced(axis: 0, start: i, end: i + 1) }
        #expect(try Parity.maxAbsError(row(masa, 0), row(plain, 0)) < 1e-6)
        #expect(try Parity.maxAbsError(row(masa, 1), row(plain, 1)) > 1e-4)

        let uniform = try unet(latent, timestep: 10, encoderHiddenStates: context,
                               hooks: [UniformProbabilitiesHook(paths: ["mid.attn.0.self"])])
        #expect(try Parity.maxAbsError(uniform, plain) > 1e-4)
    }
}
