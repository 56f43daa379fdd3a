import Foundation
import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor
import Testing

/// The 3-step DDIM pipeline with CFG (guidance 6.0) against diffusers' StableDiffusionPipeline
/// (Fixtures/pipeline/*_reference.safetensors, tools/reference/make_pipeline_fixtures.py).
/// Measure: max |Swift − diffusers| over the decoded image in [−1, 1] (the image before
/// diffusers' postprocess), ≤ 1e-3; latents and embeddings relative to their max |value|.
@Suite("Stable Diffusion pipeline parity")
struct PipelineParityTests {
    func request(_ reference: [String: Tensor]) throws -> GenerationRequest {
        let initial: Tensor = try #require(reference["latents.initial"])
        return GenerationRequest(prompt: PipelineFixtures.prompt, guidanceScale: 6, steps: 3, latents: initial)
    }

    @Test(arguments: ["sd1", "sd2"]) func promptEmbeddingsMatch(flavor: String) throws {
        let pipeline = try PipelineFixtures.pipeline(flavor)
        let reference = try PipelineFixtures.reference(flavor)
        let context = try pipeline.guidanceContext(request(reference))
        let halves = try context.chunked(2, axis: 0)
        let uncond = try Parity.relativeMaxError(halves[0], #require(reference["embeds.uncond"]))
        let cond = try Parity.relativeMaxError(halves[1], #require(reference["embeds.cond"]))
        #expect(uncond <= 1e-5 && cond <= 1e-5, "uncond \(uncond), cond \(cond)")
    }

    @Test(arguments: ["sd1", "sd2"]) func threeStepDDIMWithGuidanceMatchesDiffusers(flavor: String) throws {
        let pipeline = try PipelineFixtures.pipeline(flavor)
        #expect(pipeline.model.version == (flavor == "sd1" ? .sd1 : .sd2))
        let reference = try PipelineFixtures.reference(flavor)
        var loop = try pipeline.makeLoop(request(reference))
        #expect(loop.scheduler.timesteps == (try #require(reference["timesteps"])).scalars)
        var stepErrors: [Float] = []
        for i in 0..<3 {
            try loop.step()
            stepErrors.append(try Parity.relativeMaxError(loop.latents, #require(reference["latents.step\(i)"])))
        }
        #expect(stepErrors.allSatisfy { $0 <= 1e-4 }, "per-step relative latent errors \(stepErrors)")
        let image = try pipeline.decode(loop.latents)
        let error = try Parity.maxAbsError(image, #require(reference["image"]))
        #expect(error <= 1e-3, "max abs image error \(error)")
        print("[pipeline parity] \(flavor): max abs image error \(error), latent step errors \(stepErrors)")
    }

    @Test func seededRunDrawsTorchLatents() throws {
        let pipeline = try PipelineFixtures.pipeline("sd1")
        let reference = try PipelineFixtures.reference("sd1")
        var request = GenerationRequest(prompt: PipelineFixtures.prompt, guidanceScale: 6, steps: 3, seed: 1234)
        request.height = 32
        request.width = 32
        let image = try pipeline.generate(request)
        let error = try Parity.maxAbsError(image, #require(reference["seeded.image"]))
        #expect(error <= 1e-3, "max abs image error \(error)")
    }

    @Test(arguments: ["sd1", "sd2"]) func steppingThenRunningIsBitIdenticalToRunning(flavor: String) throws {
        let pipeline = try PipelineFixtures.pipeline(flavor)
        let reference = try PipelineFixtures.reference(flavor)
        var whole = try pipeline.makeLoop(request(reference))
        let final = try whole.run()
        var stepped = try pipeline.makeLoop(request(reference))
        try stepped.step()
        let snapshot = stepped.snapshot()
        #expect(stepped.stepIndex == 1 && !stepped.isFinished)
        let resumed = try stepped.run()
        #expect(resumed.scalars == final.scalars)
        var again = snapshot
        #expect(try again.run().scalars == final.scalars)
        #expect(stepped.isFinished)
        #expect(throws: PipelineError.self) { try stepped.step() }
    }

    @Test func wrongLatentShapeAndPromptCountsAreErrors() throws {
        let pipeline = try PipelineFixtures.pipeline("sd1")
        let bad = GenerationRequest(prompt: "x", steps: 3, latents: Tensor(zeros: [1, 4, 8, 8]))
        #expect(throws: PipelineError.self) { _ = try pipeline.makeLoop(bad) }
        var mismatched = GenerationRequest(prompts: ["a", "b"], steps: 2)
        mismatched.negativePrompts = ["c"]
        #expect(throws: PipelineError.self) { _ = try pipeline.makeLoop(mismatched) }
        var odd = GenerationRequest(prompt: "x", steps: 2)
        odd.height = 33
        #expect(throws: PipelineError.self) { _ = try pipeline.makeLoop(odd) }
        #expect(throws: (any Error).self) { _ = try pipeline.makeLoop(GenerationRequest(prompt: "x", steps: 0)) }
    }
}
