import Foundation
import Testing
import SwapModels
import SwapTensor
@testable import SwapEditing

/// Target-text inversion, the progressive transition and BARET's three branches on the tiny SD1
/// model (tools/reference/make_pipeline_fixtures.py), inverting the image of
/// Fixtures/inversion_reference.safetensors (tools/reference/make_p2p_fixtures.py). BARET has no
/// public code, so these tests check the properties the reconstruction must have (spec §8)
/// rather than parity with a reference.
@Suite(.serialized) struct BARETTests {
    static let target = "a photo of a dog"

    static func ttis(_ settings: TargetTextInversionSettings = TargetTextInversionSettings(), prompt: String = target) throws -> TargetTextInversion {
        let setup = try InversionSetup(model: try InversionFixtures.model.get(), image: try InversionFixtures.reference("image"),
                                       prompt: prompt, steps: InversionFixtures.steps, op: "ttis")
        let ddim = try DDIMInversion(setup: setup)
        try ddim.run(.detached)
        let p = try TargetTextInversion(setup: setup, pivot: ddim.result, settings: settings)
        try p.run(.detached)
        return p
    }

    static func identical(_ a: Tensor, _ b: Tensor) -> Bool { a.shape == b.shape && zip(a.scalars, b.scalars).allSatisfy { $0.0.bitPattern == $0.1.bitPattern } }

    @Test func ttisBeatsPlainDDIMInversionAtEveryStep() throws {
        let tuned = try Self.ttis()
        let plain = try Self.ttis(TargetTextInversionSettings(iterationsPerStep: 0))
        let a = tuned.pivotErrors, b = plain.pivotErrors
        print("TTIS per-step pivot error: \(a.map { String(format: "%.3e", $0) })")
        print("DDIM per-step pivot error: \(b.map { String(format: "%.3e", $0) })")
        print("reconstruction MSE: TTIS \(try tuned.reconstructionError()) (\(tuned.iterations.reduce(0, +)) iterations) vs DDIM \(try plain.reconstructionError())")
        #expect(a.count == InversionFixtures.steps && b.count == InversionFixtures.steps)
        for i in a.indices { #expect(a[i] < b[i], "step \(i): TTIS \(a[i]) vs DDIM \(b[i])") }
        #expect(try tuned.reconstructionError() < plain.reconstructionError())
        // No tuning leaves every C_i at e_tgt bit for bit.
        #expect(plain.state.embeddings.allSatisfy { Self.identical($0, plain.setup.conditional) })
        #expect(tuned.result.embeddings.count == InversionFixtures.steps)
    }

    @Test func ttisSteppingBackRerunsAStepWithNewSettings() throws {
        let setup = try InversionSetup(model: try InversionFixtures.model.get(), image: try InversionFixtures.reference("image"),
                                       prompt: Self.target, steps: InversionFixtures.steps, op: "ttis")
        let ddim = try DDIMInversion(setup: setup)
        try ddim.run(.detached)
        let p = try TargetTextInversion(setup: setup, pivot: ddim.result)
        try p.advance(2, .detached)
        let latent = p.state.latent
        try p.back(1)
        try p.advance(.detached)
        #expect(Self.identical(p.state.latent, latent), "replaying a step is deterministic")
        try p.back(1)
        p.settings.iterationsPerStep = 1
        try p.advance(.detached)
        #expect(p.iterations.count == 2 && p.iterations[1] == 1)
        #expect(p.trace.series("inner_iterations")?.count == 2)
    }

    @Test func rigidBaretWithoutInjectionKeepsTransitionOnReconstruction() throws {
        let tuned = try Self.ttis().result
        var settings = BaretSettings(transition: .rigid, attention: BalancedAttentionSettings(selfInject: 0, crossInject: 0))
        let b = try BaretEdit(model: try InversionFixtures.model.get(), inversion: tuned, settings: settings)
        try b.run(.detached)
        let (rec, trans, edit) = (b.state.latents[0], b.state.latents[1], b.state.latents[2])
        // λ = 1: ê_i = C_i exactly, and equal UNet rows are bit-identical.
        #expect(Self.identical(rec, trans))
        // The reconstruction branch follows TTIS's own trajectory (a batch of 6 rows instead of 2).
        let ttis = try Self.ttis()
        let recErr = try InversionFixtures.maxAbsError(rec, ttis.state.latent)
        // The editing branch without injection is plain sampling with e_tgt (the paper's I_init).
        let plain = try Self.ttis(TargetTextInversionSettings(iterationsPerStep: 0))
        let editErr = try InversionFixtures.maxAbsError(edit, plain.state.latent)
        print("baret λ=1 no injection: reconstruction vs TTIS \(recErr), editing vs I_init \(editErr), editing vs reconstruction MSE \(try InversionFixtures.mse(edit, rec))")
        // Measured 0 (bit-identical across the batch sizes); 1e-4 allows for batch-size rounding.
        #expect(recErr <= 1e-4 && editErr <= 1e-4)

        // With no tuning (C_i = e_tgt) all three branches are the reconstruction, bit for bit.
        let untuned = plain.result
        let same = try BaretEdit(model: try InversionFixtures.model.get(), inversion: untuned, settings: settings)
        try same.run(.detached)
        #expect(Self.identical(same.state.latents[2], same.state.latents[0]) && Self.identical(same.state.latents[1], same.state.latents[0]))

        // Injection changes the editing branch only; stepping equals running.
        settings.attention = BalancedAttentionSettings(selfInject: 1, crossInject: 1)
        settings.transition = TransitionSchedule()
        let injected = try BaretEdit(model: try InversionFixtures.model.get(), inversion: tuned, settings: settings, capture: AttentionCaptureSettings())
        try injected.advance(3, .detached)
        try injected.run(.detached)
        #expect(Self.identical(injected.state.latents[0], rec))
        #expect(try InversionFixtures.mse(injected.state.latents[2], edit) > 1e-8)
        #expect(try InversionFixtures.mse(injected.state.latents[1], rec) > 1e-8, "λ < 1 moves the transition branch")
        // Every branch's cross-attention is captured; the editing branch's maps are the transition's.
        let step0 = injected.attention?.crossMaps(step: 0, branch: 2) ?? []
        let trans0 = injected.attention?.crossMaps(step: 0, branch: 1) ?? []
        #expect(!step0.isEmpty && step0.count == trans0.count)
        for (e, t) in zip(step0, trans0) { #expect(Self.identical(e.probabilities, t.probabilities)) }
        // A rewound run replays bit for bit.
        let final = injected.state.latents[2]
        try injected.back(2)
        try injected.run(.detached)
        #expect(Self.identical(injected.state.latents[2], final))
    }

    /// The issue's property, "with λ = 1 and no injection BARET's editing branch equals the
    /// reconstruction", holds under the `transition` reading of the editing text (the paper's
    /// symbol was lost; the spec's default reads e_tgt, checked above as I_init).
    @Test func transitionEditConditionWithoutInjectionIsTheReconstruction() throws {
        let tuned = try Self.ttis().result
        var settings = BaretSettings(transition: .rigid, attention: BalancedAttentionSettings(selfInject: 0, crossInject: 0))
        settings.attention.editCondition = .transition
        let b = try BaretEdit(model: try InversionFixtures.model.get(), inversion: tuned, settings: settings)
        try b.run(.detached)
        #expect(Self.identical(b.state.latents[2], b.state.latents[0]), "editing = reconstruction, bit for bit")
        #expect(Self.identical(b.state.latents[1], b.state.latents[0]))

        // Inside the cross window e_tgt's values reach the editing branch, so it leaves the reconstruction.
        settings.attention.crossInject = 0.5
        let windowed = try BaretEdit(model: try InversionFixtures.model.get(), inversion: tuned, settings: settings)
        try windowed.run(.detached)
        let moved = try InversionFixtures.mse(windowed.state.latents[2], windowed.state.latents[0])
        print("baret edit_condition transition, cross window 0.5: editing vs reconstruction MSE \(moved)")
        #expect(moved > 1e-8)
        #expect(Self.identical(windowed.state.latents[0], b.state.latents[0]), "the reconstruction branch is untouched")
    }

    @Test func transitionScheduleEndsAndImagicInterpolation() throws {
        let s = TransitionSchedule()
        #expect(s.lambda(step: 0, of: 50) == 0.8 && abs(s.lambda(step: 49, of: 50) - 0.1) < 1e-6)
        let c = Tensor(shape: [1, 2, 2], scalars: [1, 2, 3, 4]), e = Tensor(shape: [1, 2, 2], scalars: [0, 0, 0, 0])
        #expect(try TransitionSchedule.rigid.embedding(step: 0, tuned: [c], target: e, optimized: nil).scalars == c.scalars)
        let imagic = TransitionSchedule(interpolation: .imagic(eta: 0.25))
        #expect(try imagic.embedding(step: 0, tuned: [c], target: e, optimized: c).scalars == [0.75, 1.5, 2.25, 3])
        let tuned = try Self.ttis(TargetTextInversionSettings(iterationsPerStep: 1)).result
        let p = try ProgressiveTransition(model: try InversionFixtures.model.get(), inversion: tuned, schedule: .rigid)
        try p.run(.detached)
        let b = try BaretEdit(model: try InversionFixtures.model.get(), inversion: tuned,
                              settings: BaretSettings(transition: .rigid, attention: BalancedAttentionSettings(selfInject: 0, crossInject: 0)))
        try b.run(.detached)
        #expect(try InversionFixtures.maxAbsError(p.state.latent, b.state.latents[1]) <= 1e-4)
        let opt = try ImagicEmbeddingOptimization(iterations: 3).run(model: try InversionFixtures.model.get(), encodedLatent: tuned.pivot.encodedLatent,
                                                                        target: tuned.target, schedule: p.scheduler.schedule)
        #expect(opt.losses.count == 3 && opt.embedding.shape == tuned.target.shape)
        #expect(try InversionFixtures.mse(opt.embedding, tuned.target) > 0)
    }

    /// BARET's efficiency claim on the fixture image: TTIS (target text) and null-text inversion
    /// (caption) under the same cap (10 per step) and the same threshold; prints both counts and
    /// times. On the tiny random-weight model neither method gets near the threshold (losses ~1
    /// against 1e-5 … 2e-4), so both use the whole cap and the claim itself needs real weights
    /// (`swapscript bench baret --model DIR`); checked here: the counts, and that both optimisers
    /// lower their losses.
    @Test func efficiencyComparisonCountsIterationsAndTime() throws {
        let c = try InversionComparison.run(model: try InversionFixtures.model.get(), image: try InversionFixtures.reference("image"),
                                            caption: InversionFixtures.prompt, target: Self.target, steps: InversionFixtures.steps)
        for line in c.lines { print("efficiency: " + line) }
        #expect(c.targetText.count == 1)
        for cost in [c.nullText] + c.targetText {
            #expect(cost.iterations >= cost.steps && cost.iterations <= 10 * cost.steps && cost.convergedSteps <= cost.steps)
            #expect(cost.seconds > 0 && cost.reconstructionError.isFinite)
        }
        let tuned = try Self.ttis(TargetTextInversionSettings(iterationsPerStep: 10))
        #expect(tuned.state.losses.allSatisfy { ($0.last ?? 0) < ($0.first ?? 0) }, "TTIS lowers its loss within every step")
    }

    @Test func unfinishedInversionIsReported() throws {
        let setup = try InversionSetup(model: try InversionFixtures.model.get(), image: try InversionFixtures.reference("image"),
                                       prompt: Self.target, steps: InversionFixtures.steps, op: "ttis")
        let ddim = try DDIMInversion(setup: setup)
        try ddim.run(.detached)
        let p = try TargetTextInversion(setup: setup, pivot: ddim.result)
        #expect(throws: EditingError.self) { try BaretEdit(model: try InversionFixtures.model.get(), inversion: p.result) }
        #expect(throws: EditingError.self) { try TargetTextInversion(setup: setup, pivot: ddim.result, settings: TargetTextInversionSettings(iterationsPerStep: -1)) }
        var bad = BalancedAttentionSettings()
        bad.selfInject = 2
        let done = try Self.ttis(TargetTextInversionSettings(iterationsPerStep: 0)).result
        #expect(throws: EditingError.self) { try BaretEdit(model: try InversionFixtures.model.get(), inversion: done, settings: BaretSettings(attention: bad)) }
    }
}
