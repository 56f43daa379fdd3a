import Foundation
import Testing
@testable import SwapIO

// All fixtures used here are produced by tools/reference/make_png_fixtures.py, which encodes
// them with zlib + struct from deterministic patterns and writes the expected decoded samples
// to Fixtures/png_expected.json.

@Test func fixtureListMatchesScript() throws {
    let expected = try Fixtures.expected()
    #expect(Set(expected.good.keys) == Set(goodFixtureNames))
    #expect(Set(expected.bad.keys) == Set(badFixtureNames))
}

private func check(_ image: Image, against info: Fixtures.Expected.Good, name: String) {
    #expect(image.width == info.width, "\(name)")
    #expect(image.height == info.height, "\(name)")
    #expect(image.channels == info.channels, "\(name)")
    #expect(image.pixels.count == info.samples.count, "\(name)")
    let maximum = Float((1 << info.bitDepth) - 1)
    var mismatches = 0
    for (i, sample) in info.samples.enumerated() where i < image.pixels.count {
        if image.pixels[i] != Float(sample) / maximum { mismatches += 1 }
    }
    #expect(mismatches == 0, "\(name): \(mismatches) samples differ")
    #expect(image.metadata.map { [$0.key, $0.value] } == info.text, "\(name)")
}

// Fixture: make_png_fixtures.py (good/*.png, png_expected.json)
@Test(arguments: goodFixtureNames)
func loadsEveryColorTypeAndDepth(name: String) throws {
    let info = try #require(try Fixtures.expected().good[name])
    let path = try Fixtures.path("good/\(name).png")
    check(try Image.load(path), against: info, name: name)
    // The in-memory reader must agree with the FILE reader.
    check(try Image(pngData: Fixtures.data("good/\(name).png")), against: info, name: name)
}

// Fixture: make_png_fixtures.py (good/gray16.png): 16-bit precision survives as Float.
@Test func sixteenBitPrecisionIsKept() throws {
    let info = try #require(try Fixtures.expected().good["gray16"])
    let image = try Image.load(Fixtures.path("good/gray16.png"))
    // Find a sample that is not representable in 8 bits and check it exactly.
    let index = try #require(info.samples.firstIndex { $0 % 257 != 0 })
    #expect(image.pixels[index] == Float(info.samples[index]) / 65535)
    #expect(image.pixels[index] != (Float(info.samples[index] / 257) / 255))
}

// Fixture: make_png_fixtures.py (good/text_chunks.png)
@Test func readsTextChunksInOrderIncludingAfterIDAT() throws {
    let image = try Image.load(Fixtures.path("good/text_chunks.png"))
    #expect(image.metadata.map(\.key) == ["parameters", "Author", "Comment", "prompt", "workflow", "Software"])
    #expect(image.parameters?.hasPrefix("a photo of a cat") == true)
    #expect(image.metadataValue(forKey: "Author") == "Zoë François © 2024")
    #expect(image.metadataValue(forKey: "prompt")?.contains("🐕") == true)
    #expect(image.metadataValue(forKey: "Software") == "make_png_fixtures.py")
}

private func kind(from info: Fixtures.Expected.Bad) -> ImageError.Kind? {
    switch info.error {
    case "empty": return .empty
    case "notPNG": return .notPNG
    case "truncated": return .truncated
    case "crc": return .crcMismatch(chunk: info.chunk ?? "")
    case "corrupt": return .corrupt
    case "tooLarge": return .tooLarge
    default: return nil
    }
}

// Fixture: make_png_fixtures.py (bad/*.png, png_expected.json "bad")
@Test(arguments: badFixtureNames)
func badFilesThrowNamedErrors(name: String) throws {
    let info = try #require(try Fixtures.expected().bad[name])
    let expectedKind = try #require(kind(from: info))
    let path = try Fixtures.path("bad/\(name).png")
    do {
        _ = try Image.load(path)
        Issue.record("\(name) loaded without error")
    } catch let error as ImageError {
        #expect(error.kind == expectedKind, "\(name): \(error)")
        #expect(error.file == path)
        #expect(error.description.hasPrefix(path + ": "))
        if let chunk = info.chunk { #expect(error.description.contains("CRC error in \(chunk)")) }
    }
    #expect(throws: ImageError.self) { try Image(pngData: Fixtures.data("bad/\(name).png")) }
}

@Test func errorMessagesSayWhatIsWrong() throws {
    let cases: [(String, String)] = [
        ("bad/not_png.png", "not a PNG file"), ("bad/empty.png", "empty"),
        ("bad/truncated_idat.png", "truncated"), ("bad/crc_idat.png", "CRC error in IDAT"),
    ]
    for (file, phrase) in cases {
        let path = try Fixtures.path(file)
        let error = try #require(throws: ImageError.self) { try Image.load(path) }
        #expect(error.description.contains(phrase), "\(error)")
        #expect(error.description.contains(file))
    }
}

@Test func missingFileAndDirectoryThrow() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let missing = dir.appendingPathComponent("nope.png").path
    let error = try #require(throws: ImageError.self) { try Image.load(missing) }
    #expect(error.kind == .io)
    #expect(error.description.contains("nope.png"))
    #expect(throws: ImageError.self) { try Image.load(dir.path) }
}

// Fixture: make_png_fixtures.py (good/rgb8.png): every proper prefix of a valid file must throw.
@Test func everyTruncationThrows() throws {
    let data = try Fixtures.data("good/rgb8.png")
    for length in 0..<data.count {
        #expect(throws: ImageError.self, "prefix \(length)") { try Image(pngData: data.prefix(length)) }
    }
    #expect(try Image(pngData: data).width == 11)
}

// Fixture: make_png_fixtures.py (good/*.png): random byte damage never crashes the reader.
@Test func randomCorruptionNeverCrashes() throws {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int(truncatingIfNeeded: state >> 33)
    }
    var failures = 0
    for name in ["rgb8", "palette4_trns_interlaced", "rgba16", "text_chunks", "gray2_interlaced"] {
        let original = [UInt8](try Fixtures.data("good/\(name).png"))
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<(1 + next() % 4) {
                let position = 8 + next() % (bytes.count - 8)
                bytes[position] = UInt8(truncatingIfNeeded: next())
            }
            do { _ = try Image(pngData: Data(bytes)) } catch is ImageError { failures += 1 }
        }
    }
    #expect(failures > 0)  // Most damage is caught by CRCs; none of it may crash.
}
