import CPNGShim
import Foundation
import Testing
@testable import SwapIO

/// A deterministic image whose samples lie on the 8-bit grid.
private func patternImage(width: Int, height: Int, channels: Int) throws -> Image {
    var pixels: [Float] = []
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<channels { pixels.append(Float((x * 31 + y * 17 + c * 97 + x * y) % 256) / 255) }
        }
    }
    return try Image(width: width, height: height, channels: channels, pixels: pixels)
}

/// The chunk types of a PNG, in order (a tiny independent parser for checking the writer).
private func chunkTypes(_ data: Data) -> [String] {
    let bytes = [UInt8](data)
    var types: [String] = []
    var position = 8
    while position + 8 <= bytes.count {
        let length = bytes[position..<position + 4].reduce(0) { $0 << 8 | Int($1) }
        types.append(String(decoding: bytes[position + 4..<position + 8], as: UTF8.self))
        position += 12 + length
    }
    return types
}

@Test(arguments: [3, 4])
func writeThenReadGivesIdenticalPixelsAndBytes(channels: Int) throws {
    let image = try patternImage(width: 37, height: 23, channels: channels)
    let data = try image.pngData()
    let decoded = try Image(pngData: data)
    #expect(decoded.channels == channels)
    #expect(decoded.pixels == image.pixels)
    #expect(try decoded.pngData() == data)  // The encoder is deterministic.
    #expect(chunkTypes(data).first == "IHDR" && chunkTypes(data).last == "IEND")
}

@Test func grayAndGrayAlphaAreSavedAsRGBAndRGBA() throws {
    let gray = try patternImage(width: 5, height: 4, channels: 1)
    let rgb = try Image(pngData: gray.pngData())
    #expect(rgb.channels == 3)
    #expect(rgb[x: 3, y: 2, channel: 1] == gray[x: 3, y: 2, channel: 0])
    let grayAlpha = try patternImage(width: 5, height: 4, channels: 2)
    let rgba = try Image(pngData: grayAlpha.pngData())
    #expect(rgba.channels == 4)
    #expect(rgba[x: 4, y: 3, channel: 3] == grayAlpha[x: 4, y: 3, channel: 1])
}

@Test func quantizationClampsRoundsAndMapsNaNToZero() throws {
    let values: [Float] = [0.5, .nan, 2, -1, 0.2, .infinity, -.infinity, 1.0 / 510]
    let image = try Image(width: values.count, height: 1, channels: 1, pixels: values)
    let decoded = try Image(pngData: image.pngData())
    let bytes = (0..<values.count).map { Int((decoded[x: $0, y: 0, channel: 0] * 255).rounded()) }
    #expect(bytes == [128, 0, 255, 0, 51, 255, 0, 1])
}

@Test func metadataRoundTripsWithTEXtAndITXt() throws {
    let metadata: [(key: String, value: String)] = [
        ("parameters", "a cat\nSteps: 20, Sampler: Euler a, Seed: 42"),
        ("Author", "Zoë Françoise ©"),
        ("prompt", "ein Hund 🐕 — 中文"),
        ("parameters", "duplicate keys keep their order"),
        ("Empty", ""),
    ]
    let image = try patternImage(width: 4, height: 3, channels: 3)
    let data = try image.pngData(metadata: metadata)
    let types = chunkTypes(data)
    #expect(types.filter { $0 == "tEXt" }.count == 4)
    #expect(types.filter { $0 == "iTXt" }.count == 1)
    let decoded = try Image(pngData: data)
    #expect(decoded.metadata.map(\.key) == metadata.map(\.key))
    #expect(decoded.metadata.map(\.value) == metadata.map(\.value))
    #expect(decoded.parameters == metadata[0].value)
}

@Test func invalidMetadataThrows() throws {
    let image = try patternImage(width: 2, height: 2, channels: 3)
    for key in ["", " lead", "trail ", "two  spaces", String(repeating: "k", count: 80), "emoji🐕", "tab\there"] {
        #expect(throws: ImageError.self, "key \(key.debugDescription)") {
            try image.pngData(metadata: [(key: key, value: "v")])
        }
    }
    #expect(throws: ImageError.self) { try image.pngData(metadata: [(key: "k", value: "a\0b")]) }
    #expect(throws: Never.self) { try image.pngData(metadata: [(key: String(repeating: "k", count: 79), value: "v")]) }
}

@Test func saveAndLoadFile() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var image = try patternImage(width: 9, height: 6, channels: 4)
    image.metadata = [("parameters", "seed 7")]
    let path = dir.appendingPathComponent("out.png").path
    try image.save(path)
    let loaded = try Image.load(path)
    #expect(loaded == image)
    // Only the file itself remains: no temporary file.
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.png"])
    // Overwriting works and replaces the content.
    try image.save(path, metadata: [("parameters", "seed 8")])
    #expect(try Image.load(path).parameters == "seed 8")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.png"])
}

@Test func saveIntoMissingDirectoryThrowsAndLeavesNothing() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let missing = dir.appendingPathComponent("no/such/folder")
    let path = missing.appendingPathComponent("x.png").path
    let image = try patternImage(width: 3, height: 3, channels: 3)
    let error = try #require(throws: ImageError.self) { try image.save(path) }
    #expect(error.kind == .io)
    #expect(error.description.contains(path))
    #expect(!FileManager.default.fileExists(atPath: missing.path))
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
}

@Test func failedSaveKeepsTheOldFile() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("keep.png").path
    let image = try patternImage(width: 3, height: 3, channels: 3)
    try image.save(path, metadata: [("parameters", "original")])
    let before = try Data(contentsOf: URL(fileURLWithPath: path))
    #expect(throws: ImageError.self) { try image.save(path, metadata: [(key: "", value: "bad key")]) }
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["keep.png"])
}

@Test func atomicWriteOverADirectoryFailsCleanly() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let target = dir.appendingPathComponent("sub")
    try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
    // A path whose final component is an existing directory: rename must fail.
    #expect(throws: ImageError.self) { try AtomicFile.write(Data([1, 2, 3]), to: target.path) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["sub"])
}

// The C shim's FILE-based writer and reader, used directly.
@Test func shimWritesAndReadsThroughFILE() throws {
    let image = try patternImage(width: 6, height: 5, channels: 3)
    let bytes = image.quantized8(channels: 3)
    let file = try #require(tmpfile())
    defer { fclose(file) }
    var message = [CChar](repeating: 0, count: 256)
    let key = Array("parameters".utf8CString)
    let value = Array("steps 30".utf8CString)
    let status = key.withUnsafeBufferPointer { k in
        value.withUnsafeBufferPointer { v in
            var text = swap_png_text(key: k.baseAddress, value: v.baseAddress, value_length: 8,
                                     kind: SWAP_PNG_TEXT_TEXT)
            return swap_png_write_file(file, bytes, 6, 5, 3, &text, 1, &message, message.count)
        }
    }
    #expect(status == SWAP_PNG_OK)
    rewind(file)
    var decoded = swap_png_image()
    #expect(swap_png_read_file(file, &decoded, &message, message.count) == SWAP_PNG_OK)
    defer { swap_png_image_free(&decoded) }
    #expect(decoded.width == 6 && decoded.height == 5 && decoded.channels == 3 && decoded.bit_depth == 8)
    let pixels = try #require(decoded.pixels)
    #expect(Array(UnsafeBufferPointer(start: pixels.assumingMemoryBound(to: UInt8.self), count: 90)) == bytes)
    #expect(decoded.text_count == 1)
    // Invalid arguments come back as an error code, not a crash.
    #expect(swap_png_write_file(file, bytes, 0, 5, 3, nil, 0, &message, message.count) == SWAP_PNG_ERR_ARGUMENT)
    #expect(swap_png_write_file(file, bytes, 6, 5, 2, nil, 0, &message, message.count) == SWAP_PNG_ERR_ARGUMENT)
}
