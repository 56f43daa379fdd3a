import Foundation
import SwapRuntime
import Testing
@testable import SwapREPL

@Suite struct HTMLNotebookTests {
    @Test func pageStructureAndEscaping() {
        let html = HTMLNotebook.render([
            TranscriptEntry(input: "s = \"<script>alert('x') & co</script>\"", output: ["a < b > c"],
                            errors: ["<repl>:1:1: error: \"bad\""]),
        ], title: "t <1>")
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">"))
        #expect(html.hasSuffix("</body>\n</html>\n"))
        #expect(html.contains("<meta charset=\"utf-8\">"))
        #expect(html.contains("<title>t &lt;1&gt;</title>"))
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;) &amp; co&lt;/script&gt;"))
        #expect(html.contains("a &lt; b &gt; c"))
        #expect(html.contains("<pre class=\"error\">&lt;repl&gt;:1:1: error: &quot;bad&quot;</pre>"))
        #expect(HTMLNotebook.escape("\u{1B}[31m") == "\u{FFFD}[31m")
        // Every opened element is closed, in order.
        #expect(tagsBalance(html))
    }

    @Test func imagesAreInlinedAsDataURIs() throws {
        let folder = try temporaryFolder(files: [])
        let reportPath = folder + "/report.html"
        let h = REPLHarness(["img = to_image(ones([3, 2, 2]))", "print(\"done\")", ":export \(reportPath)"], folder: folder)
        h.run()
        let html = try String(contentsOfFile: reportPath, encoding: .utf8)
        let png = try #require(h.repl.transcript.entries.first?.images.first)
        let data = try #require(FileManager.default.contents(atPath: png))
        #expect(html.contains("src=\"data:image/png;base64,\(data.base64EncodedString())\""))
        #expect(html.contains("img = to_image(ones([3, 2, 2]))"))
        #expect(html.contains("<pre class=\"output\">done</pre>"))
        #expect(tagsBalance(html))
        #expect(h.out.contains("wrote \(reportPath)"))
    }

    @Test func missingImagesAreNamedNotEmbedded() {
        let html = HTMLNotebook.render([TranscriptEntry(input: "x", images: ["/nonexistent/a.png"])])
        #expect(html.contains("image not readable: /nonexistent/a.png"))
        #expect(!html.contains("data:image/png"))
    }

    /// True when non-void elements open and close in a properly nested order.
    func tagsBalance(_ html: String) -> Bool {
        let void: Set<String> = ["meta", "img", "br", "hr", "link", "!doctype"]
        var stack: [String] = []
        var rest = Substring(html)
        while let open = rest.firstIndex(of: "<") {
            guard let close = rest[open...].firstIndex(of: ">") else { return false }
            let tag = rest[rest.index(after: open)..<close]
            rest = rest[rest.index(after: close)...]
            let name = tag.split(whereSeparator: { $0 == " " || $0 == "\n" }).first.map { String($0).lowercased() } ?? ""
            if name.hasPrefix("/") {
                guard stack.popLast() == String(name.dropFirst()) else { return false }
            } else if !void.contains(name) {
                stack.append(name)
            }
        }
        return stack.isEmpty
    }
}
