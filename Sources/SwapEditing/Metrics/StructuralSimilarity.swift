import Foundation

// SSIM (Wang, Bovik, Sheikh, Simoncelli 2004, Eq. 13; spec clic-p3s-metrics.md §6.2) with the
// window, moment and border conventions of the common implementations:
// scikit-image `skimage/metrics/_structural_similarity.py` and torchmetrics
// `functional/image/ssim.py` (checked against scikit-image 0.26.0, torchmetrics 1.3.2 and 1.9.0
// by tools/reference/make_metric_fixtures.py).

/// Which implementation's SSIM to compute.
public enum SSIMProfile: String, CaseIterable, Sendable {
    /// Wang et al. 2004: 11×11 Gaussian window (σ 1.5), population moments, mean over the valid
    /// region (the border of 5 pixels cropped). Equals scikit-image with gaussian_weights=True,
    /// sigma=1.5, use_sample_covariance=False.
    case wang2004
    /// scikit-image's default: 7×7 uniform window, sample covariance (× 49/48), border of 3 cropped.
    case skimageDefault
    /// torchmetrics up to 1.3.x: 11×11 Gaussian (σ 1.5), reflect-padded input (torch's reflect,
    /// without repeating the edge), variances clamped at 0, the padded border cropped before the mean.
    case torchmetricsPre15
    /// torchmetrics since 1.4 (the spec dates the change to 1.5.0; 1.4.3 already has it): as
    /// `torchmetricsPre15`, but the mean runs over the full image, padded border included.
    case torchmetrics15

    /// The script name of the profile ("wang2004", "skimage_default", "torchmetrics_pre15", "torchmetrics15").
    public var scriptName: String {
        switch self {
        case .wang2004: return "wang2004"
        case .skimageDefault: return "skimage_default"
        case .torchmetricsPre15: return "torchmetrics_pre15"
        case .torchmetrics15: return "torchmetrics15"
        }
    }

    /// The profile of a script name, or nil.
    public init?(scriptName: String) {
        guard let p = Self.allCases.first(where: { $0.scriptName == scriptName }) else { return nil }
        self = p
    }

    /// The 1-D window weights (the 2-D window is their outer product), summing to 1.
    var window: [Double] {
        switch self {
        case .skimageDefault: return [Double](repeating: 1.0 / 7, count: 7)
        default:
            // σ 1.5, radius int(3.5·σ + 0.5) = 5 (scipy's truncate 3.5; torchmetrics' kernel size).
            return GaussianFilter.kernel(sigma: 1.5, truncate: 3.5)
        }
    }

    /// The factor applied to the windowed (co)variances: NP/(NP − 1) for sample moments.
    var covarianceFactor: Double { self == .skimageDefault ? 49.0 / 48.0 : 1 }
    /// Whether the border is mirrored with the edge pixel repeated (scipy "reflect": dcba|abcd)
    /// or not (torch "reflect": dcb|abcd).
    var repeatsEdge: Bool { self == .wang2004 || self == .skimageDefault }
    var clampsVariance: Bool { self == .torchmetricsPre15 || self == .torchmetrics15 }
    /// Whether the mean runs over the valid region only (the border of the window's radius cropped).
    var meanOverValidRegion: Bool { self != .torchmetrics15 }
}

/// The SSIM of an image pair: its mean and the SSIM map.
public struct SSIMResult: Sendable {
    /// The mean SSIM: per channel over the profile's region, then averaged over channels.
    public var mean: Double
    /// The per-channel means.
    public var channelMeans: [Double]
    /// The SSIM at every pixel, [channels, height, width] row-major (near the border the window
    /// reads the profile's mirrored pixels).
    public var map: [Double]
    public var channels: Int, height: Int, width: Int
    /// The rows and columns the mean covers (the valid region, or everything).
    public var meanRows: Range<Int>, meanColumns: Range<Int>
    public var profile: SSIMProfile
}

public enum StructuralSimilarity {
    /// SSIM = ((2μxμy + C1)(2σxy + C2)) / ((μx² + μy² + C1)(σx² + σy² + C2)), C1 = (0.01·L)²,
    /// C2 = (0.03·L)², with local moments from the profile's window; multichannel images give
    /// the mean of per-channel SSIMs. Throws for images of different sizes or smaller than the window.
    public static func ssim(_ a: MetricImage, _ b: MetricImage, dataRange: Double,
                            profile: SSIMProfile = .wang2004) throws -> SSIMResult {
        try a.checkSameSize(b, "ssim")
        guard dataRange > 0, dataRange.isFinite else { throw EditingError("ssim: data range must be positive, got \(dataRange)") }
        let window = profile.window
        let radius = window.count / 2
        // torch's reflect padding needs radius < side; the valid region needs side > 2·radius.
        guard a.height > 2 * radius, a.width > 2 * radius else {
            throw EditingError("ssim: a \(a.width)x\(a.height) image is too small for the \(window.count)x\(window.count) window of profile \(profile.scriptName) (needs more than \(2 * radius) pixels per side)")
        }
        let c1 = (0.01 * dataRange) * (0.01 * dataRange), c2 = (0.03 * dataRange) * (0.03 * dataRange)
        let (h, w) = (a.height, a.width)
        let rows = profile.meanOverValidRegion ? radius..<(h - radius) : 0..<h
        let cols = profile.meanOverValidRegion ? radius..<(w - radius) : 0..<w
        var map = [Double](repeating: 0, count: a.pixels.count)
        var means: [Double] = []
        for c in 0..<a.channels {
            let x = Array(a.plane(c)), y = Array(b.plane(c))
            let mx = filter(x, h, w, window, profile.repeatsEdge)
            let my = filter(y, h, w, window, profile.repeatsEdge)
            let mxx = filter(x.map { $0 * $0 }, h, w, window, profile.repeatsEdge)
            let myy = filter(y.map { $0 * $0 }, h, w, window, profile.repeatsEdge)
            let mxy = filter(zip(x, y).map { $0 * $1 }, h, w, window, profile.repeatsEdge)
            let k = profile.covarianceFactor
            var sum = 0.0
            for i in 0..<(h * w) {
                var vx = k * (mxx[i] - mx[i] * mx[i]), vy = k * (myy[i] - my[i] * my[i])
                let vxy = k * (mxy[i] - mx[i] * my[i])
                if profile.clampsVariance { vx = max(vx, 0); vy = max(vy, 0) }
                let s = ((2 * mx[i] * my[i] + c1) * (2 * vxy + c2))
                    / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2))
                map[c * h * w + i] = s
                if rows.contains(i / w), cols.contains(i % w) { sum += s }
            }
            means.append(sum / Double(rows.count * cols.count))
        }
        return SSIMResult(mean: means.reduce(0, +) / Double(means.count), channelMeans: means, map: map,
                          channels: a.channels, height: h, width: w, meanRows: rows, meanColumns: cols, profile: profile)
    }

    /// The separable filter of a plane with `window` along rows, then columns, the border mirrored.
    static func filter(_ plane: [Double], _ h: Int, _ w: Int, _ window: [Double], _ repeatsEdge: Bool) -> [Double] {
        let r = window.count / 2
        func mirror(_ i: Int, _ n: Int) -> Int {
            // One reflection suffices: r < n (checked by the caller).
            if i < 0 { return repeatsEdge ? -i - 1 : -i }
            if i >= n { return repeatsEdge ? 2 * n - 1 - i : 2 * n - 2 - i }
            return i
        }
        var horizontal = [Double](repeating: 0, count: h * w)
        for y in 0..<h {
            for x in 0..<w {
                var s = 0.0
                for k in 0..<window.count { s += window[k] * plane[y * w + mirror(x + k - r, w)] }
                horizontal[y * w + x] = s
            }
        }
        var out = [Double](repeating: 0, count: h * w)
        for y in 0..<h {
            for x in 0..<w {
                var s = 0.0
                for k in 0..<window.count { s += window[k] * horizontal[mirror(y + k - r, h) * w + x] }
                out[y * w + x] = s
            }
        }
        return out
    }
}
