// Reductions over any set of axes: sum, mean, max, variance. Sums accumulate in Double in a
// fixed order, so they are bit-identical for every thread count.

extension Tensor {
    /// Normalises negative axes and checks them.
    func resolveAxes(_ axes: [Int], _ op: String) throws -> [Int] {
        var result: [Int] = []
        for axis in axes {
            let a = axis < 0 ? axis + rank : axis
            guard a >= 0 && a < rank else {
                throw TensorError(op, "axis \(axis) is out of range for shape \(formatShape(shape))")
            }
            if !result.contains(a) { result.append(a) }
        }
        return result.sorted()
    }

    /// Moves `axes` to the end and reshapes to [kept, reduced]: the layout every reduction uses.
    private func rowsForReduction(_ axes: [Int]) -> (rows: Tensor, keptShape: [Int], reduced: Int) {
        let kept = (0..<rank).filter { !axes.contains($0) }
        let keptShape = kept.map { shape[$0] }
        let reduced = axes.reduce(1) { $0 * shape[$1] }
        let isTrailing = axes == Array((rank - axes.count)..<rank)
        let moved = isTrailing ? self.detached() : try! self.detached().permuted(kept + axes)
        return (moved.reshapedUnchecked([keptShape.reduce(1, *), reduced]), keptShape, reduced)
    }

    private func reducedShape(_ axes: [Int], keepDims: Bool) -> [Int] {
        keepDims ? shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
                 : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    }

    /// Applies `rowReduce` to each row of the [kept, reduced] layout.
    private func reduceRows(_ axes: [Int], keepDims: Bool,
                            _ rowReduce: @escaping (UnsafePointer<Float>, Int) -> Float) -> Tensor {
        let (rows, _, reduced) = rowsForReduction(axes)
        let out = Tensor(uninitializedShape: reducedShape(axes, keepDims: keepDims))
        let o = out.storage.pointer, p = rows.storage.pointer
        let rowCount = rows.shape[0]
        if rowCount == 1 {
            o[0] = rowReduce(p, reduced)
        } else {
            Parallel.forEach(rowCount, grain: Swift.max(1, 16384 / Swift.max(reduced, 1))) { r in
                for row in r { o[row] = rowReduce(p + row * reduced, reduced) }
            }
        }
        return out
    }

    /// The sum of a contiguous run, in Double, chunked in a fixed order.
    static func sumRun(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        Float(Parallel.deterministicSum(n) { r in
            var acc = SIMD8<Double>()
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
                acc += SIMD8<Double>(v)
                i += 8
            }
            var s = acc.sum()
            while i < r.upperBound { s += Double(p[i]); i += 1 }
            return s
        })
    }

    /// The sum of all elements, as a rank-0 tensor.
    public func sum() -> Tensor { sum(resolvedAxes: Array(0..<rank), keepDims: false) }

    /// `torch.sum(x, dim=axes, keepdim=keepDims)`.
    public func sum(axes: [Int], keepDims: Bool = false) throws -> Tensor {
        sum(resolvedAxes: try resolveAxes(axes, "sum"), keepDims: keepDims)
    }

    func sum(resolvedAxes axes: [Int], keepDims: Bool) -> Tensor {
        var out = reduceRows(axes, keepDims: keepDims, Tensor.sumRun)
        let inputShape = shape, keptShape = reducedShape(axes, keepDims: true)
        out.recordOp("sum", [self]) { g in [try! g.reshaped(keptShape).broadcast(to: inputShape)] }
        return out
    }

    /// The mean of all elements, as a rank-0 tensor.
    public func mean() -> Tensor { mean(resolvedAxes: Array(0..<rank), keepDims: false) }

    /// `torch.mean(x, dim=axes, keepdim=keepDims)`.
    public func mean(axes: [Int], keepDims: Bool = false) throws -> Tensor {
        mean(resolvedAxes: try resolveAxes(axes, "mean"), keepDims: keepDims)
    }

    func mean(resolvedAxes axes: [Int], keepDims: Bool) -> Tensor {
        let n = axes.reduce(1) { $0 * shape[$1] }
        return sum(resolvedAxes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// The largest element, as a rank-0 tensor.
    public func max() -> Tensor { max(resolvedAxes: Array(0..<rank), keepDims: false) }

    /// `torch.amax(x, dim=axes, keepdim=keepDims)`. The gradient is shared equally among ties.
    public func max(axes: [Int], keepDims: Bool = false) throws -> Tensor {
        max(resolvedAxes: try resolveAxes(axes, "max"), keepDims: keepDims)
    }

    func max(resolvedAxes axes: [Int], keepDims: Bool) -> Tensor {
        var out = reduceRows(axes, keepDims: keepDims) { p, n in
            var m = -Float.infinity
            for i in 0..<n where p[i] > m || p[i].isNaN { m = p[i]; if m.isNaN { break } }
            return m
        }
        let x = detached(), keptShape = reducedShape(axes, keepDims: true)
        let y = out.detached().reshapedUnchecked(keptShape)
        out.recordOp("max", [self]) { g in
            let hits = try! x.zipElements(y, "max") { $0 == $1 ? 1 : 0 }
            let ties = hits.sum(resolvedAxes: axes, keepDims: true)
            return [try! hits * (g.reshapedUnchecked(keptShape) / ties)]
        }
        return out
    }

    /// The smallest element, as a rank-0 tensor.
    public func min() -> Tensor { negated().max().negated() }

    /// `torch.amin(x, dim=axes, keepdim=keepDims)`.
    public func min(axes: [Int], keepDims: Bool = false) throws -> Tensor {
        try negated().max(axes: axes, keepDims: keepDims).negated()
    }

    /// The variance of all elements (`torch.var(x, unbiased=unbiased)`).
    public func variance(unbiased: Bool = false) -> Tensor {
        variance(resolvedAxes: Array(0..<rank), unbiased: unbiased, keepDims: false)
    }

    /// `torch.var(x, dim=axes, unbiased=unbiased, keepdim=keepDims)`, two-pass.
    public func variance(axes: [Int], unbiased: Bool = false, keepDims: Bool = false) throws -> Tensor {
        variance(resolvedAxes: try resolveAxes(axes, "var"), unbiased: unbiased, keepDims: keepDims)
    }

    func variance(resolvedAxes axes: [Int], unbiased: Bool, keepDims: Bool) -> Tensor {
        let n = axes.reduce(1) { $0 * shape[$1] }
        let centred = try! self - mean(resolvedAxes: axes, keepDims: true)
        let divisor = Float(Swift.max(unbiased ? n - 1 : n, 1))
        return centred.squared().sum(resolvedAxes: axes, keepDims: keepDims) * (1 / divisor)
    }

    /// Index of the largest element of each row along the last axis (no gradient).
    public func argmaxLastAxis() -> [Int] {
        let n = shape.last ?? 1
        let rows = count / Swift.max(n, 1)
        let p = storage.pointer
        return (0..<rows).map { row in
            var best = 0
            for i in 1..<Swift.max(n, 1) where p[row * n + i] > p[row * n + best] { best = i }
            return best
        }
    }
}
