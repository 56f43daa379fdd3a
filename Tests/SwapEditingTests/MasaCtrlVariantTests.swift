import Foundation
import Testing
import SwapIO
import SwapModels
import SwapTensor
@testable import SwapEditing

/// MasaCtrl's union, mask and mask_auto variants: the attention arithmetic against the official
/// code's (tools/reference/make_masactrl_fixtures.py, max abs error ≤ 1e-5 on outputs of scale
/// ~1), and on the tiny SD1 model the identities that hold exactly in exact arithmetic (to
/// float rounding, ≤ 1e-4 on latents of scale ~1).
@Suite(.serialized) struct MasaCtrlVariantTests {
    static let references = Result {
        try SafeTensors.load(try InversionFixtures.fixtures.get().appendingPathComponent("masactrl_variants.safetensors").path)
    }
    static func reference(_ name: String) throws -> Tensor { try #require(try references.get()[name], "no \(name)") }
    static func mask(_ name: String) throws -> AttentionMask {
        let t = try reference(name)
        return try AttentionMask(height: t.shape[0], width: t.shape[1], values: t.scalars)
    }

    @Test func unionAndMaskMatchTheOfficialArithmetic() throws {
        let scale = 1 / Float(8).squareRoot()
        let union = try MasaCtrlAttention.union(query: Self.reference("q_t"), sourceKey: Self.reference("k_s"), sourceValue: Self.reference("v_s"),
                                                ownKey: Self.reference("k_t"), ownValue: Self.reference("v_t"), scale: scale)
        let unionError = try InversionFixtures.maxAbsError(union, Self.reference("union"))
        let masked = try MasaCtrlAttention.masked(query: Self.reference("q_t"), key: Self.reference("k_s"), value: Self.reference("v_s"),
                                                  keyMask: Self.mask("mask_s").resized(height: 4, width: 4),
                                                  queryMask: Self.mask("mask_t").resized(height: 4, width: 4), scale: scale)
        let maskError = try InversionFixtures.maxAbsError(masked, Self.reference("masked"))
        print("masactrl variants vs reference: union \(unionError), mask \(maskError)")
        #expect(unionError <= 1e-5 && maskError <= 1e-5)
    }

    @Test func nearestResizeFollowsPyTorch() throws {
        let m = try AttentionMask(height: 2, width: 3, values: [1, 0, 1, 0, 1, 0])
        #expect(m.resized(height: 4, width: 6).floats == [1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0])
        #expect(m.resized(height: 1, width: 1).floats == [1])
        #expect(throws: EditingError.self) { try AttentionMask(height: 2, width: 2, values: [1, 0, 1]) }
    }

    static func edit(_ variant: MasaCtrlVariant, target: String, masks: MasaCtrlMasks? = nil) throws -> MasaCtrlEdit {
        var settings = MasaCtrlEditSettings(target: target)
        settings.control = MasaCtrlSettings(startStep: 0, startLayer: 0)
        settings.control.variant = variant
        settings.control.autoMaskResolution = 8
        settings.masks = masks
        settings.steps = 4
        let p = try MasaCtrlEdit(model: try ProcessFixtures.model.get(), source: .generated(prompt: "a red circle", seed: 5), settings: settings)
        try p.run(.detached)
        return p
    }

    @Test func variantsReduceToTheirIdentities() throws {
        let plain = try Self.edit(.replace, target: "a green triangle")
        // All-foreground masks: the foreground attention is plain MasaCtrl's, and every query keeps it.
        let ones = try AttentionMask(height: 2, width: 2, values: [1, 1, 1, 1])
        let full = try Self.edit(.mask, target: "a green triangle", masks: MasaCtrlMasks(source: ones, target: ones))
        let fullError = try InversionFixtures.maxAbsError(full.state.target, plain.state.target)
        // Identical prompts: the union's keys are the source's twice, which softmax averages away.
        let same = try Self.edit(.union, target: "a red circle")
        let sameError = try InversionFixtures.maxAbsError(same.state.target, same.state.source)
        let union = try Self.edit(.union, target: "a green triangle")
        let auto = try Self.edit(.maskAuto, target: "a green triangle")
        print("masactrl: mask(all ones) vs replace \(fullError); union(same prompt) target vs source \(sameError)")
        #expect(fullError <= 1e-4 && sameError <= 1e-4)
        #expect(union.controller.controlledCalls > 0 && auto.controller.controlledCalls > 0)
        #expect(try InversionFixtures.maxAbsError(union.state.target, plain.state.target) > 1e-3, "union differs from replace")
        let masks = try #require(auto.controller.lastAutoMasks, "mask_auto read the cross-attention")
        #expect(masks.source.height == 8 && masks.source.values.contains(true))
        #expect(try InversionFixtures.maxAbsError(auto.state.source, plain.state.source) == 0, "the source is never edited")
        #expect(throws: EditingError.self) { try Self.edit(.mask, target: "x") }
        #expect(throws: EditingError.self) { try Self.edit(.union, target: "x", masks: MasaCtrlMasks(source: ones, target: ones)) }
    }
}
