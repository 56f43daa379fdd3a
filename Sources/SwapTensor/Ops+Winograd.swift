// 3x3 convolution, stride 1, padding 1, by Winograd's minimal filtering F(2x2, 3x3) (Lavin &
// Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 2x2 output tile is
// Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over a 4x4 input tile d, so the multiply-adds become 16 GEMMs
// [O, C]·[C, tiles] with 16/36 of im2col's work. Used for Stable Diffusion's wide layers at
// 32x32 (channels ≥ 128, even sizes; F(4x4, 3x3) in Ops+Winograd4x4.swift takes 64x64), where
// the transforms are cheap next to the GEMMs; smaller convolutions (the default model, the
// fixtures) keep im2col. Its results differ from im2col's
// by float rounding only (≤ 5e-7 relative; WinogradConvolutionTests).

extension Tensor {
    /// The output tile of the Winograd path conv2d takes for this geometry: 4 (F(4x4, 3x3)) at
    /// 64x64 and larger, 2 (F(2x2, 3x3)) at 32x32 and larger, nil for im2col.
    static func winogradTile(_ geo: ConvGeometry, outChannels: Int) -> Int? {
        guard geo.kernelH == 3 && geo.kernelW == 3 && geo.strideH == 1 && geo.strideW == 1 && geo.padH == 1 && geo.padW == 1
            && geo.channels >= 128 && outChannels >= 128 && geo.height * geo.width >= 1024
            && geo.height % 2 == 0 && geo.width % 2 == 0 else { return nil }
        return geo.height * geo.width >= 4096 && geo.height % 4 == 0 && geo.width % 32 == 0 ? 4 : 2
    }

    /// Runs the Winograd path `winogradTile` chose.
    static func winogradConv3x3(tile: Int, input x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                batch: Int, geometry geo: ConvGeometry, outChannels: Int, out: UnsafeMutablePointer<Float>) {
        if tile == 4 {
            winogradConv3x3F4(input: x, weight: w, bias: bias, batch: batch, geometry: geo, outChannels: outChannels, out: out)
        } else {
            winogradConv3x3F2(input: x, weight: w, bias: bias, batch: batch, geometry: geo, outChannels: outChannels, out: out)
        }
    }

    /// out[N, O, H, W] = conv3x3(x, weight) + bias; `out` is fully written.
    static func winogradConv3x3F2(input x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                batch: Int, geometry geo: ConvGeometry, outChannels: Int, out: UnsafeMutablePointer<Float>) {
        let (channels, height, width) = (geo.channels, geo.height, geo.width)
        let tilesH = (height + 1) / 2, tilesW = (width + 1) / 2
        let tilesPerImage = tilesH * tilesW, tiles = batch * tilesPerImage
        let plane = height * width

        // U[k][o][c] = (G g Gᵀ)[k] for G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
        let u = winogradFilters(w, outChannels: outChannels, channels: channels, alpha: 4) { a, b, c, out in
            (out[0], out[1], out[2], out[3]) = (a, 0.5 * (a + b + c), 0.5 * (a - b + c), c)
        }
        let up = u.pointer

        // V[k][c][p] = (Bᵀ d B)[k] for Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], read from a
        // zero-bordered copy of each plane so the loops have no bounds checks.
        let v = TensorStorage(uninitializedCount: 16 * channels * tiles)
        let vp = v.pointer, inputStride = channels * tiles
        let paddedWidth = width + 2, paddedHeight = height + 2
        Parallel.forEach(channels, grain: 1) { range in
            let padded = TensorStorage(uninitializedCount: paddedHeight * paddedWidth)
            let pp = padded.pointer
            pp.update(repeating: 0, count: paddedHeight * paddedWidth)
            for c in range {
                for n in 0..<batch {
                    let src = x + (n * channels + c) * plane
                    for y in 0..<height { (pp + (y + 1) * paddedWidth + 1).update(from: src + y * width, count: width) }
                    for ty in 0..<tilesH {
                        let l0 = pp + 2 * ty * paddedWidth, l1 = l0 + paddedWidth, l2 = l1 + paddedWidth, l3 = l2 + paddedWidth
                        let dst = vp + c * tiles + n * tilesPerImage + ty * tilesW
                        for tx in 0..<tilesW {
                            let x0 = 2 * tx
                            // Columns first, (d·B) per row, then rows, Bᵀ·(d·B).
                            @inline(__always) func columns(_ l: UnsafeMutablePointer<Float>) -> SIMD4<Float> {
                                let (a, b, c, d) = (l[x0], l[x0 + 1], l[x0 + 2], l[x0 + 3])
                                return SIMD4(a - c, b + c, c - b, b - d)
                            }
                            let e0 = columns(l0), e1 = columns(l1), e2 = columns(l2), e3 = columns(l3)
                            let v0 = e0 - e2, v1 = e1 + e2, v2 = e2 - e1, v3 = e1 - e3
                            for j in 0..<4 {
                                dst[j * inputStride + tx] = v0[j]
                                dst[(4 + j) * inputStride + tx] = v1[j]
                                dst[(8 + j) * inputStride + tx] = v2[j]
                                dst[(12 + j) * inputStride + tx] = v3[j]
                            }
                        }
                    }
                }
            }
            withExtendedLifetime(padded) {}
        }

        let m = winogradProducts(u: up, v: vp, planes: 16, outChannels: outChannels, channels: channels, tiles: tiles)
        let mp = m.pointer, productStride = outChannels * tiles

        // Y = Aᵀ·M·A for Aᵀ = [1 1 1 0; 0 1 −1 −1], plus the bias (even sizes: whole 2x2 tiles).
        Parallel.forEach(outChannels, grain: 1) { range in
            for o in range {
                let b = bias?[o] ?? 0
                for n in 0..<batch {
                    for ty in 0..<tilesH {
                        let src = mp + o * tiles + n * tilesPerImage + ty * tilesW
                        let row0 = out + (n * outChannels + o) * plane + 2 * ty * width, row1 = row0 + width
                        for tx in 0..<tilesW {
                            @inline(__always) func m(_ i: Int) -> SIMD4<Float> {
                                SIMD4(src[(4 * i) * productStride + tx], src[(4 * i + 1) * productStride + tx],
                                      src[(4 * i + 2) * productStride + tx], src[(4 * i + 3) * productStride + tx])
                            }
                            let m0 = m(0), m1 = m(1), m2 = m(2), m3 = m(3)
                            let s0 = m0 + m1 + m2, s1 = m1 - m2 - m3
                            row0[2 * tx] = s0[0] + s0[1] + s0[2] + b
                            row0[2 * tx + 1] = s0[1] - s0[2] - s0[3] + b
                            row1[2 * tx] = s1[0] + s1[1] + s1[2] + b
                            row1[2 * tx + 1] = s1[1] - s1[2] - s1[3] + b
                        }
                    }
                }
            }
        }
        withExtendedLifetime((u, v, m)) {}
    }

    /// U[k][o][c] = (G g Gᵀ)[k], k = alpha·i + j, for the alpha×3 matrix G that `applyG` applies
    /// to one column (a, b, c) of a 3x3 filter, writing alpha values: G to the filter's three
    /// columns, then to each row of that. Eight input channels per vector; the taps of each
    /// output channel are first regrouped as [9][C], contiguous in c.
    static func winogradFilters(_ w: UnsafePointer<Float>, outChannels: Int, channels: Int, alpha: Int,
                                applyG: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, UnsafeMutablePointer<SIMD8<Float>>) -> Void)
        -> TensorStorage {
        typealias V8 = SIMD8<Float>
        let u = TensorStorage(uninitializedCount: alpha * alpha * outChannels * channels)
        let up = u.pointer, filterStride = outChannels * channels
        Parallel.forEach(outChannels, grain: 1) { range in
            let taps = TensorStorage(uninitializedCount: 9 * channels)
            let scratch = TensorStorage(uninitializedCount: 4 * alpha * 8)
            let tp = taps.pointer
            // G·g, column j at [alpha·j ..< alpha·(j + 1)], then one row of (G·g)·Gᵀ.
            let columns = UnsafeMutableRawPointer(scratch.pointer).assumingMemoryBound(to: V8.self), row = columns + 3 * alpha
            for o in range {
                let g = w + o * channels * 9
                for c in 0..<channels { for t in 0..<9 { tp[t * channels + c] = g[c * 9 + t] } }
                let rowBase = up + o * channels
                var c = 0
                while c < channels {
                    let lanes = Swift.min(8, channels - c)
                    @inline(__always) func tap(_ t: Int) -> V8 {
                        if lanes == 8 { return UnsafeRawPointer(tp + t * channels + c).loadUnaligned(as: V8.self) }
                        var v = V8()
                        for l in 0..<lanes { v[l] = tp[t * channels + c + l] }
                        return v
                    }
                    for j in 0..<3 { applyG(tap(j), tap(3 + j), tap(6 + j), columns + alpha * j) }
                    for i in 0..<alpha {
                        applyG(columns[i], columns[alpha + i], columns[2 * alpha + i], row)
                        for j in 0..<alpha {
                            let dst = rowBase + (alpha * i + j) * filterStride + c
                            if lanes == 8 {
                                UnsafeMutableRawPointer(dst).storeBytes(of: row[j], as: V8.self)
                            } else {
                                for l in 0..<lanes { dst[l] = row[j][l] }
                            }
                        }
                    }
                    c += 8
                }
            }
            withExtendedLifetime((taps, scratch)) {}
        }
        return u
    }

    /// M[k] = U[k]·V[k] for each of the `planes` transformed positions: [O, C]·[C, tiles].
    static func winogradProducts(u: UnsafePointer<Float>, v: UnsafePointer<Float>, planes: Int,
                                 outChannels: Int, channels: Int, tiles: Int) -> TensorStorage {
        let m = TensorStorage(uninitializedCount: planes * outChannels * tiles)
        for k in 0..<planes {
            BLAS.gemm(m: outChannels, n: tiles, k: channels, a: u + k * outChannels * channels,
                      b: v + k * channels * tiles, c: m.pointer + k * outChannels * tiles)
        }
        return m
    }
}
