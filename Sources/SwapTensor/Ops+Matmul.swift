// Matrix products through cblas_sgemm: matmul, batched matmul and the linear layer.

extension Tensor {
    /// `torch.matmul` for rank ≥ 2: [..., m, k] × [..., k, n] → [..., m, n]. Batch axes must
    /// match, or `other` may be a plain matrix shared by every batch item.
    public func matmul(_ other: Tensor) throws -> Tensor {
        guard rank >= 2, other.rank >= 2 else {
            throw TensorError("matmul", "needs matrices, got \(formatShape(shape)) and \(formatShape(other.shape))")
        }
        let (m, k) = (shape[rank - 2], shape[rank - 1])
        let (k2, n) = (other.shape[other.rank - 2], other.shape[other.rank - 1])
        guard k == k2 else {
            throw TensorError("matmul", "inner dimensions differ: \(formatShape(shape)) × \(formatShape(other.shape))")
        }
        let batchShape = Array(shape.dropLast(2))
        let otherBatch = Array(other.shape.dropLast(2))
        let sharedRight = otherBatch.reduce(1, *) == 1
        guard sharedRight || batchShape == otherBatch else {
            throw TensorError("matmul", "batch axes differ: \(formatShape(shape)) × \(formatShape(other.shape))")
        }
        let batch = batchShape.reduce(1, *)
        var out = Tensor(uninitializedShape: batchShape + [m, n])
        let (a, b, c) = (storage.pointer, other.storage.pointer, out.storage.pointer)
        if sharedRight {
            // One big GEMM: stack the batch into rows.
            BLAS.gemm(m: batch * m, n: n, k: k, a: a, b: b, c: c)
        } else {
            for i in 0..<batch {
                BLAS.gemm(m: m, n: n, k: k, a: a + i * m * k, b: b + i * k * n, c: c + i * m * n)
            }
        }
        let (x, y) = (detached(), other.detached())
        out.recordOp("matmul", [self, other]) { g in
            let gx = self.requiresGrad ? try! g.matmul(y.transposedLastTwo()) : nil
            var gy: Tensor? = nil
            if other.requiresGrad {
                if sharedRight {
                    // Σ_batch xᵀ g = (x as [batch·m, k])ᵀ · (g as [batch·m, n])
                    let r = Tensor(uninitializedShape: [k, n])
                    BLAS.gemm(transA: true, m: k, n: n, k: batch * m, a: x.storage.pointer,
                              b: g.storage.pointer, c: r.storage.pointer)
                    gy = r.reshapedUnchecked(y.shape)
                } else {
                    gy = try! x.transposedLastTwo().matmul(g)
                }
            }
            return [gx, gy]
        }
        return out
    }

    /// `torch.nn.functional.linear`: x [..., in] · weightᵀ [in, out] + bias [out].
    public func linear(weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        guard weight.rank == 2, let inFeatures = shape.last, weight.shape[1] == inFeatures else {
            throw TensorError("linear", "input \(formatShape(shape)) does not match weight \(formatShape(weight.shape)) (expected [out, \(shape.last ?? 0)])")
        }
        let outFeatures = weight.shape[0]
        if let bias, bias.shape != [outFeatures] {
            throw TensorError("linear", "bias \(formatShape(bias.shape)) does not match \(outFeatures) outputs")
        }
        let rows = count / Swift.max(inFeatures, 1)
        var out = Tensor(uninitializedShape: Array(shape.dropLast()) + [outFeatures])
        let c = out.storage.pointer
        if let bias {
            let bp = bias.storage.pointer
            Parallel.forEach(rows, grain: Swift.max(1, 16384 / Swift.max(outFeatures, 1))) { range in
                for r in range { (c + r * outFeatures).update(from: bp, count: outFeatures) }
            }
        }
        BLAS.gemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: storage.pointer,
                  b: weight.storage.pointer, beta: bias == nil ? 0 : 1, c: c)
        let (x, w) = (detached(), weight.detached())
        out.recordOp("linear", bias.map { [self, weight, $0] } ?? [self, weight]) { g in
            var gx: Tensor? = nil, gw: Tensor? = nil
            if self.requiresGrad {
                let r = Tensor(uninitializedShape: x.shape)
                BLAS.gemm(m: rows, n: inFeatures, k: outFeatures, a: g.storage.pointer,
                          b: w.storage.pointer, c: r.storage.pointer)
                gx = r
            }
            if weight.requiresGrad {
                let r = Tensor(uninitializedShape: w.shape)
                BLAS.gemm(transA: true, m: outFeatures, n: inFeatures, k: rows, a: g.storage.pointer,
                          b: x.storage.pointer, c: r.storage.pointer)
                gw = r
            }
            let gb = bias?.requiresGrad == true ? g.reshapedUnchecked([rows, outFeatures]).sum(resolvedAxes: [0], keepDims: false) : nil
            return bias == nil ? [gx, gw] : [gx, gw, gb]
        }
        return out
    }
}
