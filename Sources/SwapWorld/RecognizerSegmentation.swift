// Segmentation for the ShapesWorld recognizer: a smooth background model and the connected
// regions that stand out from it.

/// An RGB image as per-pixel colours, with the background model and foreground regions.
struct RecognizerCanvas {
    let size: Int
    /// Pixel colours, row-major.
    let pixels: [SIMD3<Float>]
    /// The fitted background colour of every pixel.
    let background: [SIMD3<Float>]
    /// Distance of every pixel from its background colour.
    let distance: [Float]

    /// Pixels farther than this from the background belong to a region, unless the image is
    /// noisy (see `foregroundThreshold`).
    static let minimumForegroundThreshold: Float = 0.22
    /// The threshold used: at least the minimum, and at least 3.4 σ for pixel noise of standard
    /// deviation σ per channel (the 99th percentile of a background pixel's distance), so that
    /// heavy noise does not join up into regions.
    let foregroundThreshold: Float
    /// The estimated standard deviation of independent pixel noise, per channel.
    let noise: Float
    /// Background candidates are light and nearly grey: every channel above this value…
    static let backgroundMinimum: Float = 0.68
    /// …and channels within this of each other.
    static let backgroundMaxChroma: Float = 0.2

    /// `planes` holds 3 x size x size values in [0, 1] (channel-major).
    init(planes: [Float], size: Int) {
        self.size = size
        let plane = size * size
        var pixels = [SIMD3<Float>](repeating: .zero, count: plane)
        for i in 0..<plane {
            pixels[i] = SIMD3(planes[i], planes[plane + i], planes[2 * plane + i])
                .clamped(lowerBound: .zero, upperBound: .one)
        }
        self.pixels = pixels
        background = Self.fitBackground(pixels, size: size)
        var distance = [Float](repeating: 0, count: plane)
        for i in 0..<plane {
            let d = pixels[i] - background[i]
            distance[i] = (d * d).sum().squareRoot()
        }
        self.distance = distance
        noise = Self.noiseLevel(planes, size: size)
        foregroundThreshold = max(Self.minimumForegroundThreshold, 3.4 * noise)
    }

    /// The standard deviation of independent pixel noise, estimated from the median absolute
    /// difference of horizontal neighbours (σ√2 · 0.674 for Gaussian noise); flat areas and
    /// edges hardly move the median.
    static func noiseLevel(_ planes: [Float], size: Int) -> Float {
        var differences: [Float] = []
        differences.reserveCapacity(planes.count)
        for row in 0..<planes.count / size {
            for x in 0..<size - 1 { differences.append(abs(planes[row * size + x + 1] - planes[row * size + x])) }
        }
        guard !differences.isEmpty else { return 0 }
        let k = differences.count / 2
        // Median by partial selection.
        differences.withUnsafeMutableBufferPointer { buffer in
            var low = 0, high = buffer.count - 1
            while low < high {
                let pivot = buffer[(low + high) / 2]
                var i = low, j = high
                while i <= j {
                    while buffer[i] < pivot { i += 1 }
                    while buffer[j] > pivot { j -= 1 }
                    if i <= j { buffer.swapAt(i, j); i += 1; j -= 1 }
                }
                if k <= j { high = j } else if k >= i { low = i } else { break }
            }
        }
        return differences[k] / (0.674 * Float(2).squareRoot())
    }

    /// An affine (a + b·x + c·y) colour per channel, fitted by least squares to the pixels
    /// that look like background, then refitted to those within 0.1 of the first fit. Plain and
    /// gradient backgrounds are affine; noise averages out.
    static func fitBackground(_ pixels: [SIMD3<Float>], size: Int) -> [SIMD3<Float>] {
        var candidates = pixels.indices.filter { i in
            let p = pixels[i]
            return p.min() > backgroundMinimum && p.max() - p.min() < backgroundMaxChroma
        }
        if candidates.count < size {
            // Nearly no light grey pixels: fall back to the lightest tenth of the image.
            let sorted = pixels.indices.sorted { pixels[$0].sum() > pixels[$1].sum() }
            candidates = Array(sorted.prefix(max(1, pixels.count / 10)))
        }
        var model = fitAffine(pixels, candidates, size: size)
        let refined = candidates.filter { i in
            let d = pixels[i] - model.evaluate(i % size, i / size)
            return (d * d).sum() < 0.01
        }
        if refined.count >= size { model = fitAffine(pixels, refined, size: size) }
        return (0..<pixels.count).map { model.evaluate($0 % size, $0 / size) }
    }

    struct AffineColor {
        var constant: SIMD3<Float>, dx: SIMD3<Float>, dy: SIMD3<Float>
        func evaluate(_ x: Int, _ y: Int) -> SIMD3<Float> {
            constant + dx * Float(x) + dy * Float(y)
        }
    }

    /// Least squares of colour on (1, x, y) over `indices` (normal equations in Double).
    static func fitAffine(_ pixels: [SIMD3<Float>], _ indices: [Int], size: Int) -> AffineColor {
        var m = [[Double]](repeating: [0, 0, 0], count: 3)
        var rhs = [SIMD3<Double>](repeating: .zero, count: 3)
        for i in indices {
            let f = [1, Double(i % size), Double(i / size)]
            let p = SIMD3<Double>(Double(pixels[i].x), Double(pixels[i].y), Double(pixels[i].z))
            for r in 0..<3 {
                for c in 0..<3 { m[r][c] += f[r] * f[c] }
                rhs[r] += p * f[r]
            }
        }
        // Solve the 3x3 system by Cramer's rule; a degenerate spread (all candidates on a line)
        // falls back to the mean colour.
        func det(_ a: [[Double]]) -> Double {
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
                + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        }
        let d = det(m)
        let mean = m[0][0] > 0 ? rhs[0] / m[0][0] : SIMD3(repeating: 1)
        guard abs(d) > 1e-6 * max(1, m[0][0] * m[1][1] * m[2][2]) else {
            let c = SIMD3<Float>(Float(mean.x), Float(mean.y), Float(mean.z))
            return AffineColor(constant: c, dx: .zero, dy: .zero)
        }
        var solution = [SIMD3<Double>](repeating: .zero, count: 3)
        for channel in 0..<3 {
            for k in 0..<3 {
                var a = m
                for r in 0..<3 { a[r][k] = rhs[r][channel] }
                solution[k][channel] = det(a) / d
            }
        }
        func float(_ v: SIMD3<Double>) -> SIMD3<Float> { SIMD3(Float(v.x), Float(v.y), Float(v.z)) }
        return AffineColor(constant: float(solution[0]), dx: float(solution[1]), dy: float(solution[2]))
    }

    /// The 8-connected regions of pixels inside `region` whose background distance exceeds
    /// `foregroundThreshold`, largest first, each as a list of pixel indices (in scan order of
    /// their discovery).
    func regions(in region: WorldBox) -> [[Int]] {
        let isForeground = distance.map { $0 > foregroundThreshold }
        var label = [Int](repeating: -1, count: size * size)
        var regions: [[Int]] = []
        for y in region.y0..<region.y1 {
            for x in region.x0..<region.x1 {
                let start = y * size + x
                guard label[start] < 0, isForeground[start] else { continue }
                var members: [Int] = []
                var stack = [start]
                label[start] = regions.count
                while let i = stack.popLast() {
                    members.append(i)
                    let cx = i % size, cy = i / size
                    for ny in max(region.y0, cy - 1)..<min(region.y1, cy + 2) {
                        for nx in max(region.x0, cx - 1)..<min(region.x1, cx + 2) {
                            let j = ny * size + nx
                            if label[j] < 0, isForeground[j] {
                                label[j] = regions.count
                                stack.append(j)
                            }
                        }
                    }
                }
                regions.append(members)
            }
        }
        return regions.sorted { $0.count != $1.count ? $0.count > $1.count : $0[0] < $1[0] }
    }
}
