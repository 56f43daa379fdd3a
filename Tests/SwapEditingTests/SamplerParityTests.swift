import SwapModels
import SwapPipeline
import SwapTensor
import Testing
@testable import SwapEditing

/// `run(sample(...))` and `sdedit(...)` against diffusers (Fixtures/editing_reference.safetensors,
/// tools/reference/make_editing_fixtures.py): the tiny SD1 model, 4 steps, guidance 6, torch
/// generator seed 11, 32x32. Measure: max |Swift − diffusers| over the decoded image in [−1, 1]
/// (before diffusers' postprocess), ≤ 1e-3.
@Suite("Sampler parity with diffusers")
struct SamplerParityTests {
    func sampler(_ scheduler: SchedulerChoice) throws -> Sampler {
        try Sampler(model: ProcessFixtures.model.get(),
                    settings: SamplerSettings(prompt: ProcessFixtures.prompt, guidance: 6, steps: 4, seed: 11, scheduler: scheduler))
    }

    @Test(arguments: [("ddim", SchedulerChoice.ddim()), ("euler", SchedulerChoice.eulerDiscrete)])
    func runMatchesTheDiffusersPipeline(name: String, scheduler: SchedulerChoice) throws {
        let s = try sampler(scheduler)
        try s.run(.detached)
        #expect(s.isDone && s.index == 4)
        let error = try ProcessFixtures.maxAbsError(s.image(), ProcessFixtures.reference("\(name).image"))
        #expect(error <= 1e-3, "max abs image error \(error)")
        print("[sampler parity] \(name): max abs image error \(error)")
    }

    @Test func sdeditMatchesTheImg2ImgPipeline() throws {
        let model = try ProcessFixtures.model.get()
        let s = try Sampler.sdedit(model: model, image: ProcessFixtures.reference("sdedit.input"), strength: 0.6,
                                   settings: SamplerSettings(prompt: ProcessFixtures.sdeditPrompt, guidance: 6, steps: 5, seed: 5))
        #expect(s.startIndex == 2 && s.index == 2 && s.totalSteps == 5)
        #expect(s.timestep == 401)      // 801, 601, [401, 201, 1]
        try s.run(.detached)
        let error = try ProcessFixtures.maxAbsError(s.image(), ProcessFixtures.reference("sdedit.image"))
        #expect(error <= 1e-3, "max abs image error \(error)")
        print("[sampler parity] sdedit: max abs image error \(error)")
    }

    @Test func samplerEqualsThePipelineLoopBitForBit() throws {
        let model = try ProcessFixtures.model.get()
        let s = try sampler(.ddim())
        try s.run(.detached)
        let pipeline = StableDiffusionPipeline(model: model)
        var request = GenerationRequest(prompt: ProcessFixtures.prompt, guidanceScale: 6, steps: 4, seed: 11)
        request.negativePrompts = [""]
        var loop = try pipeline.makeLoop(request)
        let same = try loop.run().scalars == s.state.latent.scalars
        #expect(same)
    }
}
