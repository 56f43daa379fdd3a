import Foundation
import SwapIO

/// The escape sequences that show a PNG inside a terminal, one encoder per protocol.
///
/// - kitty graphics (APC): `ESC _G a=T,f=100,q=2,m=1;<base64> ESC \` in chunks of at most 4096
///   base64 bytes, the last with `m=0`. `f=100` says the payload is a PNG; `q=2` silences replies.
/// - iTerm2 inline images (OSC 1337): `ESC ]1337;File=name=…;size=N;inline=1:<base64> BEL`.
/// - sixel (DCS): `ESC P q "1;1;W;H #n;2;r;g;b … ESC \`, a 6-level-per-channel palette
///   (216 colours), run-length encoded, transparent pixels blended over white.
public enum InlineImageEncoder {
    /// Largest base64 payload per kitty escape sequence (the protocol's limit).
    public static let kittyChunkSize = 4096

    /// The kitty graphics sequence that transmits and shows `png`, followed by a newline.
    public static func kitty(png: Data) -> String {
        let payload = png.base64EncodedString()
        var out = ""
        var index = payload.startIndex
        var first = true
        repeat {
            let end = payload.index(index, offsetBy: kittyChunkSize, limitedBy: payload.endIndex) ?? payload.endIndex
            let more = end < payload.endIndex ? 1 : 0
            let keys = first ? "a=T,f=100,q=2,m=\(more)" : "m=\(more)"
            out += "\u{1B}_G\(keys);\(payload[index..<end])\u{1B}\\"
            index = end
            first = false
        } while index < payload.endIndex
        return out + "\n"
    }

    /// The iTerm2 inline-image sequence for `png` (named `name`), followed by a newline.
    public static func iTerm2(png: Data, name: String) -> String {
        let encodedName = Data(name.utf8).base64EncodedString()
        return "\u{1B}]1337;File=name=\(encodedName);size=\(png.count);inline=1;preserveAspectRatio=1:"
            + png.base64EncodedString() + "\u{07}\n"
    }

    /// The sixel sequence for `image` scaled down (nearest neighbour) to at most `maxSide`
    /// pixels on its longer side, followed by a newline.
    public static func sixel(image: Image, maxSide: Int = 512) -> String {
        let rgb = image.flattened(background: 1).converted(toChannels: 3)
        let scale = max(1, (max(rgb.width, rgb.height) + maxSide - 1) / maxSide)
        let width = max(1, rgb.width / scale), height = max(1, rgb.height / scale)
        // Palette index per pixel: 6 levels per channel.
        var indices = [UInt8](repeating: 0, count: width * height)
        rgb.pixels.withUnsafeBufferPointer { px in
            for y in 0..<height {
                for x in 0..<width {
                    let base = ((y * scale) * rgb.width + x * scale) * 3
                    func level(_ v: Float) -> Int { Int((min(max(v.isNaN ? 0 : v, 0), 1) * 5).rounded()) }
                    indices[y * width + x] = UInt8(level(px[base]) * 36 + level(px[base + 1]) * 6 + level(px[base + 2]))
                }
            }
        }
        var out = "\u{1B}Pq\"1;1;\(width);\(height)"
        for i in 0..<216 {
            let r = i / 36, g = (i / 6) % 6, b = i % 6
            out += "#\(i);2;\(r * 20);\(g * 20);\(b * 20)"
        }
        var band = 0
        while band < height {
            let rows = min(6, height - band)
            var used = Set<UInt8>()
            for y in band..<(band + rows) { for x in 0..<width { used.insert(indices[y * width + x]) } }
            var firstColour = true
            for colour in used.sorted() {
                if !firstColour { out += "$" }
                firstColour = false
                out += "#\(colour)"
                var run = 0
                var runChar: UInt8 = 0
                func flush() {
                    guard run > 0 else { return }
                    let c = String(UnicodeScalar(runChar))
                    out += run > 3 ? "!\(run)\(c)" : String(repeating: c, count: run)
                }
                for x in 0..<width {
                    var bits: UInt8 = 0
                    for r in 0..<rows where indices[(band + r) * width + x] == colour { bits |= 1 << UInt8(r) }
                    let char = 63 + bits
                    if run > 0, char == runChar {
                        run += 1
                    } else {
                        flush()
                        runChar = char
                        run = 1
                    }
                }
                flush()
            }
            out += "-"
            band += 6
        }
        return out + "\u{1B}\\\n"
    }

    /// The sequence for the PNG file at `path` in `proto`, or nil when the file cannot be
    /// read or the protocol shows nothing.
    public static func encode(fileAt path: String, for proto: GraphicsProtocol) -> String? {
        guard proto != .none, let data = FileManager.default.contents(atPath: path),
              HTMLNotebook.isPNG(data) else { return nil }
        switch proto {
        case .kitty: return kitty(png: data)
        case .iterm2: return iTerm2(png: data, name: (path as NSString).lastPathComponent)
        case .sixel: return (try? Image(pngData: data)).map { sixel(image: $0) }
        case .none: return nil
        }
    }
}
