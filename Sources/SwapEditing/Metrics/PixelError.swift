import Foundation

// MSE and PSNR (spec clic-p3s-metrics.md §6.1): MSE = mean((x − y)²) over pixels and channels,
// PSNR = 10·log10(L²/MSE) with L the data range. One image pair at a time: a batch's PSNR is the
// mean of per-image PSNRs (never the PSNR of the pooled squared error; §6.1's pitfall).

public enum PixelError {
    /// The mean squared error over every pixel and channel, or over the pixels where
    /// `weights` (one value per pixel, shared by the channels, usually 0 or 1) is positive.
    public static func mse(_ a: MetricImage, _ b: MetricImage, weights: [Double]? = nil) throws -> Double {
        try a.checkSameSize(b, "mse")
        let n = a.height * a.width
        if let weights {
            guard weights.count == n else { throw EditingError("mse: \(weights.count) weights for \(n) pixels") }
        }
        var sum = 0.0, count = 0.0
        for c in 0..<a.channels {
            let base = c * n
            for i in 0..<n {
                let w = weights?[i] ?? 1
                guard w > 0 else { continue }
                let d = a.pixels[base + i] - b.pixels[base + i]
                sum += w * d * d
                count += w
            }
        }
        guard count > 0 else { throw EditingError("mse: no pixel is selected") }
        return sum / count
    }

    /// PSNR in dB from an MSE: 10·log10(range²/mse); +infinity when the images are equal.
    public static func psnr(mse: Double, dataRange: Double) throws -> Double {
        guard dataRange > 0, dataRange.isFinite else { throw EditingError("psnr: data range must be positive, got \(dataRange)") }
        return 10 * log10(dataRange * dataRange / mse)
    }

    /// PSNR in dB of one image pair (see `mse` for `weights`).
    public static func psnr(_ a: MetricImage, _ b: MetricImage, dataRange: Double, weights: [Double]? = nil) throws -> Double {
        try psnr(mse: try mse(a, b, weights: weights), dataRange: dataRange)
    }
}
