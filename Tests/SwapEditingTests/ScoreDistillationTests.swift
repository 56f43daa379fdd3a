import Testing
@testable import SwapEditing
import SwapModels
import SwapTensor

/// SDS/DDS/CDS/InstantSwap as processes on the tiny SD1 fixture model: invariants and parity
/// with tools/reference/make_distillation_fixtures.py.
struct ScoreDistillationTests {
    static func embed(_ model: StableDiffusion, _ text: String) throws -> Tensor {
        try model.textEncoder.promptEmbeddings([model.tokenizer.encode(text)])
    }

    static func dds(source: String = "a red circle", target: String = "a green square", method: DistillationMethod = .dds,
                    configure: (inout DistillationSettings) -> Void = { _ in }) throws -> (ScoreDistillation, Tensor) {
        let model = try DistillationFixtures.model.get()
        let z = try DistillationFixtures.tensor("z_source")
        var settings = DistillationSettings(method: method)
        configure(&settings)
        let prompts = DistillationPrompts(null: try embed(model, ""), source: try embed(model, source), target: try embed(model, target))
        return (try ScoreDistillation(predictor: NoisePredictor(model: model), source: z, prompts: prompts, settings: settings), z)
    }

    /// Identical prompts, shared t and ε: the two branches are the same rows, g is exactly 0
    /// and the latent never moves.
    @Test func ddsWithIdenticalPromptsHasZeroGradient() throws {
        let (p, z) = try Self.dds(source: "a red circle", target: "a red circle") { $0.iterations = 3 }
        for _ in 0..<3 {
            try p.advance(.detached)
            #expect(p.state.gradient!.scalars.allSatisfy { $0 == 0 }, "g must be exactly zero")
            #expect(p.state.gradientNorm == 0)
        }
        #expect(p.state.latent.scalars == z.scalars)
    }

    /// One DDS gradient at t = 500 with the fixture's ε, against the torch reference
    /// (max abs error ≤ 2e-5 against |g| up to 0.30), and the surrogate-loss SGD step against
    /// torch.optim.SGD after `(2000·Σ(z⊙g)/(h·w)).backward()` (≤ 1e-6).
    @Test func ddsGradientMatchesReference() throws {
        let (p, _) = try Self.dds()
        p.state.latent = try DistillationFixtures.tensor("z_target")
        let g = try p.freshGradient(iteration: 0, t: 500, eps: DistillationFixtures.tensor("eps")).gradient
        let err = DistillationFixtures.maxAbs(g, try DistillationFixtures.tensor("dds.grad"))
        #expect(err <= 2e-5, "DDS gradient max abs error \(err)")
        let updated = try p.settings.optimizer.update(try DistillationFixtures.tensor("z_target"), gradient: DistillationFixtures.tensor("dds.grad"))
        let stepErr = DistillationFixtures.maxAbs(updated, try DistillationFixtures.tensor("dds.updated"))
        #expect(stepErr <= 1e-6, "SGD step max abs error \(stepErr)")
    }

    /// One SDS gradient (target prompt, t = 500) against torch (≤ 1e-4 against |g| up to 3.5).
    @Test func sdsGradientMatchesReference() throws {
        let (p, _) = try Self.dds(method: .sds)
        p.state.latent = try DistillationFixtures.tensor("z_target")
        let g = try p.freshGradient(iteration: 0, t: 500, eps: DistillationFixtures.tensor("eps")).gradient
        let err = DistillationFixtures.maxAbs(g, try DistillationFixtures.tensor("sds.grad"))
        #expect(err <= 1e-4, "SDS gradient max abs error \(err)")
    }

    static func swap(iterations: Int, ssgu: Int, parts: InstantSwapParts = InstantSwapParts()) throws -> (ScoreDistillation, Tensor, PixelBox) {
        let model = try DistillationFixtures.model.get()
        let z = try DistillationFixtures.tensor("z_source")
        let box = try PixelBox(top: 8, left: 6, bottom: 24, right: 20)
        var settings = DistillationSettings(method: .instantswap)
        settings.iterations = iterations
        settings.ssgu = ssgu
        let prompts = InstantSwapPrompts(null: try embed(model, ""), sourcePrompt: try embed(model, "a red circle"),
                                         targetPrompt: try embed(model, "a green square"), sourceConcept: try embed(model, "circle"),
                                         targetConcept: try embed(model, "square"))
        let p = try InstantSwap.makeProcess(predictor: NoisePredictor(model: model), source: z, imageHeight: 32, imageWidth: 32,
                                            prompts: prompts, box: box, parts: parts, settings: settings)
        return (p, z, box)
    }

    /// One InstantSwap anchor gradient (SECR on both branches, BGM) at t = 700 against the
    /// torch re-implementation of the official processor (≤ 2e-5 against |g| up to 0.14).
    @Test func instantSwapGradientMatchesReference() throws {
        let (p, _, _) = try Self.swap(iterations: 1, ssgu: 1)
        p.state.latent = try DistillationFixtures.tensor("z_target")
        let raw = try p.freshGradient(iteration: 0, t: 700, eps: DistillationFixtures.tensor("eps")).gradient
        let err = DistillationFixtures.maxAbs(raw, try DistillationFixtures.tensor("swap.grad_unmasked"))
        #expect(err <= 2e-5, "InstantSwap gradient max abs error \(err)")
        let masked = try raw * p.mask!
        #expect(DistillationFixtures.maxAbs(masked, try DistillationFixtures.tensor("swap.grad")) <= 2e-5)
    }

    /// BGM: after N iterations every latent element outside the box is bit-identical to the
    /// source, and some inside moved.
    @Test func bgmKeepsTheBackgroundBitIdentical() throws {
        let (p, z, _) = try Self.swap(iterations: 6, ssgu: 1)
        try p.advance(6, .detached)
        let mask = p.mask!.scalars
        let (a, b) = (p.state.latent.scalars, z.scalars)
        let plane = mask.count
        var moved = 0
        for k in a.indices {
            if mask[k % plane] == 0 { #expect(a[k].bitPattern == b[k].bitPattern, "element \(k) outside the box changed") }
            else if a[k] != b[k] { moved += 1 }
        }
        #expect(moved > 0)
    }

    /// SSGU k = 5 over 100 iterations: exactly 20 UNet calls (the anchors); between anchors the
    /// stored gradient is reused, so 5 iterations equal one step of 5·η_eff (float rounding:
    /// ≤ 1e-5 here).
    @Test func ssguCallsTheUNetOnlyAtAnchors() throws {
        let (p, z) = try Self.dds { $0.iterations = 100; $0.ssgu = 5 }
        try p.advance(5, .detached)
        #expect(p.predictor.unetCalls == 1)
        let g0 = p.state.gradient!
        var once = z
        once.addScaled(g0, -5 * p.settings.optimizer.effectiveStep(height: 16, width: 16))
        #expect(DistillationFixtures.maxAbs(p.state.latent, once) <= 1e-5)
        try p.run(.detached)
        #expect(p.index == 100 && p.isDone)
        #expect(p.predictor.unetCalls == 20)
        #expect(p.trace.series("anchor")!.filter { $0 == 1 }.count == 20)
        #expect(p.trace.series("unet_calls")!.last == 20)
    }

    /// `back` restores the latent, and replaying reproduces the same iterations bit for bit
    /// (ε depends only on seed and iteration).
    @Test func backAndReplayAreBitIdentical() throws {
        let (p, _) = try Self.dds { $0.iterations = 4; $0.ssgu = 2 }
        try p.advance(3, .detached)
        let after3 = p.state.latent
        try p.back(2)
        #expect(p.index == 1 && p.trace.count == 1)
        try p.advance(2, .detached)
        #expect(p.state.latent.scalars == after3.scalars)
    }

    /// Breaking the shared noise re-introduces the bias: identical prompts no longer give zero.
    @Test func unsharedNoiseBreaksTheCancellation() throws {
        let (p, _) = try Self.dds(source: "a red circle", target: "a red circle") { $0.iterations = 1; $0.shareNoise = false }
        try p.advance(.detached)
        #expect(p.state.gradientNorm > 0)
    }

    /// CDS's patch-contrastive loss and its gradient against utils/loss.py in torch (loss ≤ 1e-4
    /// relative, gradient ≤ 1e-5 absolute), with the reference's location ids.
    @Test func cdsPatchLossMatchesReference() throws {
        let r = try DistillationFixtures.tensor("cds.reference"), q0 = try DistillationFixtures.tensor("cds.current")
        let ids1 = try DistillationFixtures.tensor("cds.ids1").scalars.map { Int($0) }
        let ids2 = try DistillationFixtures.tensor("cds.ids2").scalars.map { Int($0) }
        let q = q0.requiringGrad()
        var loss = Tensor(scalar: 0)
        for (patch, ids) in [(1, ids1), (2, ids2)] {
            let rp = try ContrastiveDenoisingScore.pooledNormalised(r, height: 8, width: 8, patch: patch)
            let qp = try ContrastiveDenoisingScore.pooledNormalised(q, height: 8, width: 8, patch: patch)
            loss = try loss + ContrastiveDenoisingScore.patchNCE(reference: rp.indexSelect(axis: 0, ids), current: qp.indexSelect(axis: 0, ids), temperature: 0.07)
        }
        let want = try DistillationFixtures.tensor("cds.loss").item
        #expect(abs(loss.item - want) <= 1e-4 * abs(want), "loss \(loss.item) vs \(want)")
        let grad = loss.gradient(with: [q])[0]
        let err = DistillationFixtures.maxAbs(grad, try DistillationFixtures.tensor("cds.grad"))
        #expect(err <= 1e-5, "gradient max abs error \(err)")
    }

    /// A CDS iteration runs the DDS pass and a gradient pass through the UNet (2 calls) and moves
    /// the latent differently from DDS alone.
    @Test func cdsStepAddsTheContrastiveGradient() throws {
        let (cds, _) = try Self.dds(method: .cds) { $0.iterations = 1 }
        let (dds, _) = try Self.dds { $0.iterations = 1 }
        try cds.advance(.detached)
        try dds.advance(.detached)
        #expect(cds.predictor.unetCalls == 2)
        #expect(cds.state.gradientNorm.isFinite && cds.state.gradientNorm > 0)
        #expect(DistillationFixtures.maxAbs(cds.state.latent, dds.state.latent) > 0)
    }

    /// CDS's early exit (the gradient pass stops after the last decoder self-attention) gives
    /// bit-identical gradients and latents to the full forward over 3 iterations, with the same
    /// UNet call count; prints the gradient pass's time with and without it.
    @Test func cdsEarlyExitMatchesFullForward() throws {
        let (early, _) = try Self.dds(method: .cds) { $0.iterations = 3 }
        let (full, _) = try Self.dds(method: .cds) { $0.iterations = 3; $0.earlyExit = false }
        var (earlyTime, fullTime) = (Duration.zero, Duration.zero)
        let clock = ContinuousClock()
        for _ in 0..<3 {
            earlyTime += try clock.measure { try early.advance(.detached) }
            fullTime += try clock.measure { try full.advance(.detached) }
            #expect(early.state.gradient!.scalars == full.state.gradient!.scalars, "gradients differ")
            #expect(early.state.latent.scalars == full.state.latent.scalars)
        }
        #expect(early.predictor.unetCalls == 6 && full.predictor.unetCalls == 6)
        print("cds early exit: 3 iterations \(earlyTime) vs full forward \(fullTime) (tiny SD1)")
    }

    /// auto_bbox end to end on the tiny model: a box inside the 32x32 image, the same for the
    /// same seed.
    @Test func autoBoxRunsOnTheModel() throws {
        let model = try DistillationFixtures.model.get()
        let z = try DistillationFixtures.tensor("z_source")
        func find() throws -> AutoBoxResult {
            try AutoBoundingBox.find(predictor: NoisePredictor(model: model), latent: z, prompt: Self.embed(model, "a red circle"),
                                     null: Self.embed(model, ""), token: 3, imageHeight: 32, imageWidth: 32)
        }
        let a = try find(), b = try find()
        #expect(a.box == b.box && a.gridHeight == 8 && a.passes.count == 3)
        #expect(a.box.bottom <= 32 && a.box.right <= 32)
    }
}

extension ScoreDistillationTests {
    /// The SSGU probe compares the gradient a fresh evaluation would give at the next iteration
    /// with the reused one, without moving the process; at an anchor its fresh gradient is the
    /// one the step then computes. x̂₀ inverts the target's noising with ε̂.
    @Test func probeMeasuresTheReusedGradient() throws {
        let (p, _) = try Self.dds { $0.iterations = 10; $0.ssgu = 5 }
        try p.advance(5, .detached)
        let stored = p.state.storedGradient!, latent = p.state.latent
        let (cosine, relative, t) = try p.probe()
        #expect(p.predictor.unetCalls == 2 && p.index == 5 && p.state.latent.scalars == latent.scalars)
        #expect(t == p.schedule.timesteps[5] && relative.isFinite)
        try p.advance(.detached)   // iteration 5 is an anchor: the same evaluation
        let fresh = p.state.gradient!
        let dot = Double(try (fresh * stored).sum().item)
        let norms = Double(fresh.squared().sum().item).squareRoot() * Double(stored.squared().sum().item).squareRoot()
        #expect(abs(cosine - dot / norms) < 1e-9)
        let a = try #require(p.state.lastAnchor)
        let x0 = try #require(try p.predictedClean())
        let back = try x0 * p.alphas[a.t] + a.epsTarget * p.sigmas[a.t]
        #expect(DistillationFixtures.maxAbs(back, a.noisyTarget) < 1e-4)
    }
}
