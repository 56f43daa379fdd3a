import Foundation

// A 2-D Gaussian filter with the exact semantics of `scipy.ndimage.gaussian_filter` (mode
// "reflect", the default `truncate = 4.0`): a normalised kernel exp(−x²/2σ²) over
// x ∈ [−r, r] with r = Int(truncate·σ + 0.5), correlated along axis 0 then axis 1, the
// border extended by half-sample symmetric reflection (d c b a | a b c d | d c b a).
// P3S smooths its similarity map with it (the Ψ of the paper's eq 2).

/// The separable Gaussian filter of a row-major `height`×`width` grid.
public enum GaussianFilter {
    /// The normalised 1-D kernel (2r + 1 weights) of `scipy.ndimage._gaussian_kernel1d`
    /// (order 0), r = Int(truncate·σ + 0.5).
    public static func kernel(sigma: Double, truncate: Double = 4) -> [Double] {
        let radius = Int(truncate * sigma + 0.5)
        var weights = (-radius...radius).map { x in exp(-0.5 / (sigma * sigma) * Double(x * x)) }
        let total = weights.reduce(0, +)
        for i in weights.indices { weights[i] /= total }
        return weights
    }

    /// `values` (row-major, `height`×`width`) filtered with σ = `sigma` pixels on both axes.
    /// σ = 0 returns the input, as scipy does. Computed in Double; the result is rounded to Float.
    public static func filter(_ values: [Float], width: Int, height: Int, sigma: Double, truncate: Double = 4) throws -> [Float] {
        guard width > 0, height > 0, values.count == width * height else {
            throw EditingError("gaussian filter: \(values.count) values for a \(width)x\(height) grid")
        }
        guard sigma.isFinite, sigma >= 0, truncate.isFinite, truncate >= 0, truncate * sigma < 1e6 else {
            throw EditingError("gaussian filter: sigma (\(sigma)) and truncate (\(truncate)) must be finite and ≥ 0")
        }
        var grid = values.map(Double.init)
        if sigma > 0 {
            let weights = kernel(sigma: sigma, truncate: truncate)
            // scipy filters axis 0 (along columns, i.e. down each column) first, then axis 1.
            grid = correlate(grid, weights: weights, count: height, stride: width, lines: width, lineStride: 1)
            grid = correlate(grid, weights: weights, count: width, stride: 1, lines: height, lineStride: width)
        }
        return grid.map(Float.init)
    }

    /// Index `i` of a line of `n` samples under scipy's "reflect" extension (period 2n).
    static func reflect(_ i: Int, _ n: Int) -> Int {
        let period = 2 * n
        var k = i % period
        if k < 0 { k += period }
        return k < n ? k : period - 1 - k
    }

    /// 1-D correlation along `lines` lines of `count` samples (`stride` apart, lines
    /// `lineStride` apart): out[i] = Σ_j w[j]·in[i + j − r].
    private static func correlate(_ input: [Double], weights: [Double], count: Int, stride: Int,
                                  lines: Int, lineStride: Int) -> [Double] {
        let radius = weights.count / 2
        var output = input
        for line in 0..<lines {
            let base = line * lineStride
            for i in 0..<count {
                var total = 0.0
                for (j, w) in weights.enumerated() {
                    total += w * input[base + reflect(i + j - radius, count) * stride]
                }
                output[base + i * stride] = total
            }
        }
        return output
    }
}
