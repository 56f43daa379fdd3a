import Foundation
import SwapEditing
import SwapModels
import SwapTensor
import SwapWorld
import Testing

/// BARET on the embedded default model (issue 8: "TTIS reduces the per-step reconstruction
/// loss below plain DDIM inversion's on the default model"). ShapesWorld scene 0 (one object),
/// target text = its caption, 10 DDIM steps at CFG 7.5, the paper's settings (Adam lr 1e-3,
/// 5 iterations per step). Plain DDIM inversion is the same process with no iterations (I_init).
struct BARETDefaultModelTests {
    @Test func ttisBeatsPlainDDIMInversionOnTheDefaultModel() throws {
        let model = try DefaultModel.load()
        let scene = ShapesWorld.scene(seed: 0, objects: 1...1)
        let image = try scene.image.unsqueezed(0) * 2 - 1
        let setup = try InversionSetup(model: model, image: image, prompt: scene.caption, steps: 10, op: "ttis")
        let ddim = try DDIMInversion(setup: setup)
        try ddim.run(.detached)
        func ttis(_ iterations: Int) throws -> TargetTextInversion {
            let p = try TargetTextInversion(setup: setup, pivot: ddim.result,
                                            settings: TargetTextInversionSettings(iterationsPerStep: iterations))
            try p.run(.detached)
            return p
        }
        let tuned = try ttis(5), plain = try ttis(0)
        let a = tuned.pivotErrors, b = plain.pivotErrors
        print("default model, TTIS per-step pivot error: \(a.map { String(format: "%.3e", $0) })")
        print("default model, DDIM per-step pivot error: \(b.map { String(format: "%.3e", $0) })")
        let (tunedError, plainError) = (try tuned.reconstructionError(), try plain.reconstructionError())
        print("default model, reconstruction MSE: TTIS \(tunedError) (\(tuned.iterations.reduce(0, +)) iterations) vs DDIM \(plainError)")
        #expect(a.count == 10 && b.count == 10)
        for i in a.indices { #expect(a[i] < b[i], "step \(i): TTIS \(a[i]) vs DDIM \(b[i])") }
        #expect(tunedError < plainError)
    }
}
