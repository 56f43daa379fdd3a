import Foundation

/// Vectorised transcendental functions for the hot loops (softmax, SiLU, GELU).
///
/// `exp` uses the classic range reduction x = n·ln2 + r with a degree-6 polynomial for e^r; the
/// relative error is below 2 ulp on [-87, 88], and inputs outside saturate like `expf`.
public enum VectorMath {
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // `replacing(with:where:)` compiles to blends; `clamped` and `pointwiseMin` stay calls.
        let lo = SIMD8<Float>(repeating: -87.3), hi = SIMD8<Float>(repeating: 88.3)
        let clamped = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
        // n = round(x·log2 e) by the 1.5·2^23 trick: the sum's low mantissa bits hold n.
        // (SIMD `rounded` and Float→Int SIMD conversions are scalar loops in Swift: 15x slower.)
        let magic = SIMD8<Float>(repeating: 12582912)
        let t = clamped * 1.442695040888963 + magic
        let n = t - magic
        // r = x − n·ln2, with ln2 split in two for accuracy (Cody–Waite).
        var r = clamped - n * 0.693359375
        r = r - n * -2.12194440e-4
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * r * r + r + 1
        // Scale by 2^n through the exponent bits.
        let integer = unsafeBitCast(t, to: SIMD8<UInt32>.self) &- unsafeBitCast(magic, to: SIMD8<UInt32>.self)
        return p * unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
    }

    @inline(__always)
    public static func exp(_ x: Float) -> Float { exp(SIMD8(repeating: x))[0] }

    /// Applies `f8` to whole 8-lane chunks of `count` values and `f1` to the tail.
    @inline(__always)
    public static func map(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int,
                           _ f8: (SIMD8<Float>) -> SIMD8<Float>) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: f8(v), as: SIMD8<Float>.self)
            i += 8
        }
        if i < count {
            var v = SIMD8<Float>(repeating: 0)
            for j in 0..<(count - i) { v[j] = src[i + j] }
            let r = f8(v)
            for j in 0..<(count - i) { dst[i + j] = r[j] }
        }
    }

    /// erf by Abramowitz & Stegun 7.1.26, the formula ATen's `Vectorized<float>::erf` uses for
    /// torch's CPU GELU: erf|x| = 1 − t·(a₁ + a₂t + … + a₅t⁴)·e^(−x²), t = 1/(1 + p|x|), with the
    /// sign of x. Absolute error ≤ 1.5e-7 against the exact erf.
    @inline(__always)
    public static func erf(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
        let sign = bits & 0x8000_0000
        let a = unsafeBitCast(bits & 0x7fff_ffff, to: SIMD8<Float>.self)
        let t = 1 / (a * 0.3275911 + 1)
        var r = t * 1.061405429 + -1.453152027
        r = r * t + 1.421413741
        r = r * t + -0.284496736
        r = r * t + 0.254829592
        let y = 1 - t * exp(-(x * x)) * r
        return unsafeBitCast(unsafeBitCast(y, to: SIMD8<UInt32>.self) | sign, to: SIMD8<Float>.self)
    }

    @inline(__always)
    public static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { 1 / (1 + exp(-x)) }

    /// Σ p[i] in Double: runs of 64 values summed in sixteen Float lanes, each run's total
    /// added in Double, so long rows keep Double's accuracy at vector speed. The order of
    /// additions depends on `count` only.
    static func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
        runSum(p, count, { $0 }, { $0 })
    }

    /// Σ (p[i] − mean)² in Double, summed like `sum`.
    static func sumOfSquares(_ p: UnsafePointer<Float>, _ count: Int, minus mean: Float) -> Double {
        let m = SIMD16<Float>(repeating: mean)
        return runSum(p, count, { ($0 - m) * ($0 - m) }, { ($0 - mean) * ($0 - mean) })
    }

    /// Σ term(p[i]) as `sum` describes, with the term for sixteen lanes and for one value.
    @inline(__always)
    private static func runSum(_ p: UnsafePointer<Float>, _ count: Int, _ lanes: (SIMD16<Float>) -> SIMD16<Float>,
                               _ scalar: (Float) -> Float) -> Double {
        var total = 0.0, i = 0
        while i + 64 <= count {
            @inline(__always) func load(_ k: Int) -> SIMD16<Float> {
                lanes(UnsafeRawPointer(p + i + 16 * k).loadUnaligned(as: SIMD16<Float>.self))
            }
            total += Double(((load(0) + load(1)) + (load(2) + load(3))).sum())
            i += 64
        }
        while i < count { total += Double(scalar(p[i])); i += 1 }
        return total
    }
}
