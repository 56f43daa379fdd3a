import Foundation
import Testing
@testable import SwapModels

/// `swapscript inspect` on the tiny SD1-style pipeline folder of Tests/SwapPipelineTests/Fixtures,
/// made by tools/reference/make_pipeline_fixtures.py.
struct CheckpointInspectorTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SwapPipelineTests/Fixtures/pipeline/sd1").path

    @Test func describesEveryComponent() throws {
        let lines = try CheckpointInspector.describe(Self.folder)
        for component in ["scheduler: DDIMScheduler (diffusers)", "text_encoder: CLIPTextModel (transformers)",
                          "unet: UNet2DConditionModel (diffusers)", "vae: AutoencoderKL (diffusers)"] {
            #expect(lines.contains(component), "missing \(component)")
        }
        #expect(lines.contains("    hidden_act: \"quick_gelu\""))
        let unetFile = try #require(lines.first { $0.hasPrefix("  diffusion_pytorch_model.safetensors") && $0.contains("tensors") })
        #expect(unetFile.contains("F32"))
    }

    @Test func listsTensorsWithShapes() throws {
        let lines = try CheckpointInspector.describe(Self.folder + "/unet/diffusion_pytorch_model.safetensors")
        #expect(lines.contains { $0.hasPrefix("  conv_in.weight  F32  [") })
    }

    @Test func missingPathIsAnError() {
        #expect(throws: ModelLoadError.self) { try CheckpointInspector.describe("/no/such/model") }
    }
}
