import Foundation
import Testing
import SwapEditing
import SwapIO
import SwapLang
import SwapTensor
@testable import SwapRuntime

/// The process builtins through a full session on the tiny SD1 fixture model
/// (Tests/SwapPipelineTests/Fixtures/pipeline/sd1, tools/reference/make_pipeline_fixtures.py):
/// output parameters, Ctrl-C between UNet calls, progress lines, and the examples that need a
/// model (run with `model` bound to the tiny model, as the p2p/inversion examples are).
struct ProcessBuiltinTests {
    func loaded() throws -> Harness {
        let h = Harness()
        h.session.workspace.makeProgressReporter = { ProgressReporter(style: .silent) }
        h.run("m = load_model(\"\(try ModelBuiltinTests.folder.get())\")")
        #expect(h.status == .ok, "\(h.errors)")
        return h
    }

    @Test func outputImagesCarryTheRunsParameters() throws {
        let h = try loaded()
        h.run("""
        s = run(sample(m, "a red circle", steps: 3, seed: 11, guidance: 6, scheduler: "euler"))
        save_image(s.image, "final.png")
        a = attention(s, word: "circle")
        hm = heatmap(a)
        g = attention_grid(s, size: 16)
        """)
        #expect(h.status == .ok, "\(h.errors)")
        let final = try Image.load(h.folder + "/out/final.png")
        let text = try #require(final.parameters)
        for part in ["Model: ", "Prompt: a red circle", "Steps: 3", "Sampler: euler", "CFG scale: 6", "Noise seed: 11", "Step: 3/3", "Size: 32x32"] {
            #expect(text.contains(part), "\(part) missing from \(text)")
        }
        let heat = try #require(h.image("hm")?.image.parameters)
        for part in ["Builtin: heatmap", "Prompt: a red circle", "Noise seed: 11", "Attention: cross 8x8", "Attention word: circle", "Attention steps: 0-2"] {
            #expect(heat.contains(part), "\(part) missing from \(heat)")
        }
        let grid = try #require(h.image("g")?.image.parameters)
        #expect(grid.contains("Builtin: attention_grid") && grid.contains("Prompt: a red circle"))
        #expect(h.image("g")?.image.width == 5 * 16 + 6 * 4)      // tiles BOS, a, red, circle, EOS with 4-pixel padding
    }

    @Test func ctrlCStopsARunBetweenUNetCallsAndKeepsTheSamplerConsistent() throws {
        let h = try loaded()
        h.run("r = run(sample(m, \"a red circle\", steps: 6, seed: 3))\ns = sample(m, \"a red circle\", steps: 6, seed: 3)")
        #expect(h.status == .ok, "\(h.errors)")
        var polls = 0
        h.session.interpreter.shouldCancel = { polls += 1; return polls > 9 }
        h.run("run(s)")
        #expect(h.status == .interrupted)
        h.session.interpreter.shouldCancel = nil
        h.run("print(s.i > 0, s.i < 6, s.history == s.i, len(s.trace.t) == s.i)\nrun(s)\nprint(s.latent == r.latent)")
        #expect(h.status == .ok, "\(h.errors)")
        #expect(h.lines.suffix(3) == ["true true true true", "sampler step 6/6  done", "true"])
    }

    @Test func runWritesOneProgressLineAndStepWritesNone() throws {
        let h = try loaded()
        var progress: [String] = []
        h.session.workspace.makeProgressReporter = { ProgressReporter(style: .finalLine) { progress.append($0) } }
        h.run("s = sample(m, \"a red circle\", steps: 4, seed: 3)\nstep(s)\nrun(s)")
        #expect(h.status == .ok, "\(h.errors)")
        #expect(progress.count == 1 && progress[0].hasPrefix("sampler step 4/4  done  (3 steps, ") && progress[0].hasSuffix("\n"))
        #expect(!h.lines.contains { $0.contains("s/step") })
    }

    /// Every script in examples/, each on the embedded default model (issue 7: every example
    /// runs on it inside the suite); the wall time of each is printed.
    static let examples: [String] = {
        let folder = repositoryRoot.appendingPathComponent("examples").path
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return files.filter { $0.hasSuffix(".swapscript") }.map { String($0.dropLast(".swapscript".count)) }.sorted()
    }()

    @Test func everyExampleIsFound() {
        #expect(Self.examples.count >= 10, "\(Self.examples)")
    }

    @Test(arguments: examples)
    func exampleRuns(_ name: String) throws {
        let h = Harness()
        h.session.workspace.makeProgressReporter = { ProgressReporter(style: .silent) }
        let start = Date()
        let status = h.session.run(file: repositoryRoot.appendingPathComponent("examples/\(name).swapscript").path)
        print("example \(name): \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        #expect(status == .ok, "\(name): \(h.errors)")
        #expect(!h.session.writtenFiles.isEmpty)
        switch name {
        case "masactrl":
            #expect(h.lines.contains("same prompt reproduces the source: true"))
        case "baret_nonrigid":
            #expect(h.lines.contains("rigid: transition == reconstruction: true"))
        case "step_through_denoising":
            #expect(h.lines.contains("same latent again: true") && h.lines.contains("step x20 == run: true"))
        case "dds_step_by_step", "instantswap":
            // Their asserts check the method invariants; both plot a trace.
            #expect(h.lines.contains { $0.hasPrefix("wrote ") && $0.hasSuffix("plot.png") })
        case "quickstart":
            #expect(h.lines.contains { $0.hasPrefix("wrote ") && $0.hasSuffix("/quickstart.png") })
        default:
            break
        }
    }
}
