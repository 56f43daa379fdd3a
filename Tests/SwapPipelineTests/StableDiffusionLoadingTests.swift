import Foundation
import SwapIO
import SwapModels
import SwapTensor
import Testing

/// Loading a diffusers folder through model_index.json, version detection, the CompVis VAE key
/// mapping, and the errors for broken folders (each derived at test time from the fixtures of
/// tools/reference/make_pipeline_fixtures.py).
@Suite("StableDiffusion loading")
struct StableDiffusionLoadingTests {
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test func detectsVersionsAndReadsConfigs() throws {
        let sd1 = try StableDiffusion(directory: PipelineFixtures.materialised("sd1").path)
        #expect(sd1.version == .sd1 && sd1.predictionType == "epsilon" && sd1.schedulerClassName == "DDIMScheduler")
        #expect(sd1.tokenizer.padID == 49407 && sd1.vaeScaleFactor == 2)
        let sd2 = try StableDiffusion(directory: PipelineFixtures.materialised("sd2").path)
        #expect(sd2.version == .sd2 && sd2.predictionType == "v_prediction")
        #expect(sd2.tokenizer.padID == 0 && sd2.unet.config.useLinearProjection)
    }

    @Test func missingComponentFolderIsNamed() throws {
        let dir = try PipelineFixtures.materialised("sd1")
        try FileManager.default.removeItem(at: dir.appendingPathComponent("vae"))
        let text = message { _ = try StableDiffusion(directory: dir.path) }
        #expect(text.contains(dir.appendingPathComponent("vae").path) && text.contains("folder missing"), "\(text)")
    }

    @Test func componentMissingFromIndexIsNamed() throws {
        let dir = try PipelineFixtures.materialised("sd1")
        let index = dir.appendingPathComponent("model_index.json")
        var json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: index)) as? [String: Any])
        json["unet"] = [NSNull(), NSNull()]
        try JSONSerialization.data(withJSONObject: json).write(to: index)
        let text = message { _ = try StableDiffusion(directory: dir.path) }
        #expect(text.contains("model_index.json") && text.contains("'unet' is missing"), "\(text)")
    }

    @Test func corruptModelIndexIsNamed() throws {
        let dir = try PipelineFixtures.materialised("sd2")
        try Data("{\"_class_name\": \"StableDiffusionPipeline\", \"unet\": [".utf8)
            .write(to: dir.appendingPathComponent("model_index.json"))
        let text = message { _ = try StableDiffusion(directory: dir.path) }
        #expect(text.contains("model_index.json") && text.contains("not a valid JSON object"), "\(text)")
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model_index.json"))
        let missing = message { _ = try StableDiffusion(directory: dir.path) }
        #expect(missing.contains("model_index.json: no such file"), "\(missing)")
    }

    @Test func missingWeightsAndTokenizerFilesAreNamed() throws {
        let dir = try PipelineFixtures.materialised("sd1")
        try FileManager.default.removeItem(at: dir.appendingPathComponent("tokenizer/merges.txt"))
        let text = message { _ = try StableDiffusion(directory: dir.path) }
        #expect(text.contains("tokenizer/merges.txt: no such file"), "\(text)")

        let dir2 = try PipelineFixtures.materialised("sd1")
        try FileManager.default.removeItem(at: dir2.appendingPathComponent("text_encoder/model.safetensors"))
        let text2 = message { _ = try StableDiffusion(directory: dir2.path) }
        #expect(text2.contains("text_encoder") && text2.contains("model.safetensors"), "\(text2)")

        let dir3 = try PipelineFixtures.materialised("sd2")
        try Data("not json".utf8).write(to: dir3.appendingPathComponent("scheduler/scheduler_config.json"))
        let text3 = message { _ = try StableDiffusion(directory: dir3.path) }
        #expect(text3.contains("scheduler_config.json"), "\(text3)")
    }

    @Test func mismatchedComponentsAreRefused() throws {
        let dir = try PipelineFixtures.materialised("sd1")
        let sd2Text = try PipelineFixtures.materialised("sd2").appendingPathComponent("text_encoder")
        let target = dir.appendingPathComponent("text_encoder")
        try FileManager.default.removeItem(at: target)
        try FileManager.default.copyItem(at: sd2Text, to: target)
        // Same width (16) so this loads as SD 2.x text with an SD1 UNet: allowed, detected as sd2.
        #expect(try StableDiffusion(directory: dir.path).version == .sd2)
        let config = dir.appendingPathComponent("unet/config.json")
        var json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any])
        json["cross_attention_dim"] = 8
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        let text = message { _ = try StableDiffusion(directory: dir.path) }
        #expect(text.contains("unet (") && text.contains("to_k.weight"), "\(text)")
    }

    /// The CompVis VAE key mapping against a file renamed by the fixture script's own
    /// (independent, Python) ldm mapping: both loaders must give the same decoder output.
    @Test func compVisVAEMatchesDiffusersFolder() throws {
        let dir = try PipelineFixtures.materialised("sd1")
        let folderVAE = try AutoencoderKL(directory: dir.appendingPathComponent("vae").path)
        let single = try AutoencoderKL(singleFile: PipelineFixtures.path("sd1_vae_ldm.safetensors"), config: folderVAE.config)
        var generator = PhiloxGenerator(seed: 3)
        let latent = generator.randn([1, 4, 8, 8])
        #expect(try single.decode(latent).scalars == folderVAE.decode(latent).scalars)
        let image = generator.randn([1, 3, 16, 16])
        #expect(try single.encode(image).mean.scalars == folderVAE.encode(image).mean.scalars)
        let names = CompVisVAEKeys(config: folderVAE.config)
        #expect(names.ldmName("decoder.up_blocks.0.upsamplers.0.conv.weight") == "first_stage_model.decoder.up.1.upsample.conv.weight")
        #expect(names.ldmName("encoder.mid_block.attentions.0.to_out.0.bias") == "first_stage_model.encoder.mid.attn_1.proj_out.bias")
    }

    @Test func singleFileWithoutUNetIsRefused() throws {
        let text = message { _ = try StableDiffusion(singleFile: PipelineFixtures.path("sd1_vae_ldm.safetensors")) }
        #expect(text.contains("sd1_vae_ldm.safetensors") && text.contains("not a CompVis Stable Diffusion checkpoint"), "\(text)")
    }
}
