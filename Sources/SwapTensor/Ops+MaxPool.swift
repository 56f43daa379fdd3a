// 2-D max pooling (matches torch.nn.functional.max_pool2d with dilation 1, ceil_mode=False;
// padded positions never win, as torch pads with -inf). The gradient goes to the first maximum
// of each window in row-major order, as torch's CPU kernel picks it.

extension Tensor {
    /// `torch.nn.functional.max_pool2d(x, kernel, stride, padding)`: x [N, C, H, W] →
    /// [N, C, (H + 2p − k)/s + 1, (W + 2p − k)/s + 1]. `stride` nil means `kernel`.
    public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) throws -> Tensor {
        let step = stride ?? kernel
        guard rank == 4 else { throw TensorError("max_pool2d", "expects [N, C, H, W], got \(formatShape(shape))") }
        guard kernel > 0, step > 0, padding >= 0, padding <= kernel / 2 else {
            throw TensorError("max_pool2d", "kernel \(kernel) and stride \(step) must be positive and padding \(padding) in 0...kernel/2")
        }
        let (h, w) = (shape[2], shape[3])
        let outH = (h + 2 * padding - kernel) / step + 1, outW = (w + 2 * padding - kernel) / step + 1
        guard h + 2 * padding >= kernel, w + 2 * padding >= kernel, outH > 0, outW > 0 else {
            throw TensorError("max_pool2d", "kernel \(kernel) is larger than the padded input \(formatShape(shape))")
        }
        let planes = shape[0] * shape[1]
        var out = Tensor(uninitializedShape: [shape[0], shape[1], outH, outW])
        // For each output element, the flat index (within its plane) of the winning input.
        var winners = [Int32](repeating: 0, count: planes * outH * outW)
        let x = storage.pointer, y = out.storage.pointer
        winners.withUnsafeMutableBufferPointer { arg in
            let win = arg.baseAddress!
            Parallel.forEach(planes, grain: 1) { range in
                for p in range {
                    let src = x + p * h * w, dst = y + p * outH * outW, best = win + p * outH * outW
                    for oy in 0..<outH {
                        let y0 = Swift.max(oy * step - padding, 0), y1 = Swift.min(oy * step - padding + kernel, h)
                        for ox in 0..<outW {
                            let x0 = Swift.max(ox * step - padding, 0), x1 = Swift.min(ox * step - padding + kernel, w)
                            var value = -Float.infinity, index = y0 * w + x0
                            for iy in y0..<y1 {
                                for ix in x0..<x1 {
                                    let v = src[iy * w + ix]
                                    // A NaN wins and then stays (nothing compares greater), as in torch.
                                    if v > value || v.isNaN && !value.isNaN { value = v; index = iy * w + ix }
                                }
                            }
                            dst[oy * outW + ox] = value
                            best[oy * outW + ox] = Int32(index)
                        }
                    }
                }
            }
        }
        let inputShape = shape, perPlane = outH * outW, winning = winners
        out.recordOp("max_pool2d", [self]) { g in
            let gx = Tensor(zeros: inputShape)
            let gp = g.storage.pointer, d = gx.storage.pointer
            winning.withUnsafeBufferPointer { win in
                Parallel.forEach(planes, grain: 1) { range in
                    for p in range {
                        for o in 0..<perPlane { d[p * h * w + Int(win[p * perPlane + o])] += gp[p * perPlane + o] }
                    }
                }
            }
            return [gx]
        }
        return out
    }
}
