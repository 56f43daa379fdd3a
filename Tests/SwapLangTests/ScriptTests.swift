import Foundation
import Testing
@testable import SwapLang

/// Expectations parsed from comments in a `.swapscript` file (craftinginterpreters style):
/// `# expect: <line>` in order, `# expect error: <substring>` on the line that fails.
struct ScriptExpectations {
    var output: [String] = []
    var errors: [(line: Int, text: String)] = []

    init(_ source: String) {
        for (i, line) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let r = line.range(of: "# expect error: ") {
                errors.append((i + 1, String(line[r.upperBound...]).trimmingCharacters(in: .whitespaces)))
            } else if let r = line.range(of: "# expect: ") {
                output.append(String(line[r.upperBound...]))
            }
        }
    }
}

enum ScriptCatalog {
    static var directory: URL {
        if let url = Bundle.module.url(forResource: "Scripts", withExtension: nil) { return url }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts")
    }

    /// Relative paths of every script under Scripts/, sorted.
    static var all: [String] {
        let base = directory.standardizedFileURL.path
        let files = FileManager.default.enumerator(atPath: base)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".swapscript") }.sorted()
    }
}

@Test func scriptCatalogIsLarge() {
    #expect(ScriptCatalog.all.count >= 50)
}

@Test(arguments: ScriptCatalog.all)
func script(_ path: String) throws {
    let url = ScriptCatalog.directory.appendingPathComponent(path)
    let source = try String(contentsOf: url, encoding: .utf8)
    let expected = ScriptExpectations(source)
    let r = run(source, file: path)
    #expect(r.output == expected.output, "output of \(path)")
    let actual = r.result.diagnostics.map { ($0.location.line, $0.message) }
    #expect(actual.count == expected.errors.count, "errors of \(path): \(r.errors)")
    for (want, got) in zip(expected.errors, actual) {
        #expect(want.line == got.0 && got.1.contains(want.text),
                "\(path): expected error '\(want.text)' on line \(want.line), got '\(got.1)' on line \(got.0)")
    }
    if expected.errors.isEmpty {
        #expect(r.result.status == .ok)
    } else {
        #expect(r.result.status != .ok)
    }
}
