// The gated GELU of diffusers' `models/activations.py` `GEGLU`, fused: the projection's output
// [..., 2n] is read once, value · GELU(gate) [..., n] written once (no chunk copies).

extension Tensor {
    /// `hidden, gate = x.chunk(2, dim=-1); hidden * F.gelu(gate)` for x [..., 2n] → [..., n].
    /// GELU is evaluated as in ``gelu()``; the values equal the unfused ops' bit for bit.
    public func geglu() throws -> Tensor {
        guard rank >= 1, let last = shape.last, last % 2 == 0, last > 0 else {
            throw TensorError("geglu", "needs an even, non-empty last axis, got \(formatShape(shape))")
        }
        let n = last / 2
        let rows = count / last
        var out = Tensor(uninitializedShape: Array(shape.dropLast()) + [n])
        let x = storage.pointer, o = out.storage.pointer
        Parallel.forEach(rows, grain: Swift.max(1, 8192 / n)) { range in
            for r in range {
                let value = x + r * last, gate = value + n, dst = o + r * n
                var i = 0
                while i + 8 <= n {
                    let v = UnsafeRawPointer(value + i).loadUnaligned(as: SIMD8<Float>.self)
                    let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(dst + i).storeBytes(of: v * Tensor.gelu8(g), as: SIMD8<Float>.self)
                    i += 8
                }
                if i < n {
                    var v = SIMD8<Float>(repeating: 0), g = SIMD8<Float>(repeating: 0)
                    for j in 0..<(n - i) { v[j] = value[i + j]; g[j] = gate[i + j] }
                    let y = v * Tensor.gelu8(g)
                    for j in 0..<(n - i) { dst[i + j] = y[j] }
                }
            }
        }
        let input = detached()
        out.recordOp("geglu", [self]) { g in
            let halves = try! input.chunked(2, axis: -1)
            let gv = try! g * halves[1].gelu()
            let gg = try! g * halves[0] * halves[1].geluDerivative()
            return [try! Tensor.concat([gv, gg], axis: -1)]
        }
        return out
    }
}
