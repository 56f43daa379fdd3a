// 3x3 convolution, stride 1, padding 1, by Winograd's F(4x4, 3x3) (Lavin & Gray 2016, the
// interpolation points 0, ±1, ±2, ∞): each 4x4 output tile is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over a
// 6x6 input tile, 36 GEMMs [O, C]·[C, tiles] with 36/144 of im2col's multiply-adds (F(2x2)'s
// are 64/144). Its transformed filters are 4x the weights, so it serves only the 64x64 layers,
// where those are small next to the GEMMs; the transforms run eight tiles per vector. Its
// results differ from im2col's by float rounding (≤ 2e-6 relative; WinogradConvolutionTests).

extension Tensor {
    /// out[N, O, H, W] = conv3x3(x, weight) + bias for H % 4 == 0 and W % 32 == 0; `out` is
    /// fully written.
    static func winogradConv3x3F4(input x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                  batch: Int, geometry geo: ConvGeometry, outChannels: Int, out: UnsafeMutablePointer<Float>) {
        typealias V8 = SIMD8<Float>
        let (channels, height, width) = (geo.channels, geo.height, geo.width)
        let tilesH = height / 4, tilesW = width / 4
        let tilesPerImage = tilesH * tilesW, tiles = batch * tilesPerImage
        let plane = height * width

        // Bᵀ·(d0 … d5): the input transform along one direction, lanes independent.
        @inline(__always) func inputTransform(_ d0: V8, _ d1: V8, _ d2: V8, _ d3: V8, _ d4: V8, _ d5: V8)
            -> (V8, V8, V8, V8, V8, V8) {
            let a = d4 - 4 * d2, b = d3 - 4 * d1, c = d4 - d2, e = 2 * (d3 - d1)
            return (4 * d0 - 5 * d2 + d4, a + b, a - b, c + e, c - e, 4 * d1 - 5 * d3 + d5)
        }

        // U[k][o][c] = (G g Gᵀ)[k], k = 6i + j, for G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙;
        // 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1].
        let u = winogradFilters(w, outChannels: outChannels, channels: channels, alpha: 6) { a, b, c, out in
            let ac = a + c
            let p = (ac * (1 / 24 as Float) + c * (1 / 8 as Float)), q = b * (1 / 12 as Float)
            (out[0], out[1], out[2], out[3], out[4], out[5]) =
                (a * 0.25, (ac + b) * (-1 / 6 as Float), (ac - b) * (-1 / 6 as Float), p + q, p - q, c)
        }
        let up = u.pointer

        // V[k][c][p] = (Bᵀ d B)[k] for Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0;
        // 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1], eight horizontally adjacent tiles per
        // vector. Each zero-bordered row is stored split by phase (x mod 4), so the six columns
        // a tile reads are six contiguous vectors: phases 0…3 at the tile, 0 and 1 one further.
        let v = TensorStorage(uninitializedCount: 36 * channels * tiles)
        let vp = v.pointer, inputStride = channels * tiles
        let phaseLength = tilesW + 1, paddedRow = 4 * phaseLength, paddedHeight = height + 2
        Parallel.forEach(channels, grain: 1) { range in
            let padded = TensorStorage(uninitializedCount: paddedHeight * paddedRow)
            let scratch = TensorStorage(uninitializedCount: 36 * 8)
            let pp = padded.pointer, t = UnsafeMutableRawPointer(scratch.pointer).assumingMemoryBound(to: V8.self)
            pp.update(repeating: 0, count: paddedHeight * paddedRow)
            for c in range {
                for n in 0..<batch {
                    let src = x + (n * channels + c) * plane
                    for y in 0..<height {
                        let row = src + y * width, dst = pp + (y + 1) * paddedRow
                        // Padded column x + 1 holds input column x.
                        for x in 0..<width {
                            let column = x + 1
                            dst[(column & 3) * phaseLength + (column >> 2)] = row[x]
                        }
                    }
                    for ty in 0..<tilesH {
                        let top = pp + 4 * ty * paddedRow
                        let dst = vp + c * tiles + n * tilesPerImage + ty * tilesW
                        var tx = 0
                        while tx < tilesW {
                            // Down the six rows first, per column; then across the columns.
                            for j in 0..<6 {
                                let offset = (j & 3) * phaseLength + tx + (j >> 2)
                                @inline(__always) func load(_ i: Int) -> V8 {
                                    UnsafeRawPointer(top + i * paddedRow + offset).loadUnaligned(as: V8.self)
                                }
                                (t[j], t[6 + j], t[12 + j], t[18 + j], t[24 + j], t[30 + j]) =
                                    inputTransform(load(0), load(1), load(2), load(3), load(4), load(5))
                            }
                            for i in 0..<6 {
                                let r = inputTransform(t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5])
                                @inline(__always) func put(_ j: Int, _ value: V8) {
                                    UnsafeMutableRawPointer(dst + (6 * i + j) * inputStride + tx).storeBytes(of: value, as: V8.self)
                                }
                                put(0, r.0); put(1, r.1); put(2, r.2); put(3, r.3); put(4, r.4); put(5, r.5)
                            }
                            tx += 8
                        }
                    }
                }
            }
            withExtendedLifetime((padded, scratch)) {}
        }

        let m = winogradProducts(u: up, v: vp, planes: 36, outChannels: outChannels, channels: channels, tiles: tiles)
        let mp = m.pointer, productStride = outChannels * tiles

        // Y = Aᵀ·M·A for Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1], plus
        // the bias, eight tiles per vector.
        @inline(__always) func outputTransform(_ m0: V8, _ m1: V8, _ m2: V8, _ m3: V8, _ m4: V8, _ m5: V8) -> (V8, V8, V8, V8) {
            let a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4
            return (m0 + a + c, b + 2 * d, a + 4 * c, b + 8 * d + m5)
        }
        Parallel.forEach(outChannels, grain: 1) { range in
            let scratch = TensorStorage(uninitializedCount: 24 * 8)
            let t = UnsafeMutableRawPointer(scratch.pointer).assumingMemoryBound(to: V8.self)
            for o in range {
                let b = V8(repeating: bias?[o] ?? 0)
                for n in 0..<batch {
                    for ty in 0..<tilesH {
                        let src = mp + o * tiles + n * tilesPerImage + ty * tilesW
                        let top = out + (n * outChannels + o) * plane + 4 * ty * width
                        var tx = 0
                        while tx < tilesW {
                            @inline(__always) func load(_ k: Int) -> V8 {
                                UnsafeRawPointer(src + k * productStride + tx).loadUnaligned(as: V8.self)
                            }
                            // Down the six rows per column, then across the columns.
                            for j in 0..<6 {
                                (t[j], t[6 + j], t[12 + j], t[18 + j]) =
                                    outputTransform(load(j), load(6 + j), load(12 + j), load(18 + j), load(24 + j), load(30 + j))
                            }
                            for i in 0..<4 {
                                let r = outputTransform(t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5])
                                let (y0, y1, y2, y3) = (r.0 + b, r.1 + b, r.2 + b, r.3 + b)
                                let row = top + i * width + 4 * tx
                                for l in 0..<8 {
                                    row[4 * l] = y0[l]
                                    row[4 * l + 1] = y1[l]
                                    row[4 * l + 2] = y2[l]
                                    row[4 * l + 3] = y3[l]
                                }
                            }
                            tx += 8
                        }
                    }
                }
            }
            withExtendedLifetime(scratch) {}
        }
        withExtendedLifetime((u, v, m)) {}
    }
}
