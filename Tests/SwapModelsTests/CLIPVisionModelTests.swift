import Foundation
import Testing
import SwapIO
import SwapTensor
@testable import SwapModels

// Reference: Fixtures/networks/ (tools/reference/make_network_metric_fixtures.py): a tiny random
// transformers CLIPModel (vision: image 32, patch 8, hidden 32, 2 layers, 4 heads; text: the real
// 49408-token vocabulary, hidden 8, 2 layers; projection 16), CLIPImageProcessorPil preprocessing
// of two PNGs (48x40 and 40x40), and the CLIPScore / CLIP-I values.
//
// Tolerances: preprocessing max |swift − transformers| ≤ 1e-5 (the 8-bit resize is exact; the
// rest is float rounding); model outputs max |swift − torch| ≤ 1e-4 × max |torch|; cosines and
// scores ≤ 1e-4 absolute.

@Suite struct CLIPVisionModelTests {
    static let tolerance: Float = 1e-4

    func check(_ got: Tensor, _ name: String) throws {
        let expected = try NetworkFixtures.tensor(name)
        let (rel, scale) = try relativeMaxError(got, expected)
        print("CLIP parity \(name): max abs error / scale = \(rel) (scale \(scale))")
        #expect(rel <= Self.tolerance, "\(name): relative max error \(rel)")
    }

    func photo(_ name: String) throws -> Image { try Image.load(try NetworkFixtures.path(name)) }

    @Test func configFromCLIPModelFolder() throws {
        let config = try CLIPVisionConfig(contentsOf: try NetworkFixtures.path("clip_tiny/config.json"))
        #expect(config == CLIPVisionConfig(hiddenSize: 32, intermediateSize: 37, projectionDim: 16, numHiddenLayers: 2,
                                           numAttentionHeads: 4, imageSize: 32, patchSize: 8))
        #expect(config.gridSize == 4 && config.numPositions == 17)
    }

    @Test func preprocessingMatchesCLIPImageProcessor() throws {
        let clip = try NetworkFixtures.clip.get()
        for (file, name) in [("photo.png", "clip.pixel_values"), ("photo2.png", "clip.pixel_values2")] {
            let got = try clip.preprocessing.pixels(try photo(file))
            let expected = try NetworkFixtures.tensor(name)
            #expect(got.shape == expected.shape)
            let error = zip(got.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
            print("CLIP preprocessing \(file): max abs error \(error)")
            #expect(error <= 1e-5, "\(file): max abs error \(error)")
        }
        // 48 wide, 40 high → 38x32 (int(32·48/40) = 38), then a centered 32x32 crop.
        let p = CLIPImagePreprocessing(shortestEdge: 32, cropSize: 32)
        #expect(p.resizedSize(width: 48, height: 40) == (38, 32) && p.resizedSize(width: 40, height: 41) == (32, 32))
    }

    @Test func visionTowerMatchesTransformers() throws {
        let clip = try NetworkFixtures.clip.get()
        let pixels = try NetworkFixtures.tensor("clip.pixel_values")
        let out = try clip.vision(pixels, outputHiddenStates: true)
        try check(out.lastHiddenState, "clip.last_hidden_state")
        #expect(out.hiddenStates?.count == 3)
        let both = try Tensor.concat([pixels, NetworkFixtures.tensor("clip.pixel_values2")], axis: 0)
        try check(try clip.vision.imageEmbeddings(both), "clip.image_embeds")
        // The tower alone, from the same folder.
        let tower = try CLIPVisionModel(directory: try NetworkFixtures.path("clip_tiny"))
        try check(try tower.imageEmbeddings(both), "clip.image_embeds")
        // Through the preprocessing from the PNGs.
        try check(try clip.imageEmbeddings([try photo("photo.png"), try photo("photo2.png")]), "clip.image_embeds")
    }

    @Test func patchFeaturesAreThePatchTokens() throws {
        let clip = try NetworkFixtures.clip.get()
        let features = try clip.patchFeatures(try photo("photo.png"))
        #expect(features.shape == [16, 32] && clip.vision.gridSize == 4)
        let expected = try NetworkFixtures.tensor("clip.last_hidden_state").sliced(axis: 1, start: 1, end: 17).reshaped([16, 32])
        let (rel, _) = try relativeMaxError(features, expected)
        #expect(rel <= Self.tolerance, "patch features: relative max error \(rel)")
        // layer: -1 is the last layer; 0 the embeddings; out of range is an error.
        let last = try clip.patchFeatures(try photo("photo.png"), layer: -1)
        #expect(last.scalars == features.scalars)
        #expect(try clip.patchFeatures(try photo("photo.png"), layer: 0).shape == [16, 32])
        #expect(throws: TensorError.self) { try clip.patchFeatures(try photo("photo.png"), layer: 3) }
    }

    @Test func textEmbeddingsAndScoresMatchTransformers() throws {
        let clip = try NetworkFixtures.clip.get()
        let texts = ["a red circle", "A photo depicts a blue square"]
        let ids = try NetworkFixtures.tensor("clip.input_ids")
        let s = ids.scalars
        let expectedIDs = (0..<2).map { b in (0..<77).map { Int(s[b * 77 + $0]) } }
        #expect(texts.map { clip.tokenizer.encode($0) } == expectedIDs)
        try check(try clip.text.pooledOutput(expectedIDs, eosTokenID: 49407), "clip.text_pooled")
        // The legacy argmax pooling picks the same (first) end-of-text position here.
        try check(try clip.text.pooledOutput(expectedIDs, eosTokenID: nil), "clip.text_pooled")
        let textEmbeds = try clip.textEmbeddings(texts)
        try check(textEmbeds, "clip.text_embeds")
        let imageEmbeds = try clip.imageEmbeddings([try photo("photo.png"), try photo("photo2.png")])
        let cosine = try CLIPModel.cosine(imageEmbeds.sliced(axis: 0, start: 0, end: 1), textEmbeds)
        let imageCosine = try CLIPModel.cosine(imageEmbeds.sliced(axis: 0, start: 0, end: 1), imageEmbeds.sliced(axis: 0, start: 1, end: 2))
        for (got, name) in [(cosine, "clip.cosine"), (imageCosine, "clip.image_cosine"),
                            (cosine.relu() * CLIPModel.clipScoreWeight, "clip.clipscore")] {
            let error = zip(got.scalars, try NetworkFixtures.tensor(name).scalars).map { abs($0 - $1) }.max() ?? .infinity
            print("CLIP \(name): \(got.scalars), max abs error \(error)")
            #expect(error <= 1e-4, "\(name): max abs error \(error)")
        }
    }

    @Test func loadingErrorsNameTheTensor() throws {
        let source = try NetworkFixtures.path("clip_tiny/model.safetensors")
        var tensors = try SafeTensors.load(source)
        let config = try CLIPVisionConfig(contentsOf: try NetworkFixtures.path("clip_tiny/config.json"))
        tensors["vision_model.encoder.layers.1.mlp.fc1.weight"] = nil
        var text = ""
        do { _ = try CLIPVisionModel(config: config, weights: WeightStore(tensors: tensors)) } catch { text = "\(error)" }
        #expect(text.hasPrefix("missing tensor 'vision_model.encoder.layers.1.mlp.fc1.weight' (expected shape [37,32])"), "\(text)")
        tensors = try SafeTensors.load(source)
        tensors["vision_model.embeddings.position_embedding.weight"] = Tensor(zeros: [5, 32])
        do { _ = try CLIPVisionModel(config: config, weights: WeightStore(tensors: tensors)) } catch { text = "\(error)" }
        #expect(text == "in-memory tensor 'vision_model.embeddings.position_embedding.weight' has shape [5,32], expected [17,32]", "\(text)")
        // Wrong pixel shapes are errors, not traps.
        let clip = try NetworkFixtures.clip.get()
        #expect(throws: TensorError.self) { try clip.vision(Tensor(zeros: [1, 3, 31, 32])) }
    }
}
