// 2-D convolution as im2col + sgemm (matches torch.nn.functional.conv2d with groups=1,
// dilation=1). The backward pass recomputes the column matrix instead of saving it.

/// Geometry of one conv2d call.
struct ConvGeometry {
    let channels, height, width: Int
    let kernelH, kernelW: Int
    let strideH, strideW, padH, padW: Int
    var outH: Int { (height + 2 * padH - kernelH) / strideH + 1 }
    var outW: Int { (width + 2 * padW - kernelW) / strideW + 1 }
    var columnRows: Int { channels * kernelH * kernelW }
    var isPointwise: Bool { kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 }

    /// Unfolds one image [C, H, W] into columns [C·kh·kw, outH·outW], rows `rowStride` apart
    /// (by default packed).
    func im2col(_ src: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>, rowStride: Int? = nil) {
        let (oh, ow) = (outH, outW), rowStride = rowStride ?? oh * ow
        Parallel.forEach(columnRows, grain: 1) { range in
            for row in range {
                let c = row / (kernelH * kernelW), ki = (row / kernelW) % kernelH, kj = row % kernelW
                let plane = src + c * height * width
                let dstRow = cols + row * rowStride
                for y in 0..<oh {
                    let iy = y * strideH - padH + ki
                    let dst = dstRow + y * ow
                    if iy < 0 || iy >= height {
                        dst.update(repeating: 0, count: ow)
                        continue
                    }
                    let line = plane + iy * width
                    if strideW == 1 {
                        // Contiguous run with zero borders.
                        let first = Swift.max(0, padW - kj), last = Swift.min(ow, width + padW - kj)
                        if first > 0 { dst.update(repeating: 0, count: Swift.min(first, ow)) }
                        if last > first { (dst + first).update(from: line + first - padW + kj, count: last - first) }
                        if last < ow { (dst + Swift.max(last, 0)).update(repeating: 0, count: ow - Swift.max(last, 0)) }
                    } else {
                        for x in 0..<ow {
                            let ix = x * strideW - padW + kj
                            dst[x] = ix >= 0 && ix < width ? line[ix] : 0
                        }
                    }
                }
            }
        }
    }

    /// Unfolds output pixels `first..<first+count` of one image into columns [C·kh·kw, count]
    /// (row stride `count`). Used per panel so the column block stays in cache.
    func im2colPanel(_ src: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>, first: Int, count: Int) {
        let ow = outW
        for row in 0..<columnRows {
            let c = row / (kernelH * kernelW), ki = (row / kernelW) % kernelH, kj = row % kernelW
            let plane = src + c * height * width
            var dst = cols + row * count
            var pixel = first
            let end = first + count
            while pixel < end {
                let y = pixel / ow, x0 = pixel % ow
                let run = Swift.min(ow - x0, end - pixel)
                let iy = y * strideH - padH + ki
                if iy < 0 || iy >= height {
                    dst.update(repeating: 0, count: run)
                } else {
                    let line = plane + iy * width
                    for x in x0..<(x0 + run) {
                        let ix = x * strideW - padW + kj
                        dst[x - x0] = ix >= 0 && ix < width ? line[ix] : 0
                    }
                }
                dst += run
                pixel += run
            }
        }
    }

    /// Folds columns back, adding into one image gradient [C, H, W]. Parallel over channels,
    /// so every input element is written by one thread in a fixed order.
    func col2imAdd(_ cols: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
        let (oh, ow) = (outH, outW)
        Parallel.forEach(channels, grain: 1) { range in
            for c in range {
                let plane = dst + c * height * width
                for ki in 0..<kernelH {
                    for kj in 0..<kernelW {
                        let srcRow = cols + ((c * kernelH + ki) * kernelW + kj) * oh * ow
                        for y in 0..<oh {
                            let iy = y * strideH - padH + ki
                            if iy < 0 || iy >= height { continue }
                            let line = plane + iy * width, src = srcRow + y * ow
                            for x in 0..<ow {
                                let ix = x * strideW - padW + kj
                                if ix >= 0 && ix < width { line[ix] += src[x] }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// `torch.nn.functional.conv2d(x, weight, bias, stride, padding)`: x [N, C, H, W],
    /// weight [O, C, kh, kw], bias [O] → [N, O, H', W'].
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) throws -> Tensor {
        try conv2d(weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding))
    }

    public func conv2d(weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int)) throws -> Tensor {
        try conv2d(weight: weight, bias: bias, stride: stride, padding: padding, allowWinograd: true)
    }

    /// `allowWinograd: false` keeps im2col for every geometry (the reference in tests).
    func conv2d(weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int), allowWinograd: Bool) throws -> Tensor {
        guard rank == 4, weight.rank == 4, weight.shape[1] == shape[1] else {
            throw TensorError("conv2d", "input \(formatShape(shape)) does not match weight \(formatShape(weight.shape)) (expected input [N, \(weight.rank == 4 ? weight.shape[1] : 0), H, W])")
        }
        guard stride.0 > 0, stride.1 > 0, padding.0 >= 0, padding.1 >= 0 else {
            throw TensorError("conv2d", "stride must be positive and padding non-negative")
        }
        let geo = ConvGeometry(channels: shape[1], height: shape[2], width: shape[3],
                               kernelH: weight.shape[2], kernelW: weight.shape[3],
                               strideH: stride.0, strideW: stride.1, padH: padding.0, padW: padding.1)
        guard geo.outH > 0, geo.outW > 0 else {
            throw TensorError("conv2d", "kernel \(formatShape(weight.shape)) is larger than padded input \(formatShape(shape))")
        }
        let outChannels = weight.shape[0]
        if let bias, bias.shape != [outChannels] {
            throw TensorError("conv2d", "bias \(formatShape(bias.shape)) does not match \(outChannels) output channels")
        }
        let batch = shape[0], spatial = geo.outH * geo.outW, imageSize = geo.channels * geo.height * geo.width
        var out = Tensor(uninitializedShape: [batch, outChannels, geo.outH, geo.outW])
        let o = out.storage.pointer, x = storage.pointer, w = weight.storage.pointer
        let winogradTile = allowWinograd ? Tensor.winogradTile(geo, outChannels: outChannels) : nil
        // Images side by side in one GEMM when small; at multiples of 16 columns every image's
        // columns take the same kernel path, so identical images still give identical outputs.
        let batchedColumns = !geo.isPointwise && batch > 1 && spatial < 2 * BLAS.panel && spatial % 16 == 0
        // The im2col GEMMs accumulate onto the bias (beta 1); Winograd and the batched path add it
        // as they write.
        if let bias, winogradTile == nil, !batchedColumns {
            let bp = bias.storage.pointer
            Parallel.forEach(batch * outChannels, grain: 8) { r in
                for nc in r { (o + nc * spatial).update(repeating: bp[nc % outChannels], count: spatial) }
            }
        }
        let beta: Float = bias == nil ? 0 : 1
        if let winogradTile {
            Tensor.winogradConv3x3(tile: winogradTile, input: x, weight: w, bias: bias?.storage.pointer, batch: batch, geometry: geo,
                                   outChannels: outChannels, out: o)
        } else if batchedColumns {
            // Small images (16x16 and below in SD): every image unfolded side by side, [C·kh·kw,
            // N·H'W'], and one GEMM, so the weights (the larger operand here) are packed once
            // for the batch, not once per image; then [O, N·H'W'] plus the bias into [N, O, H'W'].
            let columns = batch * spatial
            let cols = TensorStorage(uninitializedCount: geo.columnRows * columns)
            for n in 0..<batch { geo.im2col(x + n * imageSize, cols.pointer + n * spatial, rowStride: columns) }
            let product = TensorStorage(uninitializedCount: outChannels * columns)
            BLAS.gemm(m: outChannels, n: columns, k: geo.columnRows, a: w, b: cols.pointer, c: product.pointer)
            let pp = product.pointer, bp = bias?.storage.pointer
            Parallel.forEach(batch * outChannels, grain: 8) { r in
                for nc in r {
                    let (n, oc) = nc.quotientAndRemainder(dividingBy: outChannels)
                    let src = pp + oc * columns + n * spatial, dst = o + nc * spatial
                    if let b = bp?[oc] {
                        for i in 0..<spatial { dst[i] = b + src[i] }
                    } else {
                        dst.update(from: src, count: spatial)
                    }
                }
            }
            withExtendedLifetime((cols, product)) {}
        } else if geo.isPointwise || spatial < 2 * BLAS.panel {
            // Pointwise, or one small image: unfold whole images and let BLAS.gemm split.
            let cols = geo.isPointwise ? nil : TensorStorage(uninitializedCount: geo.columnRows * spatial)
            for n in 0..<batch {
                var source = UnsafePointer(x + n * imageSize)
                if let cols {
                    geo.im2col(x + n * imageSize, cols.pointer)
                    source = UnsafePointer(cols.pointer)
                }
                BLAS.gemm(m: outChannels, n: spatial, k: geo.columnRows, a: w, b: source,
                          beta: beta, c: o + n * outChannels * spatial)
            }
        } else {
            // One task per (image, panel of output pixels): unfold the panel into a per-thread
            // column block, then one single-threaded GEMM writes that panel of the output.
            let panel = BLAS.panel, panels = (spatial + panel - 1) / panel
            Parallel.forEach(batch * panels, grain: 1) { range in
                let cols = TensorStorage(uninitializedCount: geo.columnRows * panel)
                for task in range {
                    let (n, p) = task.quotientAndRemainder(dividingBy: panels)
                    let first = p * panel, width = Swift.min(panel, spatial - first)
                    geo.im2colPanel(x + n * imageSize, cols.pointer, first: first, count: width)
                    BLAS.gemm(m: outChannels, n: width, k: geo.columnRows, a: w, b: cols.pointer, ldb: width,
                              beta: beta, c: o + n * outChannels * spatial + first, ldc: spatial, parallel: false)
                }
            }
        }
        let (input, kernel) = (detached(), weight.detached())
        out.recordOp("conv2d", bias.map { [self, weight, $0] } ?? [self, weight]) { g in
            Tensor.conv2dBackward(g, input: input, weight: kernel, geometry: geo,
                                  needInput: self.requiresGrad, needWeight: weight.requiresGrad,
                                  needBias: bias?.requiresGrad == true, hasBias: bias != nil)
        }
        return out
    }

    static func conv2dBackward(_ g: Tensor, input: Tensor, weight: Tensor, geometry geo: ConvGeometry,
                               needInput: Bool, needWeight: Bool, needBias: Bool, hasBias: Bool) -> [Tensor?] {
        let batch = input.shape[0], outChannels = weight.shape[0]
        let spatial = geo.outH * geo.outW, imageSize = geo.channels * geo.height * geo.width
        let gx: Tensor? = needInput ? Tensor(zeros: input.shape) : nil
        let gw: Tensor? = needWeight ? Tensor(zeros: weight.shape) : nil
        let cols = TensorStorage(uninitializedCount: geo.columnRows * spatial)
        for n in 0..<batch {
            let gn = g.storage.pointer + n * outChannels * spatial
            if let gwStorage = gw?.storage {
                let source: UnsafePointer<Float>
                if geo.isPointwise {
                    source = UnsafePointer(input.storage.pointer + n * imageSize)
                } else {
                    geo.im2col(input.storage.pointer + n * imageSize, cols.pointer)
                    source = UnsafePointer(cols.pointer)
                }
                BLAS.gemm(transB: true, m: outChannels, n: geo.columnRows, k: spatial, a: gn, b: source,
                          beta: 1, c: gwStorage.pointer)
            }
            if let gxStorage = gx?.storage {
                let dst = gxStorage.pointer + n * imageSize
                if geo.isPointwise {
                    BLAS.gemm(transA: true, m: geo.columnRows, n: spatial, k: outChannels,
                              a: weight.storage.pointer, b: gn, beta: 1, c: dst)
                } else {
                    BLAS.gemm(transA: true, m: geo.columnRows, n: spatial, k: outChannels,
                              a: weight.storage.pointer, b: gn, c: cols.pointer)
                    geo.col2imAdd(cols.pointer, dst)
                }
            }
        }
        let gb = needBias ? try! g.sum(axes: [0, 2, 3]) : nil
        return hasBias ? [gx, gw, gb] : [gx, gw]
    }
}
