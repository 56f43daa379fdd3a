// Pattern classification for the ShapesWorld recognizer, from the shading inside an object:
// marks are the object's colour times `WorldPattern.markShade`, so each interior pixel's
// brightness relative to the object's colour tells how much mark it holds.

/// Features of the marks inside an object, and the pattern they indicate.
struct PatternFeatures: Equatable {
    /// The mean mark fraction over the interior (≈0 plain, ≈0.2 dotted, ≈0.3–0.45 striped or
    /// checkered); the correlations are taken around it.
    var markFraction: Float
    /// Correlation of the marks along the stripe direction (x+y constant) minus across it:
    /// high for stripes, near 0 for dots and checks.
    var stripeScore: Float
    /// Correlation at a diagonal shift of one checker cell minus that at an axis shift of one
    /// cell: about 2 for checks (same colour diagonally, opposite along the axes), near 0 for dots.
    var checkerScore: Float
    /// The fraction of interior pixels more than `darkLevel` marked (or 3.5 standard deviations
    /// of the pixel noise, if more): about 0 for plain objects, also noisy ones, and about 0.2
    /// or more for marks, also when blur or resampling has spread small dots.
    var darkFraction: Float

    /// The mark level above which a pixel counts as dark.
    static let darkLevel: Float = 0.3
    /// Below this dark fraction an object is plain.
    static let plainMax: Float = 0.04
    /// Above this stripe score an object is striped.
    static let stripeMin: Float = 0.45
    /// Above this checker score an object is checkered.
    static let checkerMin: Float = 1

    /// The pattern and a confidence in [0, 1] (distance of the deciding feature from its
    /// threshold, relative to the gap between the classes it separates).
    var classification: (WorldPattern, Float) {
        if darkFraction < Self.plainMax {
            return (.plain, min(1, (Self.plainMax - darkFraction) / Self.plainMax))
        }
        let plainMargin = min(1, (darkFraction - Self.plainMax) / 0.1)
        if stripeScore > Self.stripeMin {
            return (.striped, min(plainMargin, min(1, (stripeScore - Self.stripeMin) / 0.5)))
        }
        let stripeMargin = min(1, (Self.stripeMin - stripeScore) / 0.45)
        if checkerScore > Self.checkerMin {
            return (.checkered, min(plainMargin, stripeMargin, min(1, (checkerScore - Self.checkerMin) / 0.8)))
        }
        return (.dotted, min(plainMargin, stripeMargin, min(1, (Self.checkerMin - checkerScore) / 0.8)))
    }

    /// Measures the features over `interior` (pixel indices of a `size`-wide canvas) for an
    /// object whose unmarked colour is `base`, in an image with pixel noise `noise` (σ per channel).
    init(pixels: [SIMD3<Float>], interior: [Int], base: SIMD3<Float>, noise: Float, size: Int) {
        let norm = max((base * base).sum(), 1e-4)
        // Noise of σ per channel moves a pixel's mark level by σ / (|base| (1 - markShade)).
        let darkThreshold = max(Self.darkLevel, 3.5 * noise / (norm.squareRoot() * (1 - WorldPattern.markShade)))
        // Brightness relative to the base colour: 1 unmarked, markShade fully marked. The
        // unmarked level is the 75th percentile (marks cover at most half of an object), so
        // noise and blur, which spread the levels, do not read as marks.
        let brightness = interior.map { (pixels[$0] * base).sum() / norm }
        let sorted = brightness.sorted()
        let unmarked = sorted.isEmpty ? 1 : max(1e-3, sorted[min(sorted.count - 1, sorted.count * 3 / 4)])
        var mark = [Float](repeating: .nan, count: size * size)
        var sum: Float = 0
        var dark = 0
        for (i, k) in zip(interior, brightness) {
            let m = min(1.5, max(-0.5, (1 - k / unmarked) / (1 - WorldPattern.markShade)))
            mark[i] = m
            sum += m
            if m > darkThreshold { dark += 1 }
        }
        markFraction = interior.isEmpty ? 0 : sum / Float(interior.count)
        darkFraction = interior.isEmpty ? 0 : Float(dark) / Float(interior.count)
        let mean = markFraction
        /// Normalised autocorrelation of the marks at shift (dx, dy) over interior pairs.
        func correlation(_ dx: Int, _ dy: Int) -> Float {
            var product: Float = 0, energyA: Float = 0, energyB: Float = 0
            for i in interior {
                let x = i % size + dx, y = i / size + dy
                guard x >= 0, x < size, y >= 0, y < size else { continue }
                let other = mark[y * size + x]
                guard !other.isNaN else { continue }
                let a = mark[i] - mean, b = other - mean
                product += a * b; energyA += a * a; energyB += b * b
            }
            let energy = (energyA * energyB).squareRoot()
            return energy > 1e-6 ? product / energy : 0
        }
        stripeScore = (correlation(2, -2) + correlation(1, -1)) / 2 - (correlation(2, 2) + correlation(1, 1)) / 2
        let cell = Int(WorldGeometry.checkerCell)
        checkerScore = (correlation(cell, cell) + correlation(cell, -cell)) / 2 - (correlation(cell, 0) + correlation(0, cell)) / 2
    }
}
