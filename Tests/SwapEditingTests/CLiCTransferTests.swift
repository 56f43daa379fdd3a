import Foundation
import SwapTensor
import Testing
@testable import SwapEditing
@testable import SwapModels

/// CLiC transfer's blend and guidance update, and RoI matching's morphology, on the tiny SD1
/// model (exact identities of the formulas in spec clic-p3s-metrics.md §2.2–§2.3 and §3).
struct CLiCTransferTests {
    static func concept() throws -> (StableDiffusion, Tensor) {
        let model = try ProcessFixtures.model.get()
        var g = PhiloxGenerator(seed: 3)
        let image = g.rand([1, 3, 32, 32]) * 2 - 1
        let withToken = try model.addingTextualInversion(
            TextualInversionEmbedding(token: "<x>", vectors: model.textEncoder.tokenEmbedding.sliced(axis: 0, start: 1000, end: 1001)))
        return (withToken, image)
    }

    /// Steps before t_start take the noised target; later steps blend noisy·(1−M) + x·M; the
    /// code's update is a fresh Adam step, lr·g/(|g| + 1e-8), from the guidance gradient.
    @Test func blendAndGuidanceFollowTheFormulas() throws {
        let (model, image) = try Self.concept()
        var mask = Tensor(zeros: [32, 32])
        mask = try mask.replacing(axis: 0, at: Array(8..<24), with: Tensor(shape: [16, 32], repeating: 1))
        var s = CLiCTransferSettings()
        s.rescaleWindows(toSteps: 5)          // t_start 2, guidance at i < 3, blending at i ≤ 5 (every step)
        #expect(s.tStart == 2 && s.guidanceSteps == 3 && s.blendEnd == 5)
        let p = try CLiCTransfer(model: model, image: image, mask: mask, prompt: "a photo of <x>", token: "<x>", settings: s)
        try p.advance(RunContext.detached)
        #expect(p.state.blended?.scalars == p.state.background?.scalars)      // i = 0 < t_start
        try p.advance(RunContext.detached)
        let before = p.state.latent
        try p.advance(RunContext.detached)
        let (noisy, blended) = (try #require(p.state.background), try #require(p.state.blended))
        let expected = try noisy * (1 - p.latentMask) + before * p.latentMask
        #expect(blended.scalars == expected.scalars)                           // i = 2 ≥ t_start
        let t = p.scheduler.integerTimesteps[2]
        let g = try p.guidance(latent: blended, timestep: t, token: try #require(p.tokenIndex)).gradient
        let guided = try #require(p.state.guided)
        let step = try blended - guided
        let update = try g / (g.abs() + 1e-8) * s.guidanceRate
        #expect(zip(step.scalars, update.scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-6 })
        #expect(p.state.guidanceLoss.isFinite && p.state.guidanceLoss > 0)
        try p.advance(RunContext.detached)                                     // i = 3: no guidance
        #expect(p.state.guided == nil && p.state.guidanceLoss.isNaN)
    }

    @Test func openingRemovesSpecksAndKeepsBlocks() {
        var values = [Float](repeating: 0, count: 8 * 8)
        for y in 2..<6 { for x in 1..<5 { values[y * 8 + x] = 1 } }   // a 4x4 block
        values[0 * 8 + 7] = 1                                           // a speck
        let x = Tensor(shape: [8, 8], scalars: values)
        let eroded = CLiCRoIMatching.morphology(x, kernel: 3, erode: true)
        #expect(eroded.scalars.enumerated().filter { $0.element == 1 }.map(\.offset) == [3 * 8 + 2, 3 * 8 + 3, 4 * 8 + 2, 4 * 8 + 3])
        let opened = CLiCRoIMatching.morphology(eroded, kernel: 3, erode: false)
        var block = [Float](repeating: 0, count: 64)
        for y in 2..<6 { for x in 1..<5 { block[y * 8 + x] = 1 } }
        #expect(opened.scalars == block)
    }
}
