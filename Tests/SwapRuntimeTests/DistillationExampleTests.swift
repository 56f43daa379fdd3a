import Foundation
import Testing
import SwapEditing
import SwapLang
@testable import SwapRuntime

/// Runs examples/dds_step_by_step.swapscript and examples/instantswap.swapscript on the tiny
/// SD1 fixture model (`model` bound to it, as the other model examples are run); their `assert`s check the method invariants
/// (zero DDS gradient on identical prompts, UNet calls = anchors, background unchanged with BGM).
struct DistillationExampleTests {
    static let examples = ["dds_step_by_step.swapscript", "instantswap.swapscript"]

    @Test(arguments: examples)
    func example(_ name: String) throws {
        let path = repositoryRoot.appendingPathComponent("examples/\(name)").path
        let h = Harness()
        h.session.workspace.makeProgressReporter = { ProgressReporter(style: .silent) }
        h.session.interpreter.define("model", .string(try ModelBuiltinTests.folder.get()))
        let status = h.session.run(file: path)
        #expect(status == .ok, "\(name): \(h.errors)")
        #expect(h.lines.contains { $0.hasPrefix("wrote ") && $0.hasSuffix("plot.png") })
    }
}
