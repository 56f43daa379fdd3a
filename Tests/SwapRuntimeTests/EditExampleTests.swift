import Foundation
import Testing
@testable import SwapRuntime

/// Runs examples/p2p_replace.swapscript and examples/null_text_inversion.swapscript on the tiny
/// SD1 fixture model (tools/reference/make_pipeline_fixtures.py): the examples' `model = "..."`
/// line is pointed at the fixture folder; everything else runs as written.
@Suite(.serialized) struct EditExampleTests {
    static func run(_ name: String) throws -> Harness {
        let path = repositoryRoot.appendingPathComponent("examples/\(name)").path
        var source = try String(contentsOfFile: path, encoding: .utf8)
        let line = "model = \"models/sd15\""
        #expect(source.contains(line), "\(name) sets its model with \(line)")
        source = source.replacingOccurrences(of: line, with: "model = \"\(try ModelBuiltinTests.folder.get())\"")
        let h = Harness()
        h.run(source, file: path)
        #expect(h.status == .ok, "\(name): \(h.errors)")
        return h
    }

    @Test func p2pReplaceExample() throws {
        let h = try Self.run("p2p_replace.swapscript")
        let written = h.session.writtenFiles.map { ($0 as NSString).lastPathComponent }
        for png in ["p2p_replace.png", "p2p_no_controller.png", "p2p_blend_reweight.png"] {
            #expect(written.contains(png), "\(png) in \(written)")
        }
    }

    @Test func nullTextInversionExample() throws {
        let h = try Self.run("null_text_inversion.swapscript")
        let written = h.session.writtenFiles.map { ($0 as NSString).lastPathComponent }
        #expect(written.contains("reconstruction.png") && written.contains("cat_to_dog.png"), "\(written)")
        let line = try #require(h.lines.first { $0.hasPrefix("reconstruction MSE: null-text") })
        let numbers = line.split(separator: " ").compactMap { Double($0) }
        #expect(numbers.count == 2 && numbers[0] < numbers[1], "\(line)")
    }
}
