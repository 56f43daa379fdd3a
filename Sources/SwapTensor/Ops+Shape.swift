// Shape operations: reshape, permute, slice, concat, split, index_select. Everything except
// reshape materialises a contiguous result.

extension Tensor {
    /// `torch.reshape`. One extent may be -1 and is inferred. Shares storage.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var resolved = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != hole }.reduce(1) { $0 * $1.element }
            guard newShape.filter({ $0 == -1 }).count == 1, known > 0, count % known == 0 else {
                throw TensorError("reshape", "cannot reshape \(formatShape(shape)) to \(formatShape(newShape))")
            }
            resolved[hole] = count / known
        }
        guard resolved.allSatisfy({ $0 >= 0 }), resolved.reduce(1, *) == count else {
            throw TensorError("reshape", "cannot reshape \(formatShape(shape)) (\(count) elements) to \(formatShape(newShape))")
        }
        var out = Tensor(shape: resolved, storage: storage)
        let inputShape = shape
        out.recordOp("reshape", [self]) { g in [try! g.reshaped(inputShape)] }
        return out
    }

    /// Inserts an axis of extent 1 at `axis`.
    public func unsqueezed(_ axis: Int) throws -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        guard a >= 0 && a <= rank else { throw TensorError("unsqueeze", "axis \(axis) out of range for \(formatShape(shape))") }
        var s = shape
        s.insert(1, at: a)
        return try reshaped(s)
    }

    /// `torch.permute`: axis i of the result is axis `order[i]` of this tensor.
    public func permuted(_ order: [Int]) throws -> Tensor {
        guard order.count == rank, order.sorted() == Array(0..<rank) else {
            throw TensorError("permute", "order \(order) is not a permutation of the axes of \(formatShape(shape))")
        }
        if order == Array(0..<rank) { return self }
        let newShape = order.map { shape[$0] }
        let srcStrides = contiguousStrides(shape)
        let readStrides = order.map { srcStrides[$0] }
        var out = Tensor(uninitializedShape: newShape)
        let o = out.storage.pointer, p = storage.pointer
        let r = newShape.count
        let inner = newShape[r - 1], innerStride = readStrides[r - 1]
        let rows = count / Swift.max(inner, 1)
        if count > 0 {
            Parallel.forEach(rows, grain: Swift.max(1, 8192 / Swift.max(inner, 1))) { range in
                for row in range {
                    var rem = row, off = 0
                    for axis in stride(from: r - 2, through: 0, by: -1) {
                        off += (rem % newShape[axis]) * readStrides[axis]
                        rem /= newShape[axis]
                    }
                    let dst = o + row * inner
                    if innerStride == 1 {
                        dst.update(from: p + off, count: inner)
                    } else {
                        for j in 0..<inner { dst[j] = p[off + j * innerStride] }
                    }
                }
            }
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        out.recordOp("permute", [self]) { g in [try! g.permuted(inverse)] }
        return out
    }

    /// Swaps the last two axes.
    public func transposedLastTwo() throws -> Tensor {
        guard rank >= 2 else { throw TensorError("transpose", "needs rank ≥ 2, got \(formatShape(shape))") }
        var order = Array(0..<rank)
        order.swapAt(rank - 1, rank - 2)
        return try permuted(order)
    }

    /// `x[..., start:end:step, ...]` along one axis. Negative bounds count from the end; bounds
    /// are clipped like Python slices.
    public func sliced(axis: Int, start: Int, end: Int, step: Int = 1) throws -> Tensor {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < rank else { throw TensorError("slice", "axis \(axis) out of range for \(formatShape(shape))") }
        guard step > 0 else { throw TensorError("slice", "step must be positive, got \(step)") }
        let n = shape[a]
        func clip(_ i: Int) -> Int { Swift.min(Swift.max(i < 0 ? i + n : i, 0), n) }
        let lo = clip(start), hi = Swift.max(clip(end), clip(start))
        let picked = Array(stride(from: lo, to: hi, by: step))
        return try indexSelect(axis: a, picked)
    }

    /// `torch.index_select`: the entries `indices` along `axis` (repeats allowed).
    public func indexSelect(axis: Int, _ indices: [Int]) throws -> Tensor {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < rank else { throw TensorError("index_select", "axis \(axis) out of range for \(formatShape(shape))") }
        let n = shape[a]
        guard indices.allSatisfy({ $0 >= 0 && $0 < n }) else {
            throw TensorError("index_select", "index out of range 0..<\(n) on axis \(a) of \(formatShape(shape))")
        }
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        var newShape = shape
        newShape[a] = indices.count
        var out = Tensor(uninitializedShape: newShape)
        let o = out.storage.pointer, p = storage.pointer
        let k = indices.count
        Parallel.forEach(outer * k, grain: Swift.max(1, 8192 / Swift.max(inner, 1))) { range in
            for job in range {
                let (i, j) = job.quotientAndRemainder(dividingBy: k)
                (o + (i * k + j) * inner).update(from: p + (i * n + indices[j]) * inner, count: inner)
            }
        }
        let inputShape = shape
        out.recordOp("index_select", [self]) { g in
            let grad = Tensor(zeros: inputShape)
            let gp = g.storage.pointer, dst = grad.storage.pointer
            // Serial over j so repeated indices accumulate in a fixed order.
            Parallel.forEach(outer, grain: 1) { range in
                for i in range {
                    for j in 0..<k {
                        let d = dst + (i * n + indices[j]) * inner, s = gp + (i * k + j) * inner
                        for e in 0..<inner { d[e] += s[e] }
                    }
                }
            }
            return [grad]
        }
        return out
    }

    /// `torch.cat(tensors, dim=axis)`.
    public static func concat(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        guard let first = tensors.first else { throw TensorError("concat", "needs at least one tensor") }
        let a = axis < 0 ? axis + first.rank : axis
        guard a >= 0 && a < first.rank else {
            throw TensorError("concat", "axis \(axis) out of range for \(formatShape(first.shape))")
        }
        for t in tensors where t.rank != first.rank || (0..<first.rank).contains(where: { $0 != a && t.shape[$0] != first.shape[$0] }) {
            throw TensorError("concat", "shapes " + tensors.map { formatShape($0.shape) }.joined(separator: ", ")
                              + " differ outside axis \(a)")
        }
        var newShape = first.shape
        newShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
        var out = Tensor(uninitializedShape: newShape)
        let o = out.storage.pointer
        let total = newShape[a] * inner
        var offset = 0
        for t in tensors {
            let width = t.shape[a] * inner, p = t.storage.pointer, base = offset
            Parallel.forEach(outer, grain: Swift.max(1, 8192 / Swift.max(width, 1))) { range in
                for i in range { (o + i * total + base).update(from: p + i * width, count: width) }
            }
            offset += width
        }
        let extents = tensors.map { $0.shape[a] }
        out.recordOp("concat", tensors) { g in try! g.split(axis: a, sizes: extents) }
        return out
    }

    /// `torch.split(x, sizes, dim=axis)`.
    public func split(axis: Int, sizes: [Int]) throws -> [Tensor] {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < rank else { throw TensorError("split", "axis \(axis) out of range for \(formatShape(shape))") }
        guard sizes.reduce(0, +) == shape[a], sizes.allSatisfy({ $0 >= 0 }) else {
            throw TensorError("split", "sizes \(sizes) do not add up to \(shape[a]) on axis \(a) of \(formatShape(shape))")
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try sliced(axis: a, start: start, end: start + size)
        }
    }

    /// Splits into `parts` equal chunks along `axis` (`torch.chunk` with an exact division).
    public func chunked(_ parts: Int, axis: Int) throws -> [Tensor] {
        let a = axis < 0 ? axis + rank : axis
        guard parts > 0, a >= 0, a < rank, shape[a] % parts == 0 else {
            throw TensorError("chunk", "cannot split axis \(axis) of \(formatShape(shape)) into \(parts) equal parts")
        }
        return try split(axis: a, sizes: Array(repeating: shape[a] / parts, count: parts))
    }
}

extension Tensor {
    /// Reshape for internal callers that already know the element counts agree.
    func reshapedUnchecked(_ newShape: [Int]) -> Tensor { try! reshaped(newShape) }
}
