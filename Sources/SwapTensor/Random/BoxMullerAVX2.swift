// Matches PyTorch aten/src/ATen/native/cpu/DistributionTemplates.h (NormalFill16<float>) + aten/src/ATen/native/cpu/avx_mathfun.h as compiled into libtorch_cpu (GCC, FMA-contracted).

/// Eight-lane float32 log and sin/cos with exactly the operation sequence (including every fused
/// multiply-add) of torch's AVX2 `normal_fill_16`: the Cephes polynomials of `avx_mathfun.h`
/// as GCC compiled them into `NormalFill16<float,true>::operator()` in libtorch_cpu.so.
/// The FMA placement was read off the disassembly of torch 2.13 and confirmed bit-exact on
/// 4 × 2^20 samples; it is *not* what the C source says literally (GCC contracts mul+add pairs),
/// so every `addingProduct` below is load-bearing. Swift does not contract on its own.
///
/// Only valid for the argument ranges `normal_fill_16` feeds it: log of x in (0, 1]
/// (x ≤ 0 would give NaN in torch; callers never pass it) and sincos of θ in [0, 2π).
@usableFromInline
enum BoxMullerAVX2 {
    typealias V = SIMD8<Float>
    typealias I = SIMD8<Int32>
    typealias U = SIMD8<UInt32>

    @inline(__always) static func bits(_ v: V) -> U { unsafeBitCast(v, to: U.self) }
    @inline(__always) static func float(_ u: U) -> V { unsafeBitCast(u, to: V.self) }

    // Swift lowers SIMD comparisons, `replacing(with:where:)` and the generic int<->float
    // initialisers to per-lane code, so the helpers below express the same operations with
    // integer/bit arithmetic that LLVM keeps in ymm registers. All of them are exact.

    /// All-ones lanes where `a < b`, for `a`, `b` in a range where `a - b` cannot overflow.
    @inline(__always) static func lessMask(_ a: I, _ b: I) -> U { U(truncatingIfNeeded: (a &- b) &>> 31) }

    /// `Float(i)` for 0 ≤ i < 2^23: put i in the mantissa of 2^23 and subtract 2^23.
    @inline(__always) static func smallIntToFloat(_ i: U) -> V {
        float(i | U(repeating: 0x4B00_0000)) - V(repeating: 8_388_608)
    }

    /// `cvttps2dq` (truncation) for 0 ≤ v < 2^22: round by adding 2^23, step down where
    /// that rounded up (then `v - rounded` is negative and its sign bit is 1).
    @inline(__always) static func truncate(_ v: V) -> I {
        let r = v + V(repeating: 8_388_608)
        let k = bits(r) & U(repeating: 0x007F_FFFF)
        let roundedUp = bits(v - (r - V(repeating: 8_388_608))) &>> 31
        return I(truncatingIfNeeded: k &- roundedUp)
    }

    @inline(__always) static func sqrt(_ v: V) -> V {
        var r = v
        for i in 0..<8 { r[i] = v[i].squareRoot() }
        return r
    }

    /// Natural log, Cephes polynomial (avx_mathfun `log256_ps`). Requires x ≥ 2^-126 (normal,
    /// positive), which torch's callers guarantee (x = 1 - u ≥ 2^-24); torch's clamp to the
    /// smallest normal and its NaN for x ≤ 0 are therefore no-ops here and left out.
    @inline(__always)
    static func log(_ input: V) -> V {
        let exponentBits = bits(input) &>> 23                                     // biased exponent
        var x = float((bits(input) & U(repeating: 0x807F_FFFF)) | U(repeating: 0x3F00_0000))  // [0.5, 1)
        // e = float(exponent - 127) + 1, exactly as torch's cvtepi32_ps + add
        var e = (smallIntToFloat(exponentBits) - 127) + 1
        let mask = lessMask(I(truncatingIfNeeded: bits(x)), I(repeating: Int32(bitPattern: Float(0.707106781186547524).bitPattern)))
        let tmp = float(bits(x) & mask)
        x = x - 1
        e = e - float(bits(V(repeating: 1)) & mask)
        x = x + tmp
        let z = x * x
        var y = V(repeating: 7.0376836292E-2)
        y = V(repeating: -1.1514610310E-1).addingProduct(y, x)
        y = V(repeating: 1.1676998740E-1).addingProduct(y, x)
        y = V(repeating: -1.2420140846E-1).addingProduct(y, x)
        y = V(repeating: 1.4249322787E-1).addingProduct(y, x)
        y = V(repeating: -1.6668057665E-1).addingProduct(y, x)
        y = V(repeating: 2.0000714765E-1).addingProduct(y, x)
        y = V(repeating: -2.4999993993E-1).addingProduct(y, x)
        y = V(repeating: 3.3333331174E-1).addingProduct(y, x)
        y = y * x
        y = (e * V(repeating: -2.12194440e-4)).addingProduct(y, z)   // fma(y, z, e*q1)
        y = y.addingProduct(-z, V(repeating: 0.5))                    // fnmadd y - z*0.5 (z*0.5 is exact,
                                                                      // so this equals the unfused form)
        x = x + y
        return x.addingProduct(e, V(repeating: 0.693359375))          // fma(e, q2, x)
    }

    /// Simultaneous sine and cosine, Cephes (avx_mathfun `sincos256_ps`), for |θ| < 2^22·π/4.
    @inline(__always)
    static func sincos(_ input: V) -> (sin: V, cos: V) {
        var signSin = bits(input) & U(repeating: 0x8000_0000)
        var x = float(bits(input) & U(repeating: 0x7FFF_FFFF))
        var j = truncate(x * V(repeating: 1.27323954473516))
        j = (j &+ 1) & I(repeating: ~1)
        let y = smallIntToFloat(U(truncatingIfNeeded: j))
        let swapSignSin = U(truncatingIfNeeded: j & 4) &<< 29
        let polyMask = U(truncatingIfNeeded: ((j & 2) &>> 1) &- 1)                   // all ones where (j & 2) == 0
        x = x.addingProduct(y, V(repeating: -0.78515625))
        x = x.addingProduct(y, V(repeating: -2.4187564849853515625e-4))
        x = x.addingProduct(y, V(repeating: -3.77489497744594108e-8))
        let signCos = U(truncatingIfNeeded: ~(j &- 2) & 4) &<< 29
        signSin ^= swapSignSin
        let z = x * x
        var yc = V(repeating: -1.388731625493765E-003).addingProduct(V(repeating: 2.443315711809948E-005), z)
        yc = V(repeating: 4.166664568298827E-002).addingProduct(yc, z)
        yc = yc * z
        yc = (-(z * 0.5)).addingProduct(yc, z)                        // fmsub: yc*z - z*0.5
        yc = yc + 1
        var ys = V(repeating: 8.3321608736E-3).addingProduct(V(repeating: -1.9515295891E-4), z)
        ys = V(repeating: -1.6666654611E-1).addingProduct(ys, z)
        ys = ys * z
        ys = x.addingProduct(ys, x)                                   // fma(ys, x, x)
        let s = (bits(ys) & polyMask) | (bits(yc) & ~polyMask)
        let c = (bits(yc) & polyMask) | (bits(ys) & ~polyMask)
        return (float(s ^ signSin), float(c ^ signCos))
    }

    /// torch's `normal_fill_16` for mean 0, std 1: `data[0..<16]` holds uniforms in [0, 1) on
    /// entry and standard normals on exit; pairs are (j, j + 8).
    @inline(__always)
    static func fill16(_ data: UnsafeMutablePointer<Float>) {
        let raw = UnsafeMutableRawPointer(data)
        let u1 = V(repeating: 1) - raw.loadUnaligned(as: V.self)
        let u2 = raw.loadUnaligned(fromByteOffset: 32, as: V.self)
        let radius = sqrt(log(u1) * V(repeating: -2))
        let (s, c) = sincos(V(repeating: Float(2.0 * Double.pi)) * u2)
        // torch stores fmadd(n, std, mean); with std 1, mean 0 this turns -0 into +0.
        raw.storeBytes(of: V(repeating: 0).addingProduct(radius * c, V(repeating: 1)), as: V.self)
        raw.storeBytes(of: V(repeating: 0).addingProduct(radius * s, V(repeating: 1)),
                       toByteOffset: 32, as: V.self)
    }
}
