import Foundation

// Otsu's threshold with the exact semantics of scikit-image `threshold_otsu`
// (skimage/filters/thresholding.py; spec clic-p3s-metrics.md §4.1): a histogram of `bins` bins
// over the data's [min, max] (numpy.histogram edges, bin centres), then the threshold is the
// centre of the bin that maximises the between-class variance w₁·w₂·(μ₁ − μ₂)². Foreground is
// `value > threshold`. P3S binarises its filtered similarity map with it (paper eq 2).

/// Otsu's method on a list of values or on a histogram.
public enum OtsuThreshold {
    /// The histogram scikit-image builds for float data: counts over `bins` equal bins between
    /// the minimum and the maximum (numpy.histogram; the maximum falls in the last bin), and
    /// the bin centres.
    public static func histogram(_ values: [Float], bins: Int = 256) throws -> (counts: [Double], centers: [Double]) {
        guard bins >= 1 else { throw EditingError("otsu: bins must be ≥ 1, got \(bins)") }
        guard !values.isEmpty else { throw EditingError("otsu: no values") }
        guard values.allSatisfy(\.isFinite) else { throw EditingError("otsu: the values must be finite") }
        let data = values.map(Double.init)
        var (first, last) = (data.min()!, data.max()!)
        if first == last { first -= 0.5; last += 0.5 }            // numpy's range for constant data
        // numpy.linspace(first, last, bins + 1): start + i·step, the last edge exactly `last`.
        let step = (last - first) / Double(bins)
        var edges = (0...bins).map { first + Double($0) * step }
        edges[bins] = last
        var counts = [Double](repeating: 0, count: bins)
        for x in data {
            // numpy's _search_sorted_inclusive shortcut for uniform bins, with its edge corrections.
            var k = Int(((x - first) / (last - first) * Double(bins)).rounded(.down))
            if k == bins { k -= 1 }
            if x < edges[k] { k -= 1 } else if k != bins - 1, x >= edges[k + 1] { k += 1 }
            counts[k] += 1
        }
        let centers = (0..<bins).map { (edges[$0] + edges[$0 + 1]) / 2 }
        return (counts, centers)
    }

    /// Otsu's threshold of `values`: the single value when all are equal (as scikit-image).
    public static func threshold(_ values: [Float], bins: Int = 256) throws -> Double {
        try otsu(values, bins: bins).threshold
    }

    /// Otsu's threshold of `values` with the histogram it was chosen from.
    public static func otsu(_ values: [Float], bins: Int = 256) throws -> (threshold: Double, counts: [Double], centers: [Double]) {
        let (counts, centers) = try histogram(values, bins: bins)
        if values.allSatisfy({ $0 == values[0] }) { return (Double(values[0]), counts, centers) }
        return (try threshold(counts: counts, centers: centers), counts, centers)
    }

    /// Otsu's threshold of a histogram (`threshold_otsu(hist=(counts, centers))`): empty bins at
    /// both ends are trimmed first; ties go to the first maximum (numpy.argmax).
    public static func threshold(counts rawCounts: [Double], centers rawCenters: [Double]) throws -> Double {
        guard rawCounts.count == rawCenters.count, !rawCounts.isEmpty else {
            throw EditingError("otsu: \(rawCounts.count) counts for \(rawCenters.count) bin centres")
        }
        guard rawCounts.allSatisfy({ $0.isFinite && $0 >= 0 }), rawCenters.allSatisfy(\.isFinite) else {
            throw EditingError("otsu: counts must be finite and ≥ 0, centres finite")
        }
        guard let start = rawCounts.firstIndex(where: { $0 > 0 }), let end = rawCounts.lastIndex(where: { $0 > 0 }) else {
            throw EditingError("otsu: the histogram is empty")
        }
        // scikit-image casts the counts to float32 before the sums.
        let counts = rawCounts[start...end].map { Double(Float($0)) }
        let centers = Array(rawCenters[start...end])
        let n = counts.count
        guard n > 1 else { return centers[0] }
        var weight1 = [Double](repeating: 0, count: n), mean1 = weight1
        var weight2 = weight1, mean2 = weight1
        var (w, m) = (0.0, 0.0)
        for i in 0..<n {
            w += counts[i]; m += counts[i] * centers[i]
            weight1[i] = w; mean1[i] = m / w
        }
        (w, m) = (0, 0)
        for i in stride(from: n - 1, through: 0, by: -1) {
            w += counts[i]; m += counts[i] * centers[i]
            weight2[i] = w; mean2[i] = m / w
        }
        var best = 0, bestVariance = -Double.infinity
        for i in 0..<(n - 1) {
            let d = mean1[i] - mean2[i + 1]
            let variance = weight1[i] * weight2[i + 1] * d * d
            if variance > bestVariance { best = i; bestVariance = variance }
        }
        return centers[best]
    }
}
