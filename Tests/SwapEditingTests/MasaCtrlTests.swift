import Foundation
import Testing
import SwapModels
import SwapTensor
@testable import SwapEditing

/// MasaCtrl on the tiny SD1 model (tools/reference/make_pipeline_fixtures.py): identity
/// properties, the gate, and that the control acts.
@Suite(.serialized) struct MasaCtrlTests {
    static func edit(source: MasaCtrlSource, target: String, startStep: Int = 0, startLayer: Int = 0, steps: Int = 6) throws -> MasaCtrlEdit {
        var settings = MasaCtrlEditSettings(target: target)
        settings.control = MasaCtrlSettings(startStep: startStep, startLayer: startLayer)
        settings.steps = steps
        let p = try MasaCtrlEdit(model: try ProcessFixtures.model.get(), source: source, settings: settings)
        try p.run(.detached)
        return p
    }

    @Test func sameSourceAndTargetPromptReproducesTheSource() throws {
        let prompt = "a red circle above a blue square"
        let p = try Self.edit(source: .generated(prompt: prompt, seed: 3), target: prompt)
        #expect(p.controller.controlledCalls > 0, "the control ran")
        #expect(try InversionFixtures.maxAbsError(p.state.target, p.state.source) == 0, "bit-identical")
        // The source row is plain sampling of the prompt (a batch of 4 rows instead of 2).
        let sampler = try Sampler(model: try ProcessFixtures.model.get(), settings: SamplerSettings(prompt: prompt, steps: 6, seed: 3), capture: .off)
        try sampler.run(.detached)
        let err = try InversionFixtures.maxAbsError(p.state.source, sampler.state.latent)
        print("masactrl source row vs sampler: max diff \(err)")
        #expect(err <= 1e-4)
    }

    @Test func controlChangesTheTargetOnlyInsideTheGate() throws {
        let source = MasaCtrlSource.generated(prompt: "a red circle", seed: 5)
        let controlled = try Self.edit(source: source, target: "a green triangle")
        let free = try Self.edit(source: source, target: "a green triangle", startStep: 6)
        #expect(free.controller.controlledCalls == 0)
        #expect(try InversionFixtures.maxAbsError(controlled.state.source, free.state.source) == 0, "the source is never edited")
        let dControlled = try InversionFixtures.mse(controlled.state.target, controlled.state.source)
        let dFree = try InversionFixtures.mse(free.state.target, free.state.source)
        print("target-source MSE: controlled \(dControlled), uncontrolled \(dFree)")
        #expect(dControlled < dFree, "reading the source's K, V pulls the target towards it")
        let layers = try ProcessFixtures.model.get().unet.attentionLayers
        let gate = MasaCtrlSettings().controls
        #expect(!layers.contains { gate(3, $0) } && layers.filter { $0.kind == .crossAttention }.allSatisfy { !gate(10, $0) })
        #expect(layers.filter { $0.kind == .selfAttention }.allSatisfy { gate(4, $0) == ($0.order / 2 >= 10) })
    }

    @Test func invertedRealImageWithItsOwnPromptIsReproduced() throws {
        let setup = try InversionSetup(model: try InversionFixtures.model.get(), image: try InversionFixtures.reference("image"),
                                       prompt: "", steps: 5, op: "invert")
        let ddim = try DDIMInversion(setup: setup)
        try ddim.run(.detached)
        let same = try Self.edit(source: .inverted(ddim.result, prompt: ""), target: "", steps: 5)
        #expect(try InversionFixtures.maxAbsError(same.state.target, same.state.source) == 0, "bit-identical")
        let edited = try Self.edit(source: .inverted(ddim.result, prompt: ""), target: "a photo of a dog", steps: 5)
        // The source row is unchanged by the control; only the text encoder's batch (3 prompts
        // instead of 2) differs, by float32 rounding.
        let sourceErr = try InversionFixtures.maxAbsError(edited.state.source, same.state.source)
        #expect(sourceErr <= 1e-4, "\(sourceErr)")
        #expect(try InversionFixtures.mse(edited.state.target, edited.state.source) > 0)
        #expect(throws: EditingError.self) { try Self.edit(source: .inverted(ddim.result, prompt: ""), target: "x", steps: 7) }
    }
}
