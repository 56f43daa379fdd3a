import Foundation

// Group norm and layer norm (torch.nn.functional.group_norm / layer_norm): biased variance,
// statistics accumulated in Double (over runs of 64 summed in Float lanes).

/// The row layout both norms share: `rows` contiguous rows of `length` values; position p of
/// row r uses affine parameter `(r % groups) * channelsPerGroup + p / spatial`.
struct NormLayout {
    let rows, length, groups, channelsPerGroup, spatial: Int

    /// Calls `body(start, c)` for each run of `spatial` positions of row `r` that share affine
    /// parameter `c`, so inner loops index parameters once per run, not per element.
    @inline(__always)
    func forEachRun(row r: Int, _ body: (_ start: Int, _ parameter: Int) -> Void) {
        let first = (r % groups) * channelsPerGroup
        for run in 0..<(length / spatial) { body(run * spatial, first + run) }
    }
}

extension Tensor {
    /// `group_norm(x, groups, weight, bias, eps)` for x [N, C, ...].
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        guard rank >= 2, groups > 0, shape[1] % groups == 0 else {
            throw TensorError("group_norm", "\(shape.count >= 2 ? shape[1] : 0) channels of \(formatShape(shape)) do not split into \(groups) groups")
        }
        let channels = shape[1]
        for p in [weight, bias].compactMap({ $0 }) where p.shape != [channels] {
            throw TensorError("group_norm", "affine parameter \(formatShape(p.shape)) does not match \(channels) channels")
        }
        let spatial = shape[2...].reduce(1, *)
        let layout = NormLayout(rows: shape[0] * groups, length: channels / groups * spatial, groups: groups,
                                channelsPerGroup: channels / groups, spatial: spatial)
        return normalized(layout, weight: weight, bias: bias, eps: eps, name: "group_norm") { g in
            try! g.reshapedUnchecked([self.shape[0], channels, spatial]).sum(axes: [0, 2])
        }
    }

    /// `layer_norm(x, [D], weight, bias, eps)` over the last axis.
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        guard let d = shape.last, d > 0 else { throw TensorError("layer_norm", "empty last axis in \(formatShape(shape))") }
        for p in [weight, bias].compactMap({ $0 }) where p.shape != [d] {
            throw TensorError("layer_norm", "affine parameter \(formatShape(p.shape)) does not match last axis of \(formatShape(shape))")
        }
        let layout = NormLayout(rows: count / d, length: d, groups: 1, channelsPerGroup: d, spatial: 1)
        return normalized(layout, weight: weight, bias: bias, eps: eps, name: "layer_norm") { g in
            try! g.reshapedUnchecked([self.count / d, d]).sum(axes: [0])
        }
    }

    /// Normalises each row, applies the affine map, and records the backward pass.
    /// `reduceToParameters` sums a per-element tensor down to the affine parameters' shape.
    private func normalized(_ L: NormLayout, weight: Tensor?, bias: Tensor?, eps: Float, name: String,
                            reduceToParameters: @escaping (Tensor) -> Tensor) -> Tensor {
        var out = Tensor(uninitializedShape: shape)
        var stats = [Float](repeating: 0, count: 2 * L.rows)  // mean, 1/std per row
        let x = storage.pointer, y = out.storage.pointer
        let gamma = weight?.storage.pointer, beta = bias?.storage.pointer
        stats.withUnsafeMutableBufferPointer { statsBuffer in
            let st = statsBuffer.baseAddress!
            Parallel.forEach(L.rows, grain: 1) { range in
                for r in range {
                    let row = x + r * L.length, dst = y + r * L.length
                    // The mean, then the variance about it (two passes, as torch), the runs of
                    // 64 summed in Float lanes and their totals in Double (VectorMath.sum).
                    let mean = VectorMath.sum(row, L.length) / Double(L.length)
                    let v = VectorMath.sumOfSquares(row, L.length, minus: Float(mean))
                    let rstd = 1 / (v / Double(L.length) + Double(eps)).squareRoot()
                    st[2 * r] = Float(mean)
                    st[2 * r + 1] = Float(rstd)
                    let m = Float(mean), rs = Float(rstd)
                    if L.spatial == 1 && L.groups == 1, let gamma, let beta {
                        // Layer norm: a parameter per position.
                        for i in 0..<L.length { dst[i] = (row[i] - m) * rs * gamma[i] + beta[i] }
                    } else {
                        L.forEachRun(row: r) { start, c in
                            // value = (x − m)·rs·γ + β = x·scale + shift
                            let scale = rs * (gamma?[c] ?? 1), shift = (beta?[c] ?? 0) - m * scale
                            for i in start..<(start + L.spatial) { dst[i] = row[i] * scale + shift }
                        }
                    }
                }
            }
        }
        let input = detached(), w = weight?.detached()
        let inputs = [self] + [weight, bias].compactMap { $0 }
        out.recordOp(name, inputs) { g in
            // x̂ and dL/dx̂ = g·γ, then dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) per row.
            let xhat = Tensor(uninitializedShape: input.shape)
            let gx = Tensor(uninitializedShape: input.shape)
            let xp = input.storage.pointer, gp = g.storage.pointer
            let hp = xhat.storage.pointer, dp = gx.storage.pointer
            let gammaP = w?.storage.pointer
            stats.withUnsafeBufferPointer { statsBuffer in
                let st = statsBuffer.baseAddress!
                Parallel.forEach(L.rows, grain: 1) { range in
                    for r in range {
                        let base = r * L.length, m = st[2 * r], rs = st[2 * r + 1]
                        var sumD = 0.0, sumDH = 0.0
                        L.forEachRun(row: r) { start, c in
                            let scale = gammaP?[c] ?? 1
                            for i in (base + start)..<(base + start + L.spatial) {
                                let h = (xp[i] - m) * rs
                                hp[i] = h
                                let d = gp[i] * scale
                                sumD += Double(d)
                                sumDH += Double(d * h)
                            }
                        }
                        let meanD = Float(sumD / Double(L.length)), meanDH = Float(sumDH / Double(L.length))
                        L.forEachRun(row: r) { start, c in
                            let scale = gammaP?[c] ?? 1
                            for i in (base + start)..<(base + start + L.spatial) {
                                dp[i] = rs * (gp[i] * scale - meanD - hp[i] * meanDH)
                            }
                        }
                    }
                }
            }
            var grads: [Tensor?] = [self.requiresGrad ? gx : nil]
            if let weight { grads.append(weight.requiresGrad ? reduceToParameters(try! g * xhat) : nil) }
            if let bias { grads.append(bias.requiresGrad ? reduceToParameters(g) : nil) }
            return grads
        }
        return out
    }
}
