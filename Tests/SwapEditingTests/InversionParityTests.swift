import Foundation
import Testing
import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor
@testable import SwapEditing

/// DDIM inversion and null-text inversion on the tiny SD1 model against
/// Fixtures/inversion_reference.safetensors (tools/reference/make_p2p_fixtures.py: diffusers'
/// DDIMInverseScheduler round trip and a PyTorch re-implementation of the NTI notebook).
@Suite(.serialized) struct InversionParityTests {
    static func setup(offset: Int? = nil) throws -> InversionSetup {
        try InversionSetup(model: try InversionFixtures.model.get(), image: try InversionFixtures.reference("image"),
                           prompt: InversionFixtures.prompt, steps: InversionFixtures.steps, stepsOffset: offset, op: "invert")
    }

    static func invert(offset: Int? = nil) throws -> InversionResult {
        let p = try DDIMInversion(setup: try setup(offset: offset))
        try p.run(.detached)
        return p.result
    }

    /// DDIM sampling from z_T with the pipeline's loop (guidance 1: the caption alone).
    static func reconstruct(_ zT: Tensor, guidance: Float) throws -> Tensor {
        let pipe = StableDiffusionPipeline(model: try InversionFixtures.model.get())
        var request = GenerationRequest(prompt: InversionFixtures.prompt, guidanceScale: guidance, steps: InversionFixtures.steps, latents: zT)
        request.height = 32
        request.width = 32
        var loop = try pipe.makeLoop(request)
        return try loop.run()
    }

    @Test func ddimInversionTrajectoryMatchesDiffusers() throws {
        let r = try Self.invert()
        #expect(r.timesteps == [1, 101, 201, 301, 401, 501, 601, 701, 801, 901])
        #expect(r.stepsOffset == 1)
        let reference = try InversionFixtures.reference("invert.trajectory")
        let z0err = try InversionFixtures.maxAbsError(r.encodedLatent, try InversionFixtures.reference("z0"))
        #expect(z0err <= 1e-4, "z0 \(z0err)")
        var worst: Float = 0
        for k in 0...InversionFixtures.steps {
            let ref = try reference.sliced(axis: 0, start: k, end: k + 1).reshaped([1, 4, 16, 16])
            worst = max(worst, try InversionFixtures.maxAbsError(r.latents[k], ref))
        }
        print("DDIM inversion vs diffusers: max |Δz| over the trajectory \(worst)")
        // Measured ~1e-5 on latents of magnitude ~3 (float32, 10 UNet calls).
        #expect(worst <= 1e-3, "trajectory \(worst)")
    }

    @Test func offsetZeroGridMatchesTheNotebookGrid() throws {
        let r = try Self.invert(offset: 0)
        #expect(r.timesteps.first == 0 && r.timesteps.last == 900)
        let ref = try InversionFixtures.reference("offset0.trajectory")
        let last = try ref.sliced(axis: 0, start: 10, end: 11).reshaped([1, 4, 16, 16])
        let err = try InversionFixtures.maxAbsError(r.startLatent, last)
        #expect(err <= 1e-3, "z_T offset 0: \(err)")
    }

    @Test func roundTripMatchesDiffusers() throws {
        let r = try Self.invert()
        let w1 = try Self.reconstruct(r.startLatent, guidance: 1)
        let w75 = try Self.reconstruct(r.startLatent, guidance: 7.5)
        let e1 = try InversionFixtures.maxAbsError(w1, try InversionFixtures.reference("recon.w1"))
        let e75 = try InversionFixtures.maxAbsError(w75, try InversionFixtures.reference("recon.w7_5"))
        let z0 = r.encodedLatent
        print("round trip vs diffusers: w=1 \(e1), w=7.5 \(e75); reconstruction MSE vs z0: w=1 \(try InversionFixtures.mse(w1, z0)), w=7.5 \(try InversionFixtures.mse(w75, z0))")
        #expect(e1 <= 1e-3 && e75 <= 1e-3, "w=1 \(e1), w=7.5 \(e75)")
    }

    @Test func nullTextInversionMatchesReferenceAndBeatsDDIM() throws {
        let s = try Self.setup()
        let pivot = try Self.invert()
        let nti = try NullTextInversion(setup: s, pivot: pivot)
        let start = Date()
        try nti.run(.detached)
        let seconds = Date().timeIntervalSince(start)
        let refIterations = try InversionFixtures.reference("nti.iterations").scalars.map(Int.init)
        let refLosses = try InversionFixtures.reference("nti.losses")
        #expect(nti.iterations == refIterations)
        var lossRel: Float = 0
        for (i, losses) in nti.state.losses.enumerated() {
            for (j, l) in losses.enumerated() {
                let ref = refLosses.scalars[i * 10 + j]
                lossRel = max(lossRel, abs(l - ref) / max(abs(ref), 1e-12))
            }
        }
        let embeddings = try Tensor.concat(nti.state.embeddings, axis: 0)
        let embErr = try InversionFixtures.maxAbsError(embeddings, try InversionFixtures.reference("nti.embeddings"))
        let recon = nti.state.latent
        let reconErr = try InversionFixtures.maxAbsError(recon, try InversionFixtures.reference("nti.recon"))
        let ddim = try Self.reconstruct(pivot.startLatent, guidance: 7.5)
        let mseNTI = try nti.reconstructionError(), mseDDIM = try InversionFixtures.mse(ddim, pivot.encodedLatent)
        print("null-text: \(nti.iterations.reduce(0, +)) inner iterations in \(String(format: "%.2f", seconds)) s; loss rel. diff \(lossRel), embeddings max diff \(embErr), reconstruction max diff \(reconErr); reconstruction MSE null-text \(mseNTI) vs DDIM (w=7.5) \(mseDDIM)")
        // Adam normalises the gradient, so float32 differences in the UNet's backward pass grow
        // over 100 updates; measured differences are far inside these bounds.
        #expect(lossRel <= 1e-2, "losses \(lossRel)")
        #expect(embErr <= 1e-2, "embeddings \(embErr)")
        #expect(reconErr <= 1e-2, "reconstruction \(reconErr)")
        #expect(mseNTI < mseDDIM)
        // The result drives sampling: a sampler started from it reproduces the reconstruction
        // bit for bit (same batch, same steps), and the P2P pair's source row reproduces it up
        // to the batch-size rounding of the UNet (4 rows instead of 2).
        let result = nti.result
        #expect(result.nullEmbeddings?.count == InversionFixtures.steps)
        let model = try InversionFixtures.model.get()
        let sampler = try Sampler(model: model, settings: SamplerSettings(prompt: InversionFixtures.prompt, steps: InversionFixtures.steps),
                                  inversion: result, capture: .off)
        try sampler.run(.detached)
        #expect(sampler.state.latent.scalars == recon.scalars)
        var settings = PromptToPromptSettings(source: InversionFixtures.prompt, target: "a photo of a dog")
        settings.steps = InversionFixtures.steps
        let pair = try PromptToPromptPair(model: model, settings: settings, inversion: result)
        try pair.run(.detached)
        let pairErr = try InversionFixtures.maxAbsError(pair.state.source, recon)
        print("p2p source row vs null-text reconstruction: max diff \(pairErr)")
        #expect(pairErr <= 1e-3)
        #expect(try InversionFixtures.mse(pair.state.target, recon) > 1e-6)
        // A sampler on another grid is refused.
        #expect(throws: EditingError.self) {
            try Sampler(model: model, settings: SamplerSettings(prompt: "x", steps: 5), inversion: result)
        }
    }

    /// Stepping equals running, and back then step reproduces the same embedding and latent,
    /// bit for bit (Adam and the UNet backward are deterministic).
    @Test func nullTextStepEqualsRunAndBackReproduces() throws {
        let s = try Self.setup()
        let pivot = try Self.invert()
        var settings = NullTextSettings(inner: 3)
        settings.epsilon = 1e-5
        let a = try NullTextInversion(setup: s, pivot: pivot, settings: settings)
        try a.run(.detached)
        let b = try NullTextInversion(setup: s, pivot: pivot, settings: settings)
        for _ in 0..<InversionFixtures.steps { try b.advance(.detached) }
        #expect(a.state.latent.scalars == b.state.latent.scalars)
        #expect(a.state.null.scalars == b.state.null.scalars)
        try b.back(3)
        #expect(b.index == InversionFixtures.steps - 3 && b.state.embeddings.count == InversionFixtures.steps - 3)
        #expect(b.trace.count == InversionFixtures.steps - 3)
        try b.run(.detached)
        #expect(a.state.latent.scalars == b.state.latent.scalars)
        #expect(zip(a.state.embeddings, b.state.embeddings).allSatisfy { $0.scalars == $1.scalars })
        #expect(a.trace.series("loss") == b.trace.series("loss"))
    }

    @Test func wrongImageSizeIsReported() throws {
        let model = try InversionFixtures.model.get()
        do {
            _ = try InversionSetup(model: model, image: Tensor(zeros: [1, 3, 33, 32]), prompt: "x", steps: 5, op: "invert")
            Issue.record("no error")
        } catch let e as EditingError {
            #expect(e.message.contains("invert: the image is [1,3,33,32]"), "\(e.message)")
        }
        #expect(throws: EditingError.self) { try InversionSetup(model: model, image: Tensor(zeros: [3, 32, 32]), prompt: "x", steps: 5, op: "invert") }
        #expect(throws: EditingError.self) { try InversionSetup(model: model, image: Tensor(zeros: [1, 3, 32, 32]), prompt: "x", steps: 0, op: "invert") }
    }
}
