import Foundation
import SwapIO
import SwapModels
import SwapTensor
import Testing

/// Broken checkpoints and wrong inputs give one clear error naming the tensor, file or argument.
/// The broken files are derived at test time from the fixtures of
/// tools/reference/make_unet_vae_fixtures.py.
@Suite("Model loading errors")
struct ModelLoadingErrorTests {
    /// A copy of the sd1 UNet folder whose weights are `edit`ed.
    static func brokenUNet(_ edit: (inout [String: Tensor]) -> Void) throws -> String {
        let dir = try ModelFixtures.temporaryDirectory()
        try FileManager.default.copyItem(atPath: ModelFixtures.path("unet/sd1/config.json"),
                                         toPath: dir.appendingPathComponent("config.json").path)
        var tensors = try ModelFixtures.tensors("unet/sd1/diffusion_pytorch_model.safetensors")
        edit(&tensors)
        try SafeTensors.write(tensors, to: dir.appendingPathComponent("diffusion_pytorch_model.safetensors").path)
        return dir.path
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test("a missing tensor is named")
    func missingTensor() throws {
        let name = "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight"
        let dir = try Self.brokenUNet { $0[name] = nil }
        let text = message { _ = try UNet2DConditionModel(directory: dir) }
        #expect(text.hasPrefix("missing tensor '\(name)' (expected shape [8,8])"), "\(text)")
    }

    @Test("a misshapen tensor is named with both shapes")
    func misshapenTensor() throws {
        let dir = try Self.brokenUNet { $0["conv_in.weight"] = Tensor(zeros: [4, 4, 1, 1]) }
        let text = message { _ = try UNet2DConditionModel(directory: dir) }
        #expect(text == "diffusion_pytorch_model.safetensors: tensor 'conv_in.weight' has shape [4,4,1,1], expected [4,4,3,3]")
    }

    @Test("a truncated file is named")
    func truncatedFile() throws {
        let dir = try Self.brokenUNet { _ in }
        let file = (dir as NSString).appendingPathComponent("diffusion_pytorch_model.safetensors")
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: file))
        let text = message { _ = try UNet2DConditionModel(directory: dir) }
        #expect(text.contains("diffusion_pytorch_model.safetensors"), "\(text)")
        #expect(text != "no error")
    }

    @Test("a missing weights file and a bad config are reported")
    func missingFiles() throws {
        let dir = try ModelFixtures.temporaryDirectory()
        try Data("{\"block_out_channels\": [4, 8], \"down_block_types\": [\"DownBlock2D\"]}".utf8)
            .write(to: dir.appendingPathComponent("config.json"))
        let text = message { _ = try UNet2DConditionModel(directory: dir.path) }
        #expect(text.contains("must have the same non-zero length"), "\(text)")
        try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
        #expect(message { _ = try UNet2DConditionModel(directory: dir.path) }.contains("cannot read config"))
    }

    @Test("wrong UNet inputs are refused before any work")
    func wrongInputs() throws {
        let unet = try ModelFixtures.unet("sd1")
        let context = Tensor(zeros: [1, 77, 8])
        #expect(throws: ModelLoadError("unet: latent has shape [1,3,64,64], expected 4 channels")) {
            try unet(Tensor(zeros: [1, 3, 64, 64]), timestep: 1, encoderHiddenStates: context)
        }
        #expect(throws: ModelLoadError("unet: latent has shape [3,64,64], expected [B,4,H,W]")) {
            try unet(Tensor(zeros: [3, 64, 64]), timestep: 1, encoderHiddenStates: context)
        }
        #expect(throws: ModelLoadError("unet: encoder hidden states have shape [1,77,768], expected [1,L,8]")) {
            try unet(Tensor(zeros: [1, 4, 16, 16]), timestep: 1, encoderHiddenStates: Tensor(zeros: [1, 77, 768]))
        }
        #expect(throws: ModelLoadError("unet: 3 timesteps for a batch of 1 (give 1 or 1)")) {
            try unet(Tensor(zeros: [1, 4, 16, 16]), timesteps: [1, 2, 3], encoderHiddenStates: context)
        }
        #expect(throws: ModelLoadError("unet: 2 row roles for a batch of 1")) {
            try unet(Tensor(zeros: [1, 4, 16, 16]), timestep: 1, encoderHiddenStates: context,
                     hooks: [CaptureHook()], rowRoles: [.conditional, .unconditional])
        }
    }

    @Test("the VAE accepts the legacy mid-attention names (query/key/value/proj_attn)")
    func legacyVAENames() throws {
        let dir = try ModelFixtures.temporaryDirectory()
        try FileManager.default.copyItem(atPath: ModelFixtures.path("vae/model/config.json"),
                                         toPath: dir.appendingPathComponent("config.json").path)
        var renamed: [String: Tensor] = [:]
        let legacy = ["to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"]
        for (name, tensor) in try ModelFixtures.tensors("vae/model/diffusion_pytorch_model.safetensors") {
            var key = name
            for (new, old) in legacy where name.contains("attentions.0.\(new).") {
                key = name.replacingOccurrences(of: "attentions.0.\(new).", with: "attentions.0.\(old).")
            }
            renamed[key] = tensor
        }
        #expect(renamed["decoder.mid_block.attentions.0.proj_attn.weight"] != nil)
        try SafeTensors.write(renamed, to: dir.appendingPathComponent("diffusion_pytorch_model.safetensors").path)
        let vae = try AutoencoderKL(directory: dir.path)
        let f = try ModelFixtures.tensors("vae/vae_fixture.safetensors")
        let error = try Parity.relativeMaxError(vae.decode(try #require(f["latent"])), try #require(f["decoded"]))
        #expect(error <= 1e-4)
    }
}
