import Foundation
import Testing
@testable import SwapIO

@Test func gridSizeWithAndWithoutCaptions() throws {
    let tile = try Image(width: 16, height: 10, channels: 3, fill: [0.3])
    let images = Array(repeating: tile, count: 5)
    let plain = try grid(images, columns: 3, padding: 2)
    #expect(plain.width == 3 * 16 + 4 * 2)
    #expect(plain.height == 2 * 10 + 3 * 2)
    #expect(plain.channels == 3)
    let captioned = try grid(images, columns: 3, captions: ["a", "b", "c", "d", "e"], padding: 2)
    #expect(captioned.width == plain.width)
    #expect(captioned.height == 2 * (10 + 12) + 3 * 2)
    // Tile content is placed at the padding offset.
    #expect(plain[x: 2, y: 2, channel: 0] == Float(0.3))
    #expect(plain[x: 1, y: 1, channel: 0] == 1)
}

/// Ink pixels (darker than 0.5) in a rectangle of a white-background grid.
private func inkCount(_ image: Image, x: Range<Int>, y: Range<Int>) -> Int {
    var count = 0
    for py in y { for px in x where image[x: px, y: py, channel: 0] < 0.5 { count += 1 } }
    return count
}

@Test func captionsAreDrawnAndLegible() throws {
    let tile = try Image(width: 64, height: 64, channels: 3, fill: [0.8])
    let captions = ["<|startoftext|>", "circle", "", "é"]
    let result = try grid(Array(repeating: tile, count: 4), columns: 4, captions: captions, padding: 4)
    let captionRows = (4 + 64)..<(result.height - 4)
    var counts: [Int] = []
    for column in 0..<4 {
        let x0 = 4 + column * (64 + 4)
        counts.append(inkCount(result, x: x0..<(x0 + 64), y: captionRows))
    }
    #expect(counts[0] > 0 && counts[1] > 0 && counts[3] > 0)
    #expect(counts[2] == 0)
    // The unknown character is a hollow box: 5 + 5 + 2 * 5 = 20 ink pixels at scale 1.
    #expect(counts[3] == 20)
    // "circle" drawn once equals the sum of its glyphs' ink.
    let glyphInk = "circle".map { BitmapFont.glyph(for: $0).map { $0.nonzeroBitCount }.reduce(0, +) }.reduce(0, +)
    #expect(counts[1] == glyphInk)
}

@Test func bigTilesUseDoubleScaleFont() throws {
    let tile = try Image(width: 256, height: 8, channels: 1, fill: [1])
    let result = try grid([tile], columns: 1, captions: ["x"], padding: 0)
    #expect(result.height == 8 + (BitmapFont.glyphHeight + 4) * 2)
    let ink = inkCount(result, x: 0..<256, y: 8..<result.height)
    let glyphInk = BitmapFont.glyph(for: "x").map { $0.nonzeroBitCount }.reduce(0, +)
    #expect(ink == glyphInk * 4)
}

@Test func longCaptionsAreShortened() {
    let text = BitmapFont.fitting("a very long caption for a small tile", maxWidth: 40)
    #expect(text.hasSuffix(".."))
    #expect(BitmapFont.width(of: text) <= 40)
    #expect(BitmapFont.fitting("short", maxWidth: 40) == "short")
}

@Test func everyPrintableGlyphIsDistinctAndNotEmpty() {
    let glyphs = (32...126).map { BitmapFont.glyph(for: Character(Unicode.Scalar(UInt8($0)))) }
    #expect(glyphs.allSatisfy { $0.count == BitmapFont.glyphHeight && $0.allSatisfy { $0 < 32 } })
    #expect(glyphs.dropFirst().allSatisfy { $0.contains { $0 != 0 } })
    #expect(Set(glyphs.map { $0.map(String.init).joined(separator: ",") }).count == 95)
}

@Test func gridRejectsBadArguments() throws {
    let tile = try Image(width: 2, height: 2, channels: 3)
    #expect(throws: ImageError.self) { try grid([], columns: 1) }
    #expect(throws: ImageError.self) { try grid([tile], columns: 0) }
    #expect(throws: ImageError.self) { try grid([tile, tile], columns: 2, captions: ["one"]) }
    #expect(throws: ImageError.self) { try grid([tile], columns: 1, padding: -1) }
}

@Test func mixedSizesAndAlphaAreCentredAndFlattened() throws {
    let small = try Image(width: 2, height: 2, channels: 4, fill: [0, 0, 0, 0.5])
    let large = try Image(width: 6, height: 6, channels: 1, fill: [0])
    let result = try grid([small, large], columns: 2, padding: 0)
    #expect(result.width == 12 && result.height == 6)
    // Small tile centred at (2, 2) in a 6×6 cell; half-transparent black over white = 0.5.
    #expect(result[x: 2, y: 2, channel: 0] == 0.5)
    #expect(result[x: 0, y: 0, channel: 0] == 1)
}
