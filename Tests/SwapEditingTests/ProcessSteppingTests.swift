import SwapModels
import SwapPipeline
import SwapTensor
import Testing
@testable import SwapEditing

/// The generic Process machinery on the sampler (tiny SD1 model, 4 DDIM/DDPM steps): stepping
/// equals running bit for bit, back then step reproduces the latent, a cancelled step leaves
/// the process as before it, changes between steps take effect at the next step.
@Suite("Process stepping")
struct ProcessSteppingTests {
    func sampler(_ scheduler: SchedulerChoice = .ddim(), steps: Int = 4) throws -> Sampler {
        try Sampler(model: ProcessFixtures.model.get(),
                    settings: SamplerSettings(prompt: ProcessFixtures.prompt, guidance: 6, steps: steps, seed: 11, scheduler: scheduler))
    }

    @Test(arguments: [SchedulerChoice.ddim(), .ddpm, .eulerDiscrete])
    func steppingEqualsRunningBitForBit(scheduler: SchedulerChoice) throws {
        let whole = try sampler(scheduler)
        #expect(try whole.run(.detached) == 4)
        let stepped = try sampler(scheduler)
        while !stepped.isDone { try stepped.advance(.detached) }
        #expect(stepped.state.latent.scalars == whole.state.latent.scalars)
        #expect(stepped.state.x0?.scalars == whole.state.x0?.scalars)
        #expect(stepped.trace == whole.trace && stepped.trace.count == 4)
        #expect(throws: EditingError.self) { try stepped.advance(.detached) }
    }

    /// DDPM draws noise every step, so this also checks that snapshots carry the generator.
    @Test(arguments: [SchedulerChoice.ddim(), .ddpm])
    func backThenStepReproducesTheLatent(scheduler: SchedulerChoice) throws {
        let s = try sampler(scheduler)
        try s.advance(3, .detached)
        let latentAfter3 = s.state.latent.scalars
        try s.back(2)
        #expect(s.index == 1 && s.trace.count == 1 && s.history.count == 1)
        try s.advance(2, .detached)
        #expect(s.state.latent.scalars == latentAfter3)
        try s.back(3)
        #expect(s.index == 0 && s.state.x0 == nil)
        #expect(throws: EditingError.self) { try s.back(1) }
        try s.run(.detached)
        let reference = try sampler(scheduler)
        try reference.run(.detached)
        #expect(s.state.latent.scalars == reference.state.latent.scalars)
    }

    @Test func cancellationMidRunLeavesTheSamplerSteppable() throws {
        let reference = try sampler()
        try reference.run(.detached)
        let s = try sampler()
        var polls = 0
        let cancelling = RunContext { polls += 1; return polls > 7 }    // 3 polls a step: stops inside the third step
        #expect(throws: ProcessCancelled.self) { try s.run(cancelling) }
        #expect(s.index == 2 && s.history.count == 2 && s.trace.count == 2)
        let checkpoint = try sampler()
        try checkpoint.advance(2, .detached)
        let consistent = s.state.latent.scalars == checkpoint.state.latent.scalars
        #expect(consistent)
        try s.run(.detached)
        let resumed = s.state.latent.scalars == reference.state.latent.scalars
        #expect(resumed)
    }

    @Test func runUntilStopsAtTheTimestep() throws {
        let s = try sampler(steps: 10)       // 901, 801, ..., 1
        try s.run(.detached, untilTimestep: 500)
        #expect(s.index == 5 && s.timestep == 401)
        try s.run(.detached, untilTimestep: 500)
        #expect(s.index == 5)
        try s.run(.detached)
        #expect(s.isDone && s.timestep == nil)
        #expect(throws: EditingError.self) { try s.run(.detached, untilTimestep: 10) }
    }

    @Test func changesBetweenStepsTakeEffectAtTheNextStep() throws {
        let plain = try sampler()
        try plain.advance(2, .detached)
        let changed = try sampler()
        try changed.advance(1, .detached)
        try changed.setGuidance(1)
        try changed.setPrompt("a yellow star")
        #expect(changed.state.latent.scalars != plain.state.latent.scalars || changed.index == 1)
        try changed.advance(1, .detached)
        #expect(changed.state.latent.scalars != plain.state.latent.scalars)
        #expect(changed.trace.series("guidance") == [6, 1])
        // Rewinding restores the settings that step ran with.
        try changed.back(1)
        #expect(changed.state.guidance == 1 && changed.state.prompt == "a yellow star")
        try changed.back(1)
        #expect(changed.state.guidance == 6 && changed.state.prompt == ProcessFixtures.prompt)
        try changed.setLatent(plain.state.latent)
        #expect(throws: EditingError.self) { try changed.setLatent(Tensor(zeros: [1, 4, 8, 8])) }
    }

    @Test func progressIsOneFinalLineWhenNotATerminal() throws {
        var text = ""
        let context = RunContext(progress: ProgressReporter(style: .finalLine) { text += $0 })
        let s = try sampler()
        try s.run(context)
        #expect(text.hasPrefix("sampler step 4/4  done  (4 steps, "))
        #expect(text.filter { $0 == "\n" }.count == 1)
        var redrawn = ""
        let tty = RunContext(progress: ProgressReporter(style: .inPlace) { redrawn += $0 })
        try s.back(2)
        try s.run(tty)
        #expect(redrawn.components(separatedBy: "\r\u{1B}[K").count == 5)     // begin, 2 steps, end
        #expect(redrawn.hasSuffix("\n"))
    }

    @Test func wrongSettingsAreErrors() throws {
        let model = try ProcessFixtures.model.get()
        #expect(throws: EditingError.self) { try Sampler(model: model, settings: SamplerSettings(prompt: "x", steps: 0)) }
        #expect(throws: EditingError.self) { try Sampler(model: model, settings: SamplerSettings(prompt: "x", guidance: .nan)) }
        #expect(throws: (any Error).self) {
            try Sampler(model: model, settings: SamplerSettings(prompt: "x", steps: 2, height: 33))
        }
        #expect(throws: EditingError.self) {
            try Sampler.sdedit(model: model, image: Tensor(zeros: [1, 3, 32, 32]), strength: 0.1, settings: SamplerSettings(prompt: "x", steps: 5))
        }
        #expect(throws: EditingError.self) {
            try Sampler.sdedit(model: model, image: Tensor(zeros: [1, 4, 32, 32]), strength: 0.5, settings: SamplerSettings(prompt: "x", steps: 5))
        }
    }

    @Test func traceRecordsColumnsAndTruncates() {
        var trace = ProcessTrace()
        trace.record(step: 0, [("t", 981)])
        trace.record(step: 1, [("t", 961), ("loss", 0.5)])
        #expect(trace.columns == ["t", "loss"])
        #expect(trace.series("loss")?.first?.isNaN == true && trace.series("loss")?.last == 0.5)
        trace.truncate(toStepsBefore: 1)
        #expect(trace.count == 1 && trace.series("loss")?.count == 1 && trace.series("t") == [981])
    }
}
