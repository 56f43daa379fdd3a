import Foundation
import Testing
import SwapTensor
@testable import SwapEditing
@testable import SwapModels

/// Prompt-to-Prompt pair invariants on the tiny SD1 model.
@Suite(.serialized) struct PromptToPromptTests {
    static func pair(_ source: String, _ target: String, mode: PromptToPromptMode = .replace,
                     configure: (inout PromptToPromptSettings) -> Void = { _ in }) throws -> PromptToPromptPair {
        var s = PromptToPromptSettings(source: source, target: target, mode: mode)
        s.steps = 6
        s.seed = 3
        configure(&s)
        return try PromptToPromptPair(model: try InversionFixtures.model.get(), settings: s)
    }

    @Test func identicalPromptsLeaveTheTargetEqualToTheSource() throws {
        let p = try Self.pair("a cat sitting on a car", "a cat sitting on a car") { $0.selfSteps = (0, 1); $0.crossSteps = (0, 1) }
        try p.run(.detached)
        // Both rows see identical inputs at every layer and the controller copies the source's
        // maps onto an identical target row, so the target is bit-identical to the source.
        #expect(p.state.target.scalars == p.state.source.scalars)
    }

    @Test func replaceEditsTheTargetOnlyAndStepEqualsRun() throws {
        let a = try Self.pair("a cat sitting on a car", "a dog sitting on a car")
        try a.run(.detached)
        let b = try Self.pair("a cat sitting on a car", "a dog sitting on a car")
        for _ in 0..<6 { try b.advance(.detached) }
        #expect(a.state.target.scalars == b.state.target.scalars)
        #expect(a.state.source.scalars == b.state.source.scalars)
        #expect(a.state.target.scalars != a.state.source.scalars)
        // The source row is what a plain two-row run gives: removing the controller changes
        // only the target.
        let c = try Self.pair("a cat sitting on a car", "a dog sitting on a car")
        try c.attach(nil)
        try c.run(.detached)
        #expect(c.state.source.scalars == a.state.source.scalars)
        #expect(c.state.target.scalars != a.state.target.scalars)
    }

    @Test func attachFromAnEarlierStepRewindsAndMatchesAFreshRun() throws {
        let a = try Self.pair("a cat sitting on a car", "a dog sitting on a car")
        try a.run(.detached)
        let b = try Self.pair("a cat sitting on a car", "a dog sitting on a car")
        let controller = try #require(b.state.controller)
        try b.attach(nil)
        try b.advance(3, .detached)
        try b.attach(controller, fromStep: 0)   // rewinds to step 0 with the controller back
        #expect(b.index == 0)
        try b.run(.detached)
        #expect(a.state.target.scalars == b.state.target.scalars)
        // back then step reproduces the same latents.
        try b.back(2)
        try b.run(.detached)
        #expect(a.state.target.scalars == b.state.target.scalars)
    }

    @Test func refineReweightAndBlendRun() throws {
        let r = try Self.pair("a cat sitting on a car", "a black cat sitting on a car", mode: .refine) {
            $0.blendWords = ["cat"]
        }
        try r.run(.detached)
        let mask = try #require(r.state.controller?.localBlend).mask(height: 16, width: 16)
        let on = mask.scalars.reduce(0, +)
        #expect(on > 0 && on <= 256)
        // Outside the mask the target equals the source (z_src + 0·(…)).
        for (k, m) in mask.scalars.enumerated() where m == 0 {
            for ch in 0..<4 { #expect(r.state.target.scalars[ch * 256 + k] == r.state.source.scalars[ch * 256 + k]) }
        }
        let w = try Self.pair("a smiling cat", "a smiling cat", mode: .reweight) { $0.weights = [("smiling", 5)] }
        try w.run(.detached)
        #expect(w.state.target.scalars != w.state.source.scalars)
    }

    @Test func badInputIsReported() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        #expect(message { _ = try Self.pair("a cat", "a black cat") }.contains("same number of words"))
        #expect(message { _ = try Self.pair("a cat", "a cat", mode: .reweight) { $0.weights = [("dog", 2)] } }.contains("'dog' is not a word of the target prompt"))
        #expect(message { _ = try Self.pair("a cat", "a dog") { $0.blendWords = ["bird"] } }.contains("'bird' is a word of neither prompt"))
        #expect(message { _ = try Self.pair("a cat", "a dog") { $0.crossSteps = (0, 1.5) } }.contains("cross_steps"))
    }

    /// The replace edit on hand-made maps: M′ = M·W mixed by α, rows outside the conditional
    /// target untouched.
    @Test func controllerReplacesOnlyTheConditionalTarget() throws {
        var w = [Float](repeating: 0, count: 77 * 77)
        for i in 0..<77 { w[i * 77 + (76 - i)] = 1 }   // a token reversal
        var alpha = [Float](repeating: 1, count: 77)
        alpha[5] = 0
        let c = PromptToPromptController(edit: .replace(matrix: Tensor(shape: [77, 77], scalars: w)),
                                         crossWindow: [alpha, alpha], selfWindow: 0..<1)
        let p = Tensor.randn([4, 2, 3, 77], seed: 1)
        let base = try p.sliced(axis: 0, start: 2, end: 3).scalars
        let own = try p.sliced(axis: 0, start: 3, end: 4).scalars
        let layer = AttentionLayerInfo(path: "mid.attn.0.cross", place: .mid, kind: .crossAttention, block: 0, attention: 0,
                                       transformerBlock: 0, heads: 2, headDim: 4, order: 1)
        let linear = Linear(weight: Tensor(zeros: [8, 4]), bias: nil)
        let call = AttentionCall(layer: layer, height: 1, width: 3, rows: RowRole.guidanceBatch(branches: 2), timesteps: [1, 1, 1, 1],
                                 input: Tensor(zeros: [4, 3, 8]), context: Tensor(zeros: [4, 77, 4]), toK: linear, toV: linear)
        #expect(c.probabilityAccess(call) == .replace)
        let out = try #require(try c.probabilities(call, p))
        let edited = try out.sliced(axis: 0, start: 3, end: 4).scalars
        for q in 0..<6 {
            for n in 0..<77 {
                let expected = n == 5 ? own[q * 77 + n] : base[q * 77 + (76 - n)]
                #expect(edited[q * 77 + n] == expected)
            }
        }
        #expect(try out.sliced(axis: 0, start: 0, end: 3).scalars == p.sliced(axis: 0, start: 0, end: 3).scalars)
    }

    /// The local-blend mask on a hand-made map: one peak max-pooled to 3×3, resized ×2
    /// (nearest) to 6×6 latent pixels; a second, weaker spot below the threshold stays out;
    /// the target's own mask is united with the source's.
    @Test func localBlendMask() throws {
        let blend = LocalBlend(sourceTokens: [1], targetTokens: [1], threshold: 0.3)
        var source = [Float](repeating: 0, count: 16), target = [Float](repeating: 0, count: 16)
        source[1 * 4 + 1] = 10      // peak at (1, 1)
        source[3 * 4 + 3] = 2       // 0.2 of the peak: below 0.3
        target[0] = 1               // the target's own spot at (0, 0)
        blend.maps.blend[4] = (Tensor(shape: [16], scalars: source), Tensor(shape: [16], scalars: target))
        let mask = try blend.mask(height: 8, width: 8).scalars
        for y in 0..<8 {
            for x in 0..<8 {
                let inPeak = (0...2).contains(y / 2) && (0...2).contains(x / 2)   // pooled rows/cols 0...2
                #expect(mask[y * 8 + x] == (inPeak ? 1 : 0), "(\(y), \(x))")
            }
        }
        // Before the start step nothing changes; after it, outside the mask the source wins.
        let late = LocalBlend(sourceTokens: [1], targetTokens: [1], startStep: 2)
        late.maps = blend.maps
        let zs = Tensor.randn([1, 4, 8, 8], seed: 1), zt = Tensor.randn([1, 4, 8, 8], seed: 2)
        #expect(try late.apply(source: zs, target: zt, step: 1).scalars == zt.scalars)
        let blended = try late.apply(source: zs, target: zt, step: 2).scalars
        #expect(blended[7 * 8 + 7] == zs.scalars[7 * 8 + 7])
        #expect(blended[0] == zs.scalars[0] + 1 * (zt.scalars[0] - zs.scalars[0]))
    }
}
