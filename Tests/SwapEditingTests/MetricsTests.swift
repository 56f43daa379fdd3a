import Foundation
import Testing
import SwapTensor
@testable import SwapEditing

/// MSE, PSNR, SSIM (four profiles) and the background metrics against scikit-image 0.26.0 and
/// torchmetrics 1.3.2 / 1.9.0 (Fixtures/metrics_reference.json, made by
/// tools/reference/make_metric_fixtures.py in float64). Tolerance: 1e-9 absolute on SSIM and MSE
/// (relative for MSE), 1e-8 dB on PSNR — both sides compute in Double, so only summation order differs.
@Suite struct MetricsTests {
    struct Case {
        let name: String
        let a: MetricImage, b: MetricImage
        let dataRange: Double
        let json: [String: Any]
    }

    static let cases: Result<[Case], Error> = Result {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            .appendingPathComponent("metrics_reference.json")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return try #require(doc["cases"] as? [[String: Any]]).map { c in
            let (ch, h, w) = (try #require(c["channels"] as? Int), try #require(c["height"] as? Int), try #require(c["width"] as? Int))
            return Case(name: try #require(c["name"] as? String),
                        a: try MetricImage(channels: ch, height: h, width: w, pixels: try #require(c["a"] as? [Double])),
                        b: try MetricImage(channels: ch, height: h, width: w, pixels: try #require(c["b"] as? [Double])),
                        dataRange: try #require(c["data_range"] as? Double), json: c)
        }
    }

    @Test func mseAndPSNRMatchScikitImage() throws {
        let cases = try Self.cases.get()
        #expect(cases.count == 3)
        for c in cases {
            let mse = try PixelError.mse(c.a, c.b)
            let expected = try #require(c.json["mse"] as? Double)
            #expect(abs(mse - expected) <= 1e-9 * expected, "\(c.name): mse \(mse) vs \(expected)")
            let psnr = try PixelError.psnr(c.a, c.b, dataRange: c.dataRange)
            #expect(abs(psnr - (try #require(c.json["psnr"] as? Double))) <= 1e-8, "\(c.name): psnr \(psnr)")
        }
    }

    @Test func ssimMatchesEachProfile() throws {
        for c in try Self.cases.get() {
            let expected = try #require(c.json["ssim"] as? [String: Double])
            for profile in SSIMProfile.allCases {
                let r = try StructuralSimilarity.ssim(c.a, c.b, dataRange: c.dataRange, profile: profile)
                let e = try #require(expected[profile.scriptName])
                #expect(abs(r.mean - e) <= 1e-9, "\(c.name) \(profile.scriptName): \(r.mean) vs \(e)")
            }
            // The profiles really differ on these images (so each comparison tests its own convention).
            #expect(abs(expected["wang2004"]! - expected["skimage_default"]!) > 1e-3)
            #expect(abs(expected["torchmetrics15"]! - expected["torchmetrics_pre15"]!) > 1e-3)
        }
    }

    @Test func ssimMapMatchesScikitImageFullMap() throws {
        for c in try Self.cases.get() {
            let r = try StructuralSimilarity.ssim(c.a, c.b, dataRange: c.dataRange, profile: .wang2004)
            #expect(r.map.count == c.a.pixels.count)
            for sample in try #require(c.json["wang2004_map_samples"] as? [[Double]]) {
                let (ch, y, x) = (Int(sample[0]), Int(sample[1]), Int(sample[2]))
                let value = r.map[(ch * c.a.height + y) * c.a.width + x]
                #expect(abs(value - sample[3]) <= 1e-9, "\(c.name) map[\(ch), \(y), \(x)]: \(value) vs \(sample[3])")
            }
        }
    }

    @Test func backgroundMetricsOutsideTheBox() throws {
        for c in try Self.cases.get() {
            let bg = try #require(c.json["background"] as? [String: Any])
            let xyxy = try #require(bg["box"] as? [Int])
            let box = try PixelBox(top: xyxy[1], left: xyxy[0], bottom: xyxy[3], right: xyxy[2])
            for proto in BackgroundProtocol.allCases {
                let e = try #require(bg[proto.rawValue] as? [String: Double])
                let s = try BackgroundMetrics.compute(c.a, c.b, box: box, dataRange: c.dataRange, backgroundProtocol: proto)
                #expect(abs(s.mse - e["mse"]!) <= 1e-9 * e["mse"]!, "\(c.name) \(proto): mse")
                #expect(abs(s.psnr - e["psnr"]!) <= 1e-8, "\(c.name) \(proto): psnr")
                #expect(abs(s.ssim - e["ssim"]!) <= 1e-9, "\(c.name) \(proto): ssim \(s.ssim) vs \(e["ssim"]!)")
            }
        }
    }

    @Test func identicalImagesAndBadInput() throws {
        let c = try #require(try Self.cases.get().first)
        let same = try StructuralSimilarity.ssim(c.a, c.a, dataRange: 1, profile: .skimageDefault)
        #expect(abs(same.mean - 1) < 1e-12)
        #expect(try PixelError.psnr(c.a, c.a, dataRange: 1) == .infinity)
        let grey = try MetricImage(Tensor(shape: [8, 8], repeating: 0.5), "test")
        #expect(throws: EditingError.self) { try StructuralSimilarity.ssim(grey, grey, dataRange: 1) }
        #expect(throws: EditingError.self) { try PixelError.mse(c.a, grey) }
        #expect(throws: EditingError.self) { try PixelError.psnr(c.a, c.b, dataRange: 0) }
        #expect(throws: EditingError.self) { try MetricImage(Tensor(shape: [2, 3, 4, 4], repeating: 0), "test") }
        let whole = try PixelBox(top: 0, left: 0, bottom: c.a.height, right: c.a.width)
        #expect(throws: EditingError.self) { try BackgroundMetrics.compute(c.a, c.b, box: whole, dataRange: 1) }
    }
}
