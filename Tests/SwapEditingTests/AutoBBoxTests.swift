import Foundation
import Testing
import SwapIO
@testable import SwapEditing
import SwapTensor

/// The automatic bounding box's post-processing (get_bbox.py) and the box's derived masks.
struct AutoBBoxTests {
    /// Pillow's bicubic resize and scipy's component filter, exactly (0 tolerance: the
    /// resized uint8 maps, masks and box equal the reference's, made by
    /// tools/reference/make_distillation_fixtures.py on synthetic 8x8 attention).
    @Test func postProcessingMatchesOfficialCode() throws {
        var masks: [[Bool]] = []
        for p in 0..<3 {
            let map = try AutoBoundingBox.tokenMap(crossAttention: DistillationFixtures.tensor("bbox.cross\(p)"),
                                                   selfAttention: DistillationFixtures.tensor("bbox.self\(p)"), token: 5, exponent: 2)
            let (resized, mask) = AutoBoundingBox.passMask(map, gridHeight: 8, gridWidth: 8, imageHeight: 64, imageWidth: 64,
                                                           settings: AutoBoxSettings())
            let wantResized = try DistillationFixtures.tensor("bbox.resized\(p)").scalars.map { UInt8($0) }
            #expect(resized == wantResized, "pass \(p): resized map differs at \(zip(resized, wantResized).filter { $0 != $1 }.count) pixels")
            let wantMask = try DistillationFixtures.tensor("bbox.mask\(p)").scalars.map { $0 != 0 }
            #expect(mask == wantMask, "pass \(p): mask")
            masks.append(mask)
        }
        let box = try #require(AutoBoundingBox.box(union: masks, width: 64, height: 64))
        let want = try DistillationFixtures.tensor("bbox.box").scalars.map { Int($0) }
        #expect([box.top, box.left, box.bottom, box.right] == want)
    }

    /// A synthetic pattern: the token attends to a 3x2 block of an 8x8 grid and self-attention is
    /// the identity; the box of a 64x64 image covers that block (bicubic spill of a few pixels,
    /// the last row/column left out as the code does) and a lone bright cell elsewhere is dropped.
    @Test func syntheticPatternGivesExpectedBox() throws {
        var cross = [Float](repeating: 0.01, count: 64 * 4)
        for y in 2..<5 { for x in 5..<7 { cross[(y * 8 + x) * 4 + 1] = 1 } }
        cross[(7 * 8 + 0) * 4 + 1] = 0.9   // a lone cell: removed by the component filter
        let identity = Tensor(shape: [64, 64], scalars: (0..<4096).map { $0 / 64 == $0 % 64 ? 1 : 0 })
        let map = try AutoBoundingBox.tokenMap(crossAttention: Tensor(shape: [64, 4], scalars: cross), selfAttention: identity,
                                               token: 1, exponent: 2)
        let (_, mask) = AutoBoundingBox.passMask(map, gridHeight: 8, gridWidth: 8, imageHeight: 64, imageWidth: 64, settings: AutoBoxSettings())
        let box = try #require(AutoBoundingBox.box(union: [mask], width: 64, height: 64))
        // cells 2..<5 x 5..<7 are pixels 16..<40 x 40..<56; bicubic at λ = 0.5 keeps the edges
        // within a pixel of the cell boundary.
        #expect(abs(box.top - 16) <= 1 && abs(box.bottom - 39) <= 1, "\(box)")
        #expect(abs(box.left - 40) <= 1 && abs(box.right - 55) <= 1, "\(box)")
        #expect(!mask[63 * 64 + 0], "the lone cell must be filtered out")
        var settings = AutoBoxSettings()
        settings.largestComponent = false
        let (_, raw) = AutoBoundingBox.passMask(map, gridHeight: 8, gridWidth: 8, imageHeight: 64, imageWidth: 64, settings: settings)
        #expect(raw[63 * 64 + 2], "without the filter the lone cell stays")
    }

    @Test func largestComponentUsesFourConnectivityAndFirstLabelOnTies() {
        // Two diagonal pixels are separate components under 4-connectivity; equal sizes → the first.
        let mask: [Bool] = [true, false, false,
                            false, true, false,
                            false, false, false]
        #expect(AutoBoundingBox.largestComponent(mask, width: 3, height: 3) == [true, false, false, false, false, false, false, false, false])
        #expect(AutoBoundingBox.largestComponent([Bool](repeating: false, count: 4), width: 2, height: 2) == [false, false, false, false])
    }

    @Test func quantisationTruncatesAndSurvivesZeroMaps() {
        #expect(AutoBoundingBox.quantized([0, 0.5, 1, 0.999]) == [0, 127, 255, 254])
        #expect(AutoBoundingBox.quantized([0, 0]) == [0, 0])
    }

    @Test func latentMaskIsNearestDownsamplingOfThePixelBox() throws {
        let box = try PixelBox(top: 8, left: 6, bottom: 24, right: 20)
        let mask = box.latentMask(latentHeight: 16, latentWidth: 16, scale: 2).scalars
        for i in 0..<16 {
            for j in 0..<16 {
                let inside = (8..<24).contains(2 * i) && (6..<20).contains(2 * j)
                #expect(mask[i * 16 + j] == (inside ? 1 : 0))
            }
        }
        // Official rounding at 64x64 from 512: rows 201..<353 → cells 26..<45 (pixel 8i in the box).
        let big = try PixelBox(top: 201, left: 219, bottom: 353, right: 320).latentMask(latentHeight: 64, latentWidth: 64, scale: 8).scalars
        let rows = (0..<64).filter { big[$0 * 64 + 30] == 1 }
        #expect(rows.first == 26 && rows.last == 44)
    }

    @Test func secrRegionFollowsTheOfficialRounding() throws {
        let box = try PixelBox(top: 201, left: 219, bottom: 353, right: 320)
        // top 201/512·16 = 6.28 → 6; last row 352/512·16 = 11 → 11 (exclusive); cols 6.84 → 6, 319/512·16 = 9.97 → 9.
        let r = box.attentionRegion(imageHeight: 512, imageWidth: 512, gridHeight: 16, gridWidth: 16)
        #expect(r.rows == 6..<11 && r.cols == 6..<9)
        // A small box can give an empty region at 8x8 without failing.
        let tiny = try PixelBox(top: 100, left: 100, bottom: 110, right: 110)
        #expect(tiny.attentionTokens(imageHeight: 512, imageWidth: 512, gridHeight: 8, gridWidth: 8).isEmpty)
        #expect(throws: (any Error).self) { try PixelBox(top: 5, left: 0, bottom: 5, right: 3) }
    }

    @Test func pillowBicubicIdentityAndConstant() {
        let plane: [UInt8] = (0..<16).map { UInt8($0 * 16) }
        #expect(PillowResample.bicubic(plane, width: 4, height: 4, outWidth: 4, outHeight: 4) == plane)
        #expect(PillowResample.bicubic([UInt8](repeating: 77, count: 9), width: 3, height: 3, outWidth: 7, outHeight: 5)
                == [UInt8](repeating: 77, count: 35))
    }
}
