import Foundation
import Testing
@testable import SwapIO

/// `load_512` against the notebook's function run with Pillow (Fixtures/load512, made by
/// tools/reference/make_load512_fixtures.py): every output pixel equal (tolerance 0 — the
/// bicubic resampling is Pillow's fixed-point arithmetic).
struct ImageSquareCropTests {
    @Test(arguments: ["wide", "tall"])
    func matchesPillow(_ source: String) throws {
        let image = try Image.load(Fixtures.path("load512/\(source).png"))
        for (l, r, t, b, size) in [(0, 0, 0, 0, 16), (0, 0, 0, 0, 48), (3, 5, 2, 1, 24), (2, 0, 6, 4, 20)] {
            let want = try Image.load(Fixtures.path("load512/\(source)_l\(l)_r\(r)_t\(t)_b\(b)_s\(size).png"))
            let got = try image.squareCropped(left: l, right: r, top: t, bottom: b, size: size)
            #expect(got.width == size && got.height == size && got.channels == 3)
            let worst = zip(got.pixels, want.pixels).map { abs($0 - $1) * 255 }.max() ?? .infinity
            #expect(got.pixels.count == want.pixels.count && worst == 0, "\(source) l\(l) r\(r) t\(t) b\(b) s\(size): max difference \(worst)/255")
        }
    }

    @Test func badArguments() throws {
        let image = try Image(width: 4, height: 3, channels: 3)
        #expect(throws: ImageError.self) { try image.squareCropped(size: 0) }
        #expect(throws: ImageError.self) { try image.squareCropped(left: -1, size: 8) }
        // Margins larger than the image are clamped as in the notebook: one column/row remains.
        #expect(try image.squareCropped(left: 10, right: 10, size: 2).width == 2)
    }
}
