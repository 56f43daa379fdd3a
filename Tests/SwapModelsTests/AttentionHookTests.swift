import Foundation
import SwapModels
import SwapTensor
import Testing

/// Deterministic pseudo-random tensors for synthetic layers (not torch-compatible; none needed).
enum TestRandom {
    static func tensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        let values = (0..<shape.reduce(1, *)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
        return Tensor(shape: shape, scalars: values)
    }
}

/// One synthetic attention layer (C = 8, 2 heads, context width 6) on a 3×4 grid.
struct SyntheticAttention {
    let layer: AttentionLayer
    let channels = 8, heads = 2, contextDim = 6, height = 3, width = 4

    init(kind: AttentionKind) throws {
        let kv = kind == .selfAttention ? channels : contextDim
        layer = try AttentionLayer(
            toQ: Linear(weight: TestRandom.tensor([8, 8], seed: 1, scale: 0.6), bias: nil),
            toK: Linear(weight: TestRandom.tensor([8, kv], seed: 2, scale: 0.6), bias: nil),
            toV: Linear(weight: TestRandom.tensor([8, kv], seed: 3, scale: 0.6), bias: nil),
            toOut: Linear(weight: TestRandom.tensor([8, 8], seed: 4, scale: 0.6), bias: TestRandom.tensor([8], seed: 5)),
            heads: 2)
        self.kind = kind
    }
    let kind: AttentionKind

    var info: AttentionLayerInfo {
        AttentionLayerInfo(path: "test.attn.0.\(kind.rawValue)", place: .down, kind: kind, block: 0, attention: 0,
                           transformerBlock: 0, heads: heads, headDim: channels / heads, order: 0)
    }

    func run(_ x: Tensor, context: Tensor?, hooks: [any AttentionHook], rows: [RowRole]) throws -> Tensor {
        try layer(x, context: context, hooks: hooks, layer: info, height: height, width: width, rows: rows,
                  timesteps: Array(repeating: 500, count: rows.count))
    }
}

/// The hook capabilities: observe, replace probabilities, supply keys/values, replace the
/// output in a region, composition, and the no-hook fast path.
@Suite("Attention hooks")
struct AttentionHookTests {
    let x = TestRandom.tensor([2, 12, 8], seed: 11)
    let text = TestRandom.tensor([2, 5, 6], seed: 12)
    let rows = [RowRole(.conditional, branch: 0), RowRole(.conditional, branch: 1)]

    @Test("uniform probabilities make every query's output toOut(mean of the values)")
    func uniformProbabilities() throws {
        let attn = try SyntheticAttention(kind: .crossAttention)
        let hook = UniformProbabilitiesHook(paths: [attn.info.path])
        let out = try attn.run(x, context: text, hooks: [hook], rows: rows)
        // Expected: uniform weights average V over the 5 keys; merged heads = mean of toV(text).
        let meanV = try attn.layer.toV(text).mean(axes: [1], keepDims: true)
        let expected = try attn.layer.toOut(meanV.broadcast(to: [2, 12, 8]))
        #expect(try Parity.maxAbsError(out, expected) < 1e-5)
        let plain = try attn.run(x, context: text, hooks: [], rows: rows)
        #expect(try Parity.maxAbsError(out, plain) > 1e-3)
    }

    @Test("an injected probability map gives P_source · V_target for the target row")
    func injectProbabilities() throws {
        let attn = try SyntheticAttention(kind: .crossAttention)
        let capture = CaptureHook()
        let plain = try attn.run(x, context: text, hooks: [capture], rows: rows)
        let p = try #require(capture.captured[attn.info.path])  // [2, 2, 12, 5]
        let out = try attn.run(x, context: text, hooks: [InjectSourceProbabilitiesHook(kind: .crossAttention)], rows: rows)
        // Row 0 unchanged; row 1 uses row 0's probabilities with its own values.
        #expect(try Parity.maxAbsError(out.sliced(axis: 0, start: 0, end: 1), plain.sliced(axis: 0, start: 0, end: 1)) < 1e-6)
        let v1 = try attn.layer.toV(text.sliced(axis: 0, start: 1, end: 2)).reshaped([1, 5, 2, 4]).permuted([0, 2, 1, 3])
        let mixed = try p.sliced(axis: 0, start: 0, end: 1).matmul(v1).permuted([0, 2, 1, 3]).reshaped([1, 12, 8])
        #expect(try Parity.maxAbsError(out.sliced(axis: 0, start: 1, end: 2), attn.layer.toOut(mixed)) < 1e-5)
    }

    @Test("supplied keys and values: the target row attends to the source row's K and V")
    func keysAndValues() throws {
        let attn = try SyntheticAttention(kind: .selfAttention)
        let hook = SourceKeysValuesHook()
        let out = try attn.run(x, context: nil, hooks: [hook], rows: rows)
        #expect(hook.applied == 1)
        let x0 = try x.sliced(axis: 0, start: 0, end: 1), x1 = try x.sliced(axis: 0, start: 1, end: 2)
        // Row 1 with queries from x1 and keys/values from x0, computed from the projections directly.
        let split = { (t: Tensor) in try t.reshaped([1, 12, 2, 4]).permuted([0, 2, 1, 3]) }
        let q1 = try split(attn.layer.toQ(x1)), k0 = try split(attn.layer.toK(x0)), v0 = try split(attn.layer.toV(x0))
        let p = try (q1.matmul(k0.transposedLastTwo()) * 0.5).softmax()
        let expected1 = try attn.layer.toOut(p.matmul(v0).permuted([0, 2, 1, 3]).reshaped([1, 12, 8]))
        #expect(try Parity.maxAbsError(out.sliced(axis: 0, start: 1, end: 2), expected1) < 1e-5)
        let plain0 = try attn.run(x0, context: nil, hooks: [], rows: [rows[0]])
        #expect(try Parity.maxAbsError(out.sliced(axis: 0, start: 0, end: 1), plain0) < 1e-6)
    }

    @Test("region output: inside the box attention to a concept, outside the layer input itself")
    func regionOutput() throws {
        let attn = try SyntheticAttention(kind: .crossAttention)
        let concept = TestRandom.tensor([2, 5, 6], seed: 13).requiringGrad()
        let hook = RegionOutputHook(box: (top: 0.34, bottom: 1, left: 0.5, right: 1), concept: concept)
        let region = hook.regionTokens(height: 3, width: 4)
        #expect(region == [6, 7, 10, 11])  // rows 1–2, columns 2–3
        let out = try attn.run(x, context: text, hooks: [hook], rows: rows)
        let outside = try attn.layer.toOut(x)
        let withConcept = try attn.run(x, context: concept.detached(), hooks: [], rows: rows)
        for token in 0..<12 {
            let got = try out.sliced(axis: 1, start: token, end: token + 1)
            let want = try (region.contains(token) ? withConcept : outside).sliced(axis: 1, start: token, end: token + 1)
            #expect(try Parity.maxAbsError(got, want) < 1e-5, "token \(token)")
        }
        // Gradients reach the concept embedding through the hook.
        let g = try (out * out).sum().gradient(with: [concept])[0]
        #expect(!g.hasNonFinite)
        #expect(g.abs().max().item > 0)
    }

    @Test("hooks compose in order: a later hook observes an earlier hook's replacement")
    func composition() throws {
        let attn = try SyntheticAttention(kind: .crossAttention)
        let capture = CaptureHook()
        let out = try attn.run(x, context: text, hooks: [ScaleProbabilitiesHook(factor: 2), capture], rows: rows)
        let p = try #require(capture.captured[attn.info.path])
        let rowSums = try p.sum(axes: [3])
        #expect(rowSums.scalars.allSatisfy { abs($0 - 2) < 1e-5 })
        // Scaling P by 2 doubles the pre-projection output: toOut(2·o) − b = 2·(toOut(o) − b).
        let plain = try attn.run(x, context: text, hooks: [], rows: rows)
        let bias = try #require(attn.layer.toOut.bias)
        #expect(try Parity.maxAbsError(out - bias, (plain - bias) * 2) < 1e-5)
    }

    @Test("a hook that does nothing leaves the output bit-identical and sees no probabilities")
    func inertHook() throws {
        final class Inert: AttentionHook {}
        let unet = try ModelFixtures.unet("sd1")
        let f = try ModelFixtures.tensors("unet/sd1_fixture.safetensors")
        let (latent, context) = (try #require(f["latent"]), try #require(f["context"]))
        let plain = try unet(latent, timestep: 10, encoderHiddenStates: context)
        let inert = try unet(latent, timestep: 10, encoderHiddenStates: context, hooks: [Inert()])
        #expect(plain.scalars == inert.scalars)
        let none = CaptureHook(paths: [])
        _ = try unet(latent, timestep: 10, encoderHiddenStates: context, hooks: [none])
        #expect(none.calls.isEmpty)
    }
}
