import SwapModels
import SwapPipeline
import SwapTensor
import Testing
@testable import SwapEditing

/// Attention capture against diffusers (Fixtures/editing_reference.safetensors, made by
/// tools/reference/make_editing_fixtures.py with an attention processor that keeps the
/// conditional row's probabilities): the same 4-step DDIM run as SamplerParityTests. The maps
/// are probabilities of about 1/77; tolerance 1e-5 absolute.
@Suite("Attention capture")
struct AttentionCaptureTests {
    func ranSampler(_ capture: AttentionCaptureSettings = AttentionCaptureSettings()) throws -> Sampler {
        let s = try Sampler(model: ProcessFixtures.model.get(),
                            settings: SamplerSettings(prompt: ProcessFixtures.prompt, guidance: 6, steps: 4, seed: 11),
                            capture: capture)
        try s.run(.detached)
        return s
    }

    @Test func capturedCrossMapEqualsTheReferenceLayerAndStep() throws {
        let s = try ranSampler()
        let store = try #require(s.attention)
        let maps = store.crossMaps(step: 1)
        #expect(maps.map(\.layer.path) == ["down.1.attn.0.cross", "mid.attn.0.cross", "up.0.attn.0.cross", "up.0.attn.1.cross"])
        let map = try #require(maps.first { $0.layer.path == "up.0.attn.1.cross" })
        let t = s.tokenCount(ProcessFixtures.prompt)
        #expect(t == 9 && map.probabilities.shape == [2, 64, t])
        let reference = try ProcessFixtures.reference("attn.step1.up.0.attn.1.cross").sliced(axis: 2, start: 0, end: t)
        let error = try ProcessFixtures.maxAbsError(map.probabilities, reference)
        #expect(error <= 1e-5, "max abs error \(error)")
        print("[attention parity] step 1 up.0.attn.1.cross: max abs error \(error)")
    }

    @Test func aggregatedMapEqualsPromptToPromptsAggregate() throws {
        let s = try ranSampler()
        let store = try #require(s.attention)
        let reference = try ProcessFixtures.reference("attn.aggregate.res8")      // [8, 8, 77]
        var worst: Float = 0
        for k in 0..<s.tokenCount(ProcessFixtures.prompt) {
            let map = try store.map(AttentionQuery(tokens: [k], resolution: 8))
            #expect(map.layers.count == 4 && map.steps == [0, 1, 2, 3] && map.heads == 2)
            let expected = try reference.indexSelect(axis: 2, [k]).reshaped([8, 8])
            worst = max(worst, try ProcessFixtures.maxAbsError(map.values, expected))
        }
        #expect(worst <= 1e-5, "max abs error \(worst)")
        print("[attention parity] aggregate 8x8 over 4 steps x 4 layers x 2 heads: max abs error \(worst)")
        // A word's sub-tokens merge by averaging; the default resolution is the captured one nearest 16.
        let two = try store.map(AttentionQuery(tokens: [2, 3]))
        let a = try store.map(AttentionQuery(tokens: [2])).values, b = try store.map(AttentionQuery(tokens: [3])).values
        #expect(try ProcessFixtures.maxAbsError(two.values, (a + b) * 0.5) <= 1e-7)
        #expect(two.resolution == 8)
    }

    @Test func selectionsAndErrors() throws {
        let s = try ranSampler()
        let store = try #require(s.attention)
        let up = try store.map(AttentionQuery(tokens: [1], steps: 1...2, places: [.up], heads: [1]))
        #expect(up.layers == ["up.0.attn.0.cross", "up.0.attn.1.cross"] && up.steps == [1, 2] && up.heads == 1)
        let selfMap = try store.map(AttentionQuery(kind: .selfAttention))
        #expect(selfMap.values.shape == [8, 8] && selfMap.steps == [0, 1, 2, 3])
        #expect(abs(selfMap.values.sum().item - 1) < 1e-4)       // a mean of probability rows sums to 1
        func message(_ q: AttentionQuery) -> String {
            do { _ = try store.map(q); return "" } catch { return "\(error)" }
        }
        #expect(message(AttentionQuery(tokens: [1], resolution: 12)).contains("res must be 8, 16, 32 or 64"))
        #expect(message(AttentionQuery(tokens: [1], resolution: 16)).contains("captured: 8"))
        #expect(message(AttentionQuery(tokens: [1], steps: 7...9)).contains("captured: 0-3"))
        #expect(message(AttentionQuery(tokens: [40])).contains("outside the 9 captured tokens"))
        #expect(message(AttentionQuery(tokens: [1], heads: [2])).contains("head 2 is outside 0..<2"))
        #expect(message(AttentionQuery(kind: .selfAttention, steps: 0...1)).contains("summed over the steps"))
        #expect(message(AttentionQuery(tokens: [])).contains("needs a token"))
    }

    @Test func backForgetsTheUndoneStepsMaps() throws {
        let s = try ranSampler()
        let store = try #require(s.attention)
        #expect(store.crossSteps == [0, 1, 2, 3])
        let before = try store.map(AttentionQuery(tokens: [2])).values.scalars
        try s.back(2)
        #expect(store.crossSteps == [0, 1] && store.selfSteps.isEmpty)
        try s.run(.detached)
        #expect(try store.map(AttentionQuery(tokens: [2])).values.scalars == before)
    }

    @Test func captureSettingsLimitWhatIsStored() throws {
        let off = try ranSampler(.off)
        #expect(off.attention == nil)
        let few = try ranSampler(AttentionCaptureSettings(selfMaxResolution: 0, layers: ["mid.attn.0.cross"], steps: 2...3))
        let store = try #require(few.attention)
        #expect(store.crossSteps == [2, 3] && store.selfSteps.isEmpty)
        #expect(store.crossMaps(step: 2).map(\.layer.path) == ["mid.attn.0.cross"])
        #expect(store.storedBytes == 2 * (2 * 64 * 9 * 4))
    }

    /// The analytic layer list equals the loaded model's, and the SD 1.5 figure is reported.
    @Test func storedBytesPerStepAtStableDiffusion15Size() throws {
        let model = try ProcessFixtures.model.get()
        let tiny = AttentionCaptureSettings.unetLayers(config: model.unet.config, latentSide: 16)
        #expect(tiny.map(\.info) == model.unet.attentionLayers)
        #expect(tiny.allSatisfy { $0.side == 8 })
        let s = try ranSampler()
        let expected = AttentionCaptureSettings().storageBytes(layers: tiny, tokens: 9)
        #expect(try #require(s.attention).storedBytes(step: 0) == expected.crossPerStep)

        let sd15 = AttentionCaptureSettings.unetLayers(config: UNetConfig(), latentSide: 64)
        #expect(sd15.count == 32)
        let settings = AttentionCaptureSettings()
        let short = settings.storageBytes(layers: sd15, tokens: 10)        // "a photo of a cat" style prompts
        let full = settings.storageBytes(layers: sd15, tokens: 77)
        // Cross at 32 (5 layers x 1024), 16 (5 x 256) and 8 (1 x 64) queries, 8 heads, 4 bytes.
        #expect(short.crossPerStep == 8 * (5 * 1024 + 5 * 256 + 64) * 10 * 4)
        #expect(short.selfTotal == (5 * 1024 * 1024 + 5 * 256 * 256 + 64 * 64) * 4)
        print("[attention capture] SD 1.5, 512x512, defaults: \(short.crossPerStep) bytes/step cross (10 tokens), "
              + "\(full.crossPerStep) bytes/step (77 tokens); self sums \(short.selfTotal) bytes fixed; "
              + "50 steps, 10 tokens: \(50 * short.crossPerStep + short.selfTotal) bytes")
    }
}
