import Foundation
import SwapTensor
import Testing
@testable import SwapIO

private func luminance(_ c: SIMD3<Float>) -> Float { 0.2126 * c.x + 0.7152 * c.y + 0.0722 * c.z }

@Test func viridisEndpointsAndMonotonicLuminance() {
    let start = Colormap.viridis.color(0)
    let end = Colormap.viridis.color(1)
    // Dark purple to yellow.
    #expect(start.z > start.x && start.x > start.y && luminance(start) < 0.1)
    #expect(end.x > 0.9 && end.y > 0.85 && end.z < 0.2)
    let samples = Colormap.viridis.samples(1024).map(luminance)
    #expect(zip(samples, samples.dropFirst()).allSatisfy { $0 < $1 })
    let inferno = Colormap.inferno.samples(1024).map(luminance)
    #expect(zip(inferno, inferno.dropFirst()).allSatisfy { $0 < $1 })
}

// Fixture: Fixtures/colormap_reference.json from tools/reference/fit_colormaps.py
// (matplotlib table entries); the spline fits must stay within 0.01 of them.
@Test func splineColormapsMatchReference() throws {
    struct Reference: Decodable { let t: [Float]; let maps: [String: [[Float]]] }
    let reference = try JSONDecoder().decode(Reference.self, from: Fixtures.data("colormap_reference.json"))
    for map in [Colormap.viridis, .inferno, .turbo] {
        let expected = try #require(reference.maps[map.rawValue])
        for (t, rgb) in zip(reference.t, expected) {
            let c = map.color(t)
            let error = max(abs(c.x - rgb[0]), abs(c.y - rgb[1]), abs(c.z - rgb[2]))
            #expect(error < 0.01, "\(map) at \(t): \(c) vs \(rgb)")
        }
    }
}

@Test func jetAndGrayFormulas() {
    #expect(Colormap.gray.color(0.25) == SIMD3(repeating: 0.25))
    #expect(Colormap.jet.color(0) == SIMD3(0, 0, 0.5))
    #expect(Colormap.jet.color(0.5) == SIMD3(0.5, 1, 0.5))
    #expect(Colormap.jet.color(1) == SIMD3(0.5, 0, 0))
    for map in Colormap.allCases {
        #expect(map.color(.nan) == map.color(0))
        #expect(map.color(7) == map.color(1))
        let all = map.samples(257).flatMap { [$0.x, $0.y, $0.z] }
        #expect(all.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
}

// Fixture: Fixtures/bilinear_reference.json from tools/reference/make_png_fixtures.py
// (torch.nn.functional.interpolate, bilinear, align_corners=False).
@Test func heatmapResizeMatchesTorchBilinear() throws {
    struct Case: Decodable {
        let height, width, outHeight, outWidth: Int
        let values, expected: [Float]
    }
    let cases = try JSONDecoder().decode([Case].self, from: Fixtures.data("bilinear_reference.json"))
    #expect(cases.count == 15)
    for c in cases {
        let resized = try Heatmap(width: c.width, height: c.height, values: c.values)
            .resized(width: c.outWidth, height: c.outHeight)
        let error = zip(resized.values, c.expected).map { abs($0 - $1) }.max() ?? 1
        #expect(resized.values.count == c.expected.count)
        #expect(error < 1e-5, "\(c.height)x\(c.width) -> \(c.outHeight)x\(c.outWidth)")
    }
}

@Test func heatmapNormalisation() throws {
    let map = try Heatmap(rows: [[2, 4], [.nan, 6]])
    #expect(map.normalized().values == [0, 0.5, 0, 1])
    #expect(try Heatmap(rows: [[3, 3]]).normalized().values == [0, 0])
    #expect(throws: ImageError.self) { try Heatmap(rows: [[1, 2], [3]]) }
    #expect(throws: ImageError.self) { try Heatmap(width: 2, height: 2, values: [1]) }
    #expect(try Heatmap(tensor: Tensor(zeros: [1, 1, 3, 5])).width == 5)
}

@Test func overlayShapeAndBlend() throws {
    let image = try Image(width: 20, height: 12, channels: 1, fill: [0.5])
    // A 2×2 attention map (like a 16×16 token map, scaled down) with one hot corner.
    let heat = try Heatmap(rows: [[0, 0], [0, 10]])
    let result = try overlay(image, heatmap: heat, alpha: 0.4, colormap: .jet)
    #expect(result.width == 20 && result.height == 12 && result.channels == 3)
    // Top-left pixel: normalised value 0 -> jet(0) = (0, 0, 0.5).
    let expectedTopLeft = SIMD3<Float>(0.6 * 0.5, 0.6 * 0.5, 0.6 * 0.5 + 0.4 * 0.5)
    for c in 0..<3 { #expect(abs(result[x: 0, y: 0, channel: c] - expectedTopLeft[c]) < 1e-6) }
    // Bottom-right is the hot spot: jet(1) = (0.5, 0, 0).
    #expect(abs(result[x: 19, y: 11, channel: 0] - (0.3 + 0.2)) < 1e-6)
    // alpha 0 leaves the image unchanged; RGBA input keeps its alpha.
    let rgba = try Image(width: 4, height: 4, channels: 4, fill: [0.2, 0.4, 0.6, 0.7])
    let untouched = try overlay(rgba, heatmap: heat, alpha: 0)
    #expect(untouched.pixels == rgba.pixels)
}
