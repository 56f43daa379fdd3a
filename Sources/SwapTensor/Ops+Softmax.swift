// Numerically stable softmax over the last axis (torch.softmax(x, dim=-1)).

extension Tensor {
    /// Softmax of each row of `count` values starting at `src`, written to `dst`.
    static func softmaxRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        var i = 0
        if n >= 8 {
            var m8 = SIMD8<Float>(repeating: -.infinity)
            while i + 8 <= n {
                let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
                m8 = m8.replacing(with: v, where: v .> m8)
                i += 8
            }
            m = m8.max()
        }
        while i < n { m = Swift.max(m, src[i]); i += 1 }
        if m == -Float.infinity { m = 0 }  // an all -inf row then gives 0/0 = NaN, as torch does
        VectorMath.map(src, dst, n) { VectorMath.exp($0 - m) }
        var acc = SIMD8<Float>()
        i = 0
        while i + 8 <= n { acc += UnsafeRawPointer(dst + i).loadUnaligned(as: SIMD8<Float>.self); i += 8 }
        var s = acc.sum()
        while i < n { s += dst[i]; i += 1 }
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
