import Foundation
import Testing
import SwapLang
@testable import SwapRuntime

/// Runs every `Tests/SwapRuntimeTests/Scripts/**/*.swapscript` through a full `Session`.
/// Expectations are comments in the scripts: `# expect: <printed line>` in order, and
/// `# expect error: <substring>` on the line whose statement fails. `wrote PATH` lines are left
/// out (paths are temporary). Each script sees two extra bindings: `fixtures`, the folder of
/// Tests/SwapIOTests/Fixtures (made by tools/reference/make_png_fixtures.py), and `tiny_sd1`,
/// the tiny SD1-style pipeline of Tests/SwapPipelineTests/Fixtures (made by
/// tools/reference/make_pipeline_fixtures.py), completed with its tokenizer files; scripts that
/// mention `networks` get the folder of Tests/SwapModelsTests/Fixtures/networks (the tiny CLIP
/// and LPIPS weights of tools/reference/make_network_metric_fixtures.py).
struct RuntimeScriptTests {
    static let directory = repositoryRoot.appendingPathComponent("Tests/SwapRuntimeTests/Scripts")

    static var all: [String] {
        let files = FileManager.default.enumerator(atPath: directory.path)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".swapscript") }.sorted()
    }

    @Test(arguments: all)
    func script(_ path: String) throws {
        let source = try String(contentsOf: Self.directory.appendingPathComponent(path), encoding: .utf8)
        var expectedOutput: [String] = []
        var expectedErrors: [(line: Int, text: String)] = []
        for (i, line) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let r = line.range(of: "# expect error: ") {
                expectedErrors.append((i + 1, String(line[r.upperBound...]).trimmingCharacters(in: .whitespaces)))
            } else if let r = line.range(of: "# expect: ") {
                expectedOutput.append(String(line[r.upperBound...]))
            }
        }
        let h = Harness()
        h.session.interpreter.define("fixtures", .string(repositoryRoot.appendingPathComponent("Tests/SwapIOTests/Fixtures").path))
        if source.contains("networks") {
            h.session.interpreter.define("networks", .string(repositoryRoot.appendingPathComponent("Tests/SwapModelsTests/Fixtures/networks").path))
        }
        if source.contains("tiny_sd1") {
            h.session.interpreter.define("tiny_sd1", .string(try ModelBuiltinTests.folder.get()))
        }
        h.run(source, file: path)
        #expect(h.lines.filter { !$0.hasPrefix("wrote ") } == expectedOutput, "output of \(path); errors: \(h.errors)")
        let actual = h.session.lastDiagnostics.map { ($0.location.line, $0.message) }
        #expect(actual.count == expectedErrors.count, "errors of \(path): \(h.errors)")
        for (want, got) in zip(expectedErrors, actual) {
            #expect(want.line == got.0 && got.1.contains(want.text),
                    "\(path): expected error '\(want.text)' on line \(want.line), got '\(got.1)' on line \(got.0)")
        }
        #expect((h.status == .ok) == expectedErrors.isEmpty, "\(path): status \(h.status)")
    }
}
