// Spatial resampling of [N, C, H, W] tensors: nearest 2x upsampling (the UNet/VAE Upsample2D)
// and bilinear resize (torch.nn.functional.interpolate, mode="bilinear", align_corners=False,
// antialias=False).

/// Source taps for one output coordinate of a bilinear resize.
struct BilinearTap {
    let i0, i1: Int
    let w0, w1: Float

    /// torch's `area_pixel_compute_source_index` with scale = in/out, clamped at 0.
    static func taps(input: Int, output: Int) -> [BilinearTap] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { o in
            let src = Swift.max((Float(o) + 0.5) * scale - 0.5, 0)
            let i0 = Swift.min(Int(src), input - 1)
            let i1 = Swift.min(i0 + 1, input - 1)
            let lambda = src - Float(i0)
            return BilinearTap(i0: i0, i1: i1, w0: 1 - lambda, w1: lambda)
        }
    }
}

extension Tensor {
    /// Nearest-neighbour upsampling by 2 in both spatial axes.
    public func upsampleNearest2x() throws -> Tensor {
        guard rank == 4 else { throw TensorError("upsample_nearest", "expects [N, C, H, W], got \(formatShape(shape))") }
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        var out = Tensor(uninitializedShape: [shape[0], shape[1], 2 * h, 2 * w])
        let x = storage.pointer, y = out.storage.pointer
        Parallel.forEach(planes, grain: 1) { range in
            for p in range {
                let src = x + p * h * w, dst = y + p * 4 * h * w
                for i in 0..<h {
                    let row = dst + 2 * i * 2 * w
                    for j in 0..<w { row[2 * j] = src[i * w + j]; row[2 * j + 1] = src[i * w + j] }
                    (row + 2 * w).update(from: row, count: 2 * w)
                }
            }
        }
        let inputShape = shape
        out.recordOp("upsample_nearest", [self]) { g in
            let gx = Tensor(uninitializedShape: inputShape)
            let gp = g.storage.pointer, d = gx.storage.pointer
            Parallel.forEach(planes, grain: 1) { range in
                for p in range {
                    let src = gp + p * 4 * h * w, dst = d + p * h * w
                    for i in 0..<h {
                        for j in 0..<w {
                            let a = src + 2 * i * 2 * w + 2 * j
                            dst[i * w + j] = (a[0] + a[1]) + (a[2 * w] + a[2 * w + 1])
                        }
                    }
                }
            }
            return [gx]
        }
        return out
    }

    /// Bilinear resize to `height` × `width`.
    public func resizedBilinear(height: Int, width: Int) throws -> Tensor {
        guard rank == 4 else { throw TensorError("resize_bilinear", "expects [N, C, H, W], got \(formatShape(shape))") }
        guard height > 0, width > 0, shape[2] > 0, shape[3] > 0 else {
            throw TensorError("resize_bilinear", "cannot resize \(formatShape(shape)) to \(height)x\(width)")
        }
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let rows = BilinearTap.taps(input: h, output: height), cols = BilinearTap.taps(input: w, output: width)
        var out = Tensor(uninitializedShape: [shape[0], shape[1], height, width])
        let x = storage.pointer, y = out.storage.pointer
        Parallel.forEach(planes, grain: 1) { range in
            for p in range {
                let src = x + p * h * w, dst = y + p * height * width
                for (oy, r) in rows.enumerated() {
                    let a = src + r.i0 * w, b = src + r.i1 * w
                    for (ox, c) in cols.enumerated() {
                        let top = a[c.i0] * c.w0 + a[c.i1] * c.w1
                        let bottom = b[c.i0] * c.w0 + b[c.i1] * c.w1
                        dst[oy * width + ox] = top * r.w0 + bottom * r.w1
                    }
                }
            }
        }
        let inputShape = shape
        out.recordOp("resize_bilinear", [self]) { g in
            let gx = Tensor(zeros: inputShape)
            let gp = g.storage.pointer, d = gx.storage.pointer
            Parallel.forEach(planes, grain: 1) { range in
                for p in range {
                    let src = gp + p * height * width, dst = d + p * h * w
                    for (oy, r) in rows.enumerated() {
                        for (ox, c) in cols.enumerated() {
                            let v = src[oy * width + ox]
                            dst[r.i0 * w + c.i0] += v * r.w0 * c.w0
                            dst[r.i0 * w + c.i1] += v * r.w0 * c.w1
                            dst[r.i1 * w + c.i0] += v * r.w1 * c.w0
                            dst[r.i1 * w + c.i1] += v * r.w1 * c.w1
                        }
                    }
                }
            }
            return [gx]
        }
        return out
    }
}
