import Foundation
import SwapIO
import SwapModels
import SwapTensor
import Testing

/// Single-file (CompVis/ldm) UNet names, checked against the table of spec §1.3 and by
/// loading an ldm-named copy of the fixture UNets (tools/reference/make_unet_vae_fixtures.py).
@Suite("CompVis single-file UNet keys")
struct CompVisKeyTests {
    @Test("SD 1.5 layout names follow the converter's table")
    func table() {
        let keys = CompVisUNetKeys(config: UNetConfig())
        let expected = [
            "time_embedding.linear_2.bias": "time_embed.2.bias",
            "conv_in.weight": "input_blocks.0.0.weight",
            "down_blocks.0.resnets.1.conv2.weight": "input_blocks.2.0.out_layers.3.weight",
            "down_blocks.1.attentions.0.proj_in.weight": "input_blocks.4.1.proj_in.weight",
            "down_blocks.1.resnets.0.conv_shortcut.weight": "input_blocks.4.0.skip_connection.weight",
            "down_blocks.2.downsamplers.0.conv.weight": "input_blocks.9.0.op.weight",
            "down_blocks.3.resnets.1.time_emb_proj.weight": "input_blocks.11.0.emb_layers.1.weight",
            "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight": "middle_block.1.transformer_blocks.0.attn2.to_k.weight",
            "mid_block.resnets.1.norm1.bias": "middle_block.2.in_layers.0.bias",
            "up_blocks.0.upsamplers.0.conv.weight": "output_blocks.2.1.conv.weight",
            "up_blocks.1.upsamplers.0.conv.weight": "output_blocks.5.2.conv.weight",
            "up_blocks.3.attentions.2.transformer_blocks.0.ff.net.0.proj.weight": "output_blocks.11.1.transformer_blocks.0.ff.net.0.proj.weight",
            "up_blocks.2.resnets.2.norm2.weight": "output_blocks.8.0.out_layers.0.weight",
            "conv_norm_out.weight": "out.0.weight",
            "conv_out.bias": "out.2.bias",
        ]
        for (diffusers, ldm) in expected {
            #expect(keys.ldmName(diffusers) == "model.diffusion_model." + ldm, "\(diffusers)")
        }
    }

    @Test("an ldm-named copy loads and predicts the same noise", arguments: ["sd1", "sd2"])
    func roundTrip(model: String) throws {
        let config = try UNetConfig(contentsOf: ModelFixtures.path("unet/\(model)/config.json"))
        let keys = CompVisUNetKeys(config: config)
        let tensors = try ModelFixtures.tensors("unet/\(model)/diffusion_pytorch_model.safetensors")
        var renamed: [String: Tensor] = [:]
        for (name, tensor) in tensors { renamed[keys.ldmName(name)] = tensor }
        #expect(renamed.count == tensors.count)  // the mapping is one-to-one
        #expect(renamed.keys.allSatisfy { !$0.contains("down_blocks") && !$0.contains("up_blocks") && !$0.contains("resnets") })
        let file = try ModelFixtures.temporaryDirectory().appendingPathComponent("model.safetensors").path
        try SafeTensors.write(renamed, to: file)
        let unet = try UNet2DConditionModel(singleFile: file, config: config)
        let f = try ModelFixtures.tensors("unet/\(model)_fixture.safetensors")
        let out = try unet(try #require(f["latent"]), timesteps: try #require(f["timestep"]).scalars,
                           encoderHiddenStates: try #require(f["context"]))
        #expect(try Parity.relativeMaxError(out, try #require(f["output"])) <= 1e-4)
    }
}
