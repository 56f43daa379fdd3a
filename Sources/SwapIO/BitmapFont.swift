/// A small fixed-width bitmap font for captions, designed for this project.
///
/// Each glyph is 5 pixels wide and 8 tall: rows 0–6 hold capitals, digits and the x-height
/// letters (baseline under row 6), row 7 holds descenders (g, j, p, q, y, comma, underscore).
/// Glyphs advance 6 pixels, leaving one blank column. Printable ASCII (32–126) is covered;
/// every other character is drawn as a hollow box so that missing glyphs stay visible.
public enum BitmapFont {
    /// Glyph width in pixels at scale 1.
    public static let glyphWidth = 5
    /// Glyph height in pixels at scale 1, including the descender row.
    public static let glyphHeight = 8
    /// Horizontal distance between glyph origins at scale 1.
    public static let advance = 6

    /// The glyph rows for `character`, top first; bit 4 is the leftmost pixel.
    public static func glyph(for character: Character) -> [UInt8] {
        if let ascii = character.asciiValue, ascii >= 32, ascii <= 126 {
            return table[Int(ascii) - 32]
        }
        return box
    }

    /// Width in pixels of `text` drawn at `scale` (no trailing blank column).
    public static func width(of text: String, scale: Int = 1) -> Int {
        let count = text.count
        return count == 0 ? 0 : (count * advance - 1) * max(scale, 1)
    }

    /// `text` shortened with a trailing ".." so that it fits in `maxWidth` pixels at `scale`.
    public static func fitting(_ text: String, maxWidth: Int, scale: Int = 1) -> String {
        if width(of: text, scale: scale) <= maxWidth { return text }
        let capacity = (maxWidth / max(scale, 1) + 1) / advance
        guard capacity > 2 else { return String(text.prefix(max(capacity, 0))) }
        return String(text.prefix(capacity - 2)) + ".."
    }

    private static let box: [UInt8] = parse("##### #...# #...# #...# #...# #...# ##### .....")

    /// Parses "rows separated by spaces" art: '#' is ink, '.' is paper.
    private static func parse(_ art: String) -> [UInt8] {
        art.split(separator: " ").map { row in
            row.reduce(UInt8(0)) { bits, pixel in (bits << 1) | (pixel == "#" ? 1 : 0) }
        }
    }

    /// Glyphs for ASCII 32 (space) through 126 (~), in order.
    private static let table: [[UInt8]] = [
        "..... ..... ..... ..... ..... ..... ..... .....",  // space
        "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#.. .....",  // !
        ".#.#. .#.#. .#.#. ..... ..... ..... ..... .....",  // "
        ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#. .....",  // #
        "..#.. .#### #.#.. .###. ..#.# ####. ..#.. .....",  // $
        "##... ##..# ...#. ..#.. .#... #..## ...## .....",  // %
        ".##.. #..#. #.#.. .#... #.#.# #..#. .##.# .....",  // &
        "..#.. ..#.. .#... ..... ..... ..... ..... .....",  // '
        "...#. ..#.. .#... .#... .#... ..#.. ...#. .....",  // (
        ".#... ..#.. ...#. ...#. ...#. ..#.. .#... .....",  // )
        "..... ..#.. #.#.# .###. #.#.# ..#.. ..... .....",  // *
        "..... ..#.. ..#.. ##### ..#.. ..#.. ..... .....",  // +
        "..... ..... ..... ..... ..... .##.. ..#.. .#...",  // ,
        "..... ..... ..... ##### ..... ..... ..... .....",  // -
        "..... ..... ..... ..... ..... .##.. .##.. .....",  // .
        "....# ....# ...#. ..#.. .#... #.... #.... .....",  // /
        ".###. #...# #..## #.#.# ##..# #...# .###. .....",  // 0
        "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###. .....",  // 1
        ".###. #...# ....# ...#. ..#.. .#... ##### .....",  // 2
        "##### ...#. ..#.. ...#. ....# #...# .###. .....",  // 3
        "...#. ..##. .#.#. #..#. ##### ...#. ...#. .....",  // 4
        "##### #.... ####. ....# ....# #...# .###. .....",  // 5
        "..##. .#... #.... ####. #...# #...# .###. .....",  // 6
        "##### ....# ...#. ..#.. .#... .#... .#... .....",  // 7
        ".###. #...# #...# .###. #...# #...# .###. .....",  // 8
        ".###. #...# #...# .#### ....# ...#. .##.. .....",  // 9
        "..... .##.. .##.. ..... .##.. .##.. ..... .....",  // :
        "..... .##.. .##.. ..... .##.. ..#.. .#... .....",  // ;
        "...#. ..#.. .#... #.... .#... ..#.. ...#. .....",  // <
        "..... ..... ##### ..... ##### ..... ..... .....",  // =
        ".#... ..#.. ...#. ....# ...#. ..#.. .#... .....",  // >
        ".###. #...# ....# ...#. ..#.. ..... ..#.. .....",  // ?
        ".###. #...# #.### #.#.# #.### #.... .###. .....",  // @
        ".###. #...# #...# ##### #...# #...# #...# .....",  // A
        "####. #...# #...# ####. #...# #...# ####. .....",  // B
        ".###. #...# #.... #.... #.... #...# .###. .....",  // C
        "###.. #..#. #...# #...# #...# #..#. ###.. .....",  // D
        "##### #.... #.... ####. #.... #.... ##### .....",  // E
        "##### #.... #.... ####. #.... #.... #.... .....",  // F
        ".###. #...# #.... #.### #...# #...# .#### .....",  // G
        "#...# #...# #...# ##### #...# #...# #...# .....",  // H
        ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###. .....",  // I
        "..### ...#. ...#. ...#. ...#. #..#. .##.. .....",  // J
        "#...# #..#. #.#.. ##... #.#.. #..#. #...# .....",  // K
        "#.... #.... #.... #.... #.... #.... ##### .....",  // L
        "#...# ##.## #.#.# #.#.# #...# #...# #...# .....",  // M
        "#...# #...# ##..# #.#.# #..## #...# #...# .....",  // N
        ".###. #...# #...# #...# #...# #...# .###. .....",  // O
        "####. #...# #...# ####. #.... #.... #.... .....",  // P
        ".###. #...# #...# #...# #.#.# #..#. .##.# .....",  // Q
        "####. #...# #...# ####. #.#.. #..#. #...# .....",  // R
        ".#### #.... #.... .###. ....# ....# ####. .....",  // S
        "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. .....",  // T
        "#...# #...# #...# #...# #...# #...# .###. .....",  // U
        "#...# #...# #...# #...# #...# .#.#. ..#.. .....",  // V
        "#...# #...# #...# #.#.# #.#.# #.#.# .#.#. .....",  // W
        "#...# #...# .#.#. ..#.. .#.#. #...# #...# .....",  // X
        "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#.. .....",  // Y
        "##### ....# ...#. ..#.. .#... #.... ##### .....",  // Z
        ".###. .#... .#... .#... .#... .#... .###. .....",  // [
        "#.... #.... .#... ..#.. ...#. ....# ....# .....",  // backslash
        ".###. ...#. ...#. ...#. ...#. ...#. .###. .....",  // ]
        "..#.. .#.#. #...# ..... ..... ..... ..... .....",  // ^
        "..... ..... ..... ..... ..... ..... ..... #####",  // _
        ".#... ..#.. ..... ..... ..... ..... ..... .....",  // `
        "..... ..... .###. ....# .#### #...# .#### .....",  // a
        "#.... #.... #.##. ##..# #...# #...# ####. .....",  // b
        "..... ..... .###. #.... #.... #...# .###. .....",  // c
        "....# ....# .##.# #..## #...# #...# .#### .....",  // d
        "..... ..... .###. #...# ##### #.... .###. .....",  // e
        "..##. .#..# .#... ###.. .#... .#... .#... .....",  // f
        "..... ..... .#### #...# #...# .#### ....# .###.",  // g
        "#.... #.... #.##. ##..# #...# #...# #...# .....",  // h
        "..#.. ..... .##.. ..#.. ..#.. ..#.. .###. .....",  // i
        "...#. ..... ..##. ...#. ...#. ...#. #..#. .##..",  // j
        "#.... #.... #..#. #.#.. ##... #.#.. #..#. .....",  // k
        ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###. .....",  // l
        "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.# .....",  // m
        "..... ..... #.##. ##..# #...# #...# #...# .....",  // n
        "..... ..... .###. #...# #...# #...# .###. .....",  // o
        "..... ..... ####. #...# #...# ####. #.... #....",  // p
        "..... ..... .#### #...# #...# .#### ....# ....#",  // q
        "..... ..... #.##. ##..# #.... #.... #.... .....",  // r
        "..... ..... .#### #.... .###. ....# ####. .....",  // s
        ".#... .#... ###.. .#... .#... .#..# ..##. .....",  // t
        "..... ..... #...# #...# #...# #..## .##.# .....",  // u
        "..... ..... #...# #...# #...# .#.#. ..#.. .....",  // v
        "..... ..... #...# #...# #.#.# #.#.# .#.#. .....",  // w
        "..... ..... #...# .#.#. ..#.. .#.#. #...# .....",  // x
        "..... ..... #...# #...# #...# .#### ....# .###.",  // y
        "..... ..... ##### ...#. ..#.. .#... ##### .....",  // z
        "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#. .....",  // {
        "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",  // |
        ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#... .....",  // }
        "..... ..... .#... #.#.# ...#. ..... ..... .....",  // ~
    ].map(parse)
}

extension Image {
    /// Draws `text` with `BitmapFont` so that its top-left corner is at (`x`, `y`), each font
    /// pixel becoming a `scale`×`scale` block of `color` (one value per channel, or one value
    /// for all channels). Parts outside the image are clipped; newlines are not interpreted.
    public mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 1,
                                  color: [Float] = [0]) {
        let scale = max(scale, 1)
        let ink = (0..<channels).map { color.isEmpty ? 0 : color[min($0, color.count - 1)] }
        var originX = x
        for character in text {
            let rows = BitmapFont.glyph(for: character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(column)) != 0 {
                    fillBlock(x: originX + column * scale, y: y + row * scale, size: scale, ink: ink)
                }
            }
            originX += BitmapFont.advance * scale
            if originX >= width { break }
        }
    }

    private mutating func fillBlock(x: Int, y: Int, size: Int, ink: [Float]) {
        let top = max(y, 0), bottom = min(y + size, height)
        let left = max(x, 0), right = min(x + size, width)
        guard top < bottom, left < right else { return }
        for py in top..<bottom {
            for px in left..<right {
                for c in 0..<channels { self[x: px, y: py, channel: c] = ink[c] }
            }
        }
    }
}
