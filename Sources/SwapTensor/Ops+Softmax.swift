// Numerically stable softmax over the last axis (torch.softmax(x, dim=-1)).

extension Tensor {
    /// Softmax of each row of `count` values starting at `src`, written to `dst`.
    static func softmaxRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        // Max: four independent accumulators, so the compare-select chains overlap.
        var m = -Float.infinity
        var i = 0
        if n >= 32 {
            var m0 = SIMD8<Float>(repeating: -.infinity), m1 = m0, m2 = m0, m3 = m0
            while i + 32 <= n {
                let v0 = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
                let v1 = UnsafeRawPointer(src + i + 8).loadUnaligned(as: SIMD8<Float>.self)
                let v2 = UnsafeRawPointer(src + i + 16).loadUnaligned(as: SIMD8<Float>.self)
                let v3 = UnsafeRawPointer(src + i + 24).loadUnaligned(as: SIMD8<Float>.self)
                m0 = m0.replacing(with: v0, where: v0 .> m0)
                m1 = m1.replacing(with: v1, where: v1 .> m1)
                m2 = m2.replacing(with: v2, where: v2 .> m2)
                m3 = m3.replacing(with: v3, where: v3 .> m3)
                i += 32
            }
            m0 = m0.replacing(with: m1, where: m1 .> m0)
            m2 = m2.replacing(with: m3, where: m3 .> m2)
            m = m0.replacing(with: m2, where: m2 .> m0).max()
        }
        while i < n { m = Swift.max(m, src[i]); i += 1 }
        if m == -Float.infinity { m = 0 }  // an all -inf row then gives 0/0 = NaN, as torch does
        // exp(x − m), stored and summed in one pass (fixed lane order: thread-count independent).
        let shift = SIMD8<Float>(repeating: m)
        var acc = SIMD8<Float>()
        i = 0
        while i + 8 <= n {
            let e = VectorMath.exp(UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self) - shift)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: e, as: SIMD8<Float>.self)
            acc += e
            i += 8
        }
        var s = acc.sum()
        if i < n {
            // The tail through one vector exp (lane by lane the same as the scalar form), summed in order.
            var tail = SIMD8<Float>(repeating: 0)
            for j in 0..<(n - i) { tail[j] = src[i + j] }
            let e = VectorMath.exp(tail - shift)
            for j in 0..<(n - i) { dst[i + j] = e[j]; s += e[j] }
        }
        let inv = 1 / s
        i = 0
        while i + 8 <= n {
            let v = UnsafeRawPointer(dst + i).loadUnaligned(as: SIMD8<Float>.self) * inv
            UnsafeMutableRawPointer(dst + i).storeBytes(of: v, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { dst[i] *= inv; i += 1 }
    }

    /// `torch.softmax(x, dim=-1)`.
    public func softmax() -> Tensor {
        let n = Swift.max(shape.last ?? 1, 1)
        var out = Tensor(uninitializedShape: shape)
        let x = storage.pointer, y = out.storage.pointer
        Parallel.forEach(count / n, grain: Swift.max(1, 4096 / n)) { range in
            for r in range { Tensor.softmaxRow(x + r * n, y + r * n, n) }
        }
        let probabilities = out.detached()
        out.recordOp("softmax", [self]) { g in [Tensor.softmaxBackward(g, probabilities)] }
        return out
    }

    /// dx = y ⊙ (g − Σ g⊙y) per row.
    static func softmaxBackward(_ g: Tensor, _ y: Tensor) -> Tensor {
        let n = Swift.max(y.shape.last ?? 1, 1)
        let out = Tensor(uninitializedShape: y.shape)
        let gp = g.storage.pointer, yp = y.storage.pointer, o = out.storage.pointer
        Parallel.forEach(y.count / n, grain: Swift.max(1, 4096 / n)) { range in
            for r in range {
                let base = r * n
                var dot: Float = 0
                for i in 0..<n { dot += gp[base + i] * yp[base + i] }
                for i in 0..<n { o[base + i] = yp[base + i] * (gp[base + i] - dot) }
            }
        }
        return out
    }
}
