import Foundation
import SwapIO

/// Renders a transcript as one self-contained HTML5 page (`:export report.html`): every input,
/// what it printed, its errors, and every image inline as a base64 PNG data URI, so the page
/// can be mailed or archived without the output folder.
public enum HTMLNotebook {
    /// The page for `entries`. Image files that cannot be read are named in a note instead.
    public static func render(_ entries: [TranscriptEntry], title: String = "SwapScript session",
                              readFile: (String) -> Data? = { FileManager.default.contents(atPath: $0) }) -> String {
        var html = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="swapscript">
        <title>\(escape(title))</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
        section.cell { border-left: 3px solid #88a; margin: 1.2rem 0; padding: 0.2rem 0 0.2rem 0.8rem; }
        pre { margin: 0.3rem 0; padding: 0.4rem 0.6rem; overflow-x: auto; white-space: pre-wrap; }
        pre.input { background: #f0f0f6; }
        pre.input::before { content: ">> "; color: #88a; }
        pre.output { background: #fafafa; }
        pre.error { background: #fff0f0; color: #a00; }
        figure { margin: 0.5rem 0; }
        figure img { max-width: 100%; image-rendering: pixelated; border: 1px solid #ddd; }
        figcaption { font-size: 0.8rem; color: #666; }
        </style>
        </head>
        <body>
        <h1>\(escape(title))</h1>

        """
        for (index, entry) in entries.enumerated() {
            html += "<section class=\"cell\" id=\"in\(index + 1)\">\n"
            html += "<pre class=\"input\"><code>\(escape(entry.input))</code></pre>\n"
            if !entry.output.isEmpty {
                html += "<pre class=\"output\">\(escape(entry.output.joined(separator: "\n")))</pre>\n"
            }
            for error in entry.errors {
                html += "<pre class=\"error\">\(escape(error))</pre>\n"
            }
            for path in entry.images {
                html += figure(path: path, readFile: readFile)
            }
            html += "</section>\n"
        }
        html += "</body>\n</html>\n"
        return html
    }

    /// Writes the page atomically.
    public static func write(_ entries: [TranscriptEntry], to path: String, title: String = "SwapScript session") throws {
        try AtomicFile.write(Data(render(entries, title: title).utf8), to: path)
    }

    /// Escapes text for element content and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\u{1B}": out += "\u{FFFD}"   // terminal escapes never reach the page
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func figure(path: String, readFile: (String) -> Data?) -> String {
        let caption = "<figcaption>\(escape(path))</figcaption>"
        guard let data = readFile(path), isPNG(data) else {
            return "<figure><p class=\"missing\">image not readable: \(escape(path))</p></figure>\n"
        }
        let alt = escape((path as NSString).lastPathComponent)
        return "<figure><img alt=\"\(alt)\" src=\"data:image/png;base64,\(data.base64EncodedString())\">\(caption)</figure>\n"
    }

    /// True when `data` starts with the PNG signature.
    static func isPNG(_ data: Data) -> Bool {
        data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }
}
