import Foundation
import Testing

/// Access to Tests/SwapIOTests/Fixtures, which tools/reference/make_png_fixtures.py and
/// tools/reference/fit_colormaps.py produce.
enum Fixtures {
    static var root: URL {
        get throws {
            try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        }
    }

    static func path(_ relative: String) throws -> String {
        try root.appendingPathComponent(relative).path
    }

    static func data(_ relative: String) throws -> Data {
        try Data(contentsOf: root.appendingPathComponent(relative))
    }

    /// png_expected.json, written by make_png_fixtures.py.
    struct Expected: Decodable {
        struct Good: Decodable {
            let width: Int
            let height: Int
            let channels: Int
            let bitDepth: Int
            let sourceBitDepth: Int
            let colorType: Int
            let interlaced: Bool
            let samples: [Int]
            let text: [[String]]
        }
        struct Bad: Decodable {
            let error: String
            let chunk: String?
        }
        let good: [String: Good]
        let bad: [String: Bad]
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: data("png_expected.json"))
    }

    /// A fresh empty directory for one test.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("swapio-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Names of the good fixtures, as listed in make_png_fixtures.py (checked against the JSON by
/// `fixtureListMatchesScript`).
let goodFixtureNames = [
    "gray1", "gray2", "gray4", "gray8", "gray16", "gray2_interlaced", "gray8_interlaced",
    "gray8_interlaced_3x2", "gray8_1x1", "gray8_trns", "gray16_trns", "graya8", "graya16",
    "rgb8", "rgb8_multi_idat", "rgb8_trns", "rgb16", "rgb16_interlaced", "rgba8",
    "rgba8_interlaced", "rgba16", "palette1", "palette2", "palette4", "palette8",
    "palette8_trns", "palette4_trns_interlaced", "text_chunks",
]

/// Names of the bad fixtures, as listed in make_png_fixtures.py.
let badFixtureNames = [
    "empty", "not_png", "text_file", "truncated_signature", "truncated_ihdr", "truncated_idat",
    "missing_iend", "crc_idat", "crc_ihdr", "crc_text", "bad_ihdr_depth", "bad_ihdr_zero_width",
    "bad_ihdr_color_type", "bad_zlib", "too_large",
]
