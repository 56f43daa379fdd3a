// Background metrics outside a box (spec clic-p3s-metrics.md §6.7; InstantSwap §4.2–4.4 reports
// PSNR, SSIM and MSE "outside the GT bbox" without releasing its evaluation code).

/// How the pixels inside the box are kept out of the background metrics.
public enum BackgroundProtocol: String, CaseIterable, Sendable {
    /// Only pixels outside the box count: MSE (and PSNR from it) averages the squared error over
    /// the pixels and channels outside the box; SSIM computes the full-image map (the window may
    /// read pixels inside the box near its edge) and averages it over the pixels outside the box
    /// that lie in the profile's mean region. The default.
    case outside
    /// PnPInversion / PIE-Bench (`evaluation/matrics_calculator.py`): both images are multiplied
    /// by (1 − box mask), so the box becomes 0 in both, and the standard full-image metrics are
    /// taken (zeros included; this inflates PSNR and SSIM and deflates MSE). PnPInversion's extra
    /// step of forcing the mask's border rows and columns to 1 is not applied.
    case zeroFill = "zero_fill"
}

/// PSNR, SSIM and MSE of one image pair outside a box.
public struct BackgroundScores: Sendable {
    public var psnr: Double, ssim: Double, mse: Double
    /// The number of pixels outside the box.
    public var pixels: Int
    public var backgroundProtocol: BackgroundProtocol
    public var profile: SSIMProfile
}

public enum BackgroundMetrics {
    /// The metrics of `edited` against `source` outside `box` (pixel coordinates, half-open).
    public static func compute(_ edited: MetricImage, _ source: MetricImage, box: PixelBox, dataRange: Double,
                               profile: SSIMProfile = .wang2004,
                               backgroundProtocol: BackgroundProtocol = .outside) throws -> BackgroundScores {
        try edited.checkSameSize(source, "bg_metrics")
        try box.check(imageHeight: edited.height, width: edited.width, "bg_metrics")
        let (h, w) = (edited.height, edited.width)
        var outside = [Double](repeating: 1, count: h * w)
        for y in box.top..<box.bottom { for x in box.left..<box.right { outside[y * w + x] = 0 } }
        let count = h * w - box.height * box.width
        guard count > 0 else { throw EditingError("bg_metrics: \(box) covers the whole \(w)x\(h) image") }
        switch backgroundProtocol {
        case .zeroFill:
            let a = try masked(edited, outside), b = try masked(source, outside)
            let mse = try PixelError.mse(a, b)
            let ssim = try StructuralSimilarity.ssim(a, b, dataRange: dataRange, profile: profile).mean
            return BackgroundScores(psnr: try PixelError.psnr(mse: mse, dataRange: dataRange), ssim: ssim, mse: mse,
                                    pixels: count, backgroundProtocol: backgroundProtocol, profile: profile)
        case .outside:
            let mse = try PixelError.mse(edited, source, weights: outside)
            let full = try StructuralSimilarity.ssim(edited, source, dataRange: dataRange, profile: profile)
            var sums = [Double](repeating: 0, count: full.channels), n = 0
            for y in full.meanRows {
                for x in full.meanColumns where outside[y * w + x] > 0 {
                    for c in 0..<full.channels { sums[c] += full.map[(c * h + y) * w + x] }
                    n += 1
                }
            }
            guard n > 0 else {
                throw EditingError("bg_metrics: no pixel outside \(box) lies in the SSIM region of profile \(profile.scriptName) of the \(w)x\(h) image")
            }
            let ssim = sums.map { $0 / Double(n) }.reduce(0, +) / Double(full.channels)
            return BackgroundScores(psnr: try PixelError.psnr(mse: mse, dataRange: dataRange), ssim: ssim, mse: mse,
                                    pixels: count, backgroundProtocol: backgroundProtocol, profile: profile)
        }
    }

    static func masked(_ image: MetricImage, _ keep: [Double]) throws -> MetricImage {
        let n = image.height * image.width
        var pixels = image.pixels
        for i in pixels.indices { pixels[i] *= keep[i % n] }
        return try MetricImage(channels: image.channels, height: image.height, width: image.width, pixels: pixels)
    }
}
