import Foundation

// Matches Pillow's `Image.resize(size, Image.BICUBIC)` for 8-bit planes (src/libImaging/Resample.c:
// `precompute_coeffs`, `normalize_coeffs_8bpc`, `ImagingResampleHorizontal_8bpc`/`Vertical_8bpc`,
// bicubic filter with a = −0.5): separable passes, horizontal first, fixed-point coefficients
// with 22 fraction bits, each pass rounded and clipped to 0…255.

/// Pillow-compatible resampling of 8-bit greyscale planes.
public enum PillowResample {
    static let precisionBits = 32 - 8 - 2

    /// Pillow's bicubic kernel (a = −0.5), support 2.
    static func bicubic(_ value: Double) -> Double {
        let a = -0.5
        let x = Swift.abs(value)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// For each output index: the first input index, the tap count and the fixed-point weights.
    static func coefficients(inSize: Int, outSize: Int) -> [(start: Int, weights: [Int32])] {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = Swift.max(scale, 1)
        let support = 2.0 * filterScale
        return (0..<outSize).map { xx in
            let center = (Double(xx) + 0.5) * scale
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            let taps = Swift.max(xmax - xmin, 0)
            var w = (0..<taps).map { bicubic((Double($0 + xmin) - center + 0.5) / filterScale) }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            let one = Double(1 << precisionBits)
            let fixed = w.map { Int32($0 < 0 ? -0.5 + $0 * one : 0.5 + $0 * one) }
            return (xmin, fixed)
        }
    }

    static func clip8(_ accumulator: Int64) -> UInt8 {
        let v = accumulator >> Int64(precisionBits)
        return UInt8(Swift.min(Swift.max(v, 0), 255))
    }

    /// `Image.fromarray(plane).resize((outWidth, outHeight), Image.BICUBIC)` for a
    /// `width`×`height` uint8 plane stored row-major.
    public static func bicubic(_ plane: [UInt8], width: Int, height: Int, outWidth: Int, outHeight: Int) -> [UInt8] {
        precondition(plane.count == width * height && width > 0 && height > 0 && outWidth > 0 && outHeight > 0,
                     "PillowResample.bicubic: plane of \(plane.count) values is not \(width)x\(height)")
        let half = Int64(1) << Int64(precisionBits - 1)
        var current = plane, currentWidth = width
        if outWidth != width {
            let coeffs = coefficients(inSize: width, outSize: outWidth)
            var out = [UInt8](repeating: 0, count: outWidth * height)
            for y in 0..<height {
                for (x, c) in coeffs.enumerated() {
                    var sum = half
                    for (k, w) in c.weights.enumerated() { sum += Int64(current[y * width + c.start + k]) * Int64(w) }
                    out[y * outWidth + x] = clip8(sum)
                }
            }
            current = out
            currentWidth = outWidth
        }
        if outHeight != height {
            let coeffs = coefficients(inSize: height, outSize: outHeight)
            var out = [UInt8](repeating: 0, count: currentWidth * outHeight)
            for (y, c) in coeffs.enumerated() {
                for x in 0..<currentWidth {
                    var sum = half
                    for (k, w) in c.weights.enumerated() { sum += Int64(current[(c.start + k) * currentWidth + x]) * Int64(w) }
                    out[y * currentWidth + x] = clip8(sum)
                }
            }
            current = out
        }
        return current
    }
}
