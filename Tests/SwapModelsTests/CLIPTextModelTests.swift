import Foundation
import Testing
import SwapIO
import SwapTensor
@testable import SwapModels

// Reference outputs: Fixtures/clip/text_reference.safetensors; models: Fixtures/clip/{sd1,sd2}/,
// sd1_single.safetensors, sd2_openclip.safetensors. All made by tools/reference/make_clip_fixtures.py
// (transformers 5.23.0 CLIPTextModel, hidden 32, 3 layers, 4 heads, intermediate 37, vocab 1000).
//
// Tolerance: max |swift − torch| ≤ 1e-4 × max |torch| over the whole output (inputs padded to 77).

@Suite struct CLIPTextModelTests {
    static let tolerance: Float = 1e-4

    func check(_ got: Tensor, _ name: String) throws {
        let expected = try CLIPFixtures.tensor(name)
        let (rel, scale) = try relativeMaxError(got, expected)
        print("CLIP parity \(name): max abs error / scale = \(rel) (scale \(scale))")
        #expect(rel <= Self.tolerance, "\(name): relative max error \(rel)")
    }

    @Test(arguments: ["sd1", "sd2"]) func diffusersFolderMatchesTransformers(flavor: String) throws {
        let model = try CLIPTextModel(directory: try CLIPFixtures.path(flavor))
        #expect(model.config.hiddenAct == (flavor == "sd1" ? .quickGELU : .gelu))
        #expect(model.config.numHiddenLayers == 3 && model.config.hiddenSize == 32 && model.config.vocabSize == 1000)
        let ids = try CLIPFixtures.inputIDs()
        #expect(ids.count == 2 && ids.allSatisfy { $0.count == 77 })
        let out = try model(ids, outputHiddenStates: true)
        try check(out.lastHiddenState, "\(flavor).last_hidden_state")
        let states = try #require(out.hiddenStates)
        #expect(states.count == 4)
        for (i, h) in states.enumerated() { try check(h, "\(flavor).hidden_states.\(i)") }
        // diffusers clip_skip=1: final_layer_norm(hidden_states[-2]) (SD2-style penultimate layer).
        try check(try model.promptEmbeddings(ids, clipSkip: 1), "\(flavor).clip_skip_1")
        try check(try model.promptEmbeddings(ids), "\(flavor).last_hidden_state")
    }

    @Test func sd1SingleFileCheckpoint() throws {
        let config = try CLIPTextConfig(contentsOf: try CLIPFixtures.path("sd1/config.json"))
        let model = try CLIPTextModel(singleFile: try CLIPFixtures.path("sd1_single.safetensors"), config: config)
        try check(try model(try CLIPFixtures.inputIDs()).lastHiddenState, "sd1.last_hidden_state")
    }

    /// OpenCLIP names with fused in_proj; the extra (junk) 4th block and text_projection are ignored.
    @Test func sd2OpenCLIPSingleFileCheckpoint() throws {
        let config = try CLIPTextConfig(contentsOf: try CLIPFixtures.path("sd2/config.json"))
        let path = try CLIPFixtures.path("sd2_openclip.safetensors")
        #expect(CLIPCheckpointLayout.detect(try WeightStore(paths: [path])) == .openCLIP(prefix: "cond_stage_model.model."))
        let model = try CLIPTextModel(singleFile: path, config: config)
        try check(try model(try CLIPFixtures.inputIDs()).lastHiddenState, "sd2.last_hidden_state")
    }

    @Test func openCLIPKeyMapping() {
        let layout = CLIPCheckpointLayout.openCLIP(prefix: "cond_stage_model.model.")
        #expect(layout.fileKey(for: "text_model.encoder.layers.11.self_attn.k_proj.weight")! ==
                ("cond_stage_model.model.transformer.resblocks.11.attn.in_proj_weight", 1))
        #expect(layout.fileKey(for: "text_model.encoder.layers.0.mlp.fc2.bias")!.key ==
                "cond_stage_model.model.transformer.resblocks.0.mlp.c_proj.bias")
        #expect(layout.fileKey(for: "text_model.embeddings.position_embedding.weight")!.key ==
                "cond_stage_model.model.positional_embedding")
        #expect(layout.fileKey(for: "text_model.encoder.layers.x.mlp.fc2.bias") == nil)
        #expect(CLIPCheckpointLayout.compVisSD1.fileKey(for: "text_model.final_layer_norm.weight")!.key ==
                "cond_stage_model.transformer.text_model.final_layer_norm.weight")
    }

    /// Rewrites the sd1 fixture with `edit` applied and returns the loading error's message.
    func loadError(_ edit: (inout [String: Tensor]) -> Void) throws -> String {
        var tensors = try SafeTensors.load(try CLIPFixtures.path("sd1/model.safetensors"))
        edit(&tensors)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("clip-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors.write(tensors, to: path)
        let config = try CLIPTextConfig(contentsOf: try CLIPFixtures.path("sd1/config.json"))
        do {
            _ = try CLIPTextModel(config: config, weights: try WeightStore(paths: [path]))
        } catch let e as ModelLoadError {
            return e.message
        }
        Issue.record("loading succeeded")
        return ""
    }

    @Test func missingTensorIsNamed() throws {
        let message = try loadError { $0["encoder.layers.1.self_attn.v_proj.bias"] = nil }
        #expect(message.contains("missing tensor 'encoder.layers.1.self_attn.v_proj.bias'"), "\(message)")
    }

    @Test func misshapenTensorIsNamed() throws {
        let message = try loadError { $0["encoder.layers.2.mlp.fc1.weight"] = Tensor(zeros: [36, 32]) }
        #expect(message.contains("'encoder.layers.2.mlp.fc1.weight'") && message.contains("[36,32]") && message.contains("[37,32]"), "\(message)")
    }

    @Test func truncatedFileIsNamed() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: try CLIPFixtures.path("sd1/model.safetensors")))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-trunc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(atPath: try CLIPFixtures.path("sd1/config.json"), toPath: dir.appendingPathComponent("config.json").path)
        try bytes.prefix(bytes.count / 2).write(to: dir.appendingPathComponent("model.safetensors"))
        do {
            _ = try CLIPTextModel(directory: dir.path)
            Issue.record("loading a truncated file succeeded")
        } catch let e as ModelLoadError {
            #expect(e.message.contains("model.safetensors"), "\(e.message)")
        }
    }

    @Test func badConfigAndInputsAreRejected() throws {
        #expect(throws: ModelLoadError.self) { try CLIPTextConfig(json: ["hidden_act": "relu"]) }
        #expect(throws: ModelLoadError.self) { try CLIPTextConfig(json: ["hidden_size": 30, "num_attention_heads": 4]) }
        #expect(throws: ModelLoadError.self) { try CLIPTextConfig(json: ["num_hidden_layers": "three"]) }
        let model = try CLIPTextModel(directory: try CLIPFixtures.path("sd1"))
        #expect(throws: CLIPTextInputError.self) { try model([[1, 2, 1000]]) }
        #expect(throws: CLIPTextInputError.self) { try model([[1, 2], [1]]) }
        #expect(throws: CLIPTextInputError.self) { try model([[Int](repeating: 1, count: 78)]) }
        #expect(throws: CLIPTextInputError.self) { try model.promptEmbeddings([[1]], clipSkip: 4) }
    }

    /// The causal mask: changing a later token leaves earlier positions unchanged.
    @Test func laterTokensDoNotChangeEarlierPositions() throws {
        let model = try CLIPTextModel(directory: try CLIPFixtures.path("sd2"))
        let a = try model([[5, 6, 7, 8, 9]]).lastHiddenState, b = try model([[5, 6, 7, 100, 200]]).lastHiddenState
        let prefixA = try a.sliced(axis: 1, start: 0, end: 3).scalars, prefixB = try b.sliced(axis: 1, start: 0, end: 3).scalars
        #expect(prefixA == prefixB)
        #expect(a.scalars != b.scalars)
    }
}
