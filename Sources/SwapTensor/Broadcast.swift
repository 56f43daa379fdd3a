/// NumPy/PyTorch broadcasting: shapes align on the right, and an axis of extent 1 stretches.
public enum Broadcast {
    /// The broadcast shape of `a` and `b`, or nil when they are incompatible.
    public static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if x == y || y == 1 { result[i] = x } else if x == 1 { result[i] = y } else { return nil }
        }
        return result
    }

    /// Strides that read a tensor of `shape` as if it had `target` shape (0 on stretched axes).
    static func strides(of shape: [Int], broadcastTo target: [Int]) -> [Int] {
        let own = contiguousStrides(shape)
        let offset = target.count - shape.count
        return (0..<target.count).map { i in
            i < offset || shape[i - offset] == 1 ? 0 : own[i - offset]
        }
    }
}

extension Tensor {
    /// Sums this gradient over the axes that broadcasting stretched, giving a tensor of `shape`.
    public func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let offset = rank - target.count
        var axes: [Int] = Array(0..<offset)
        for (i, extent) in target.enumerated() where extent == 1 && shape[i + offset] != 1 {
            axes.append(i + offset)
        }
        return sum(resolvedAxes: axes, keepDims: true).reshapedUnchecked(target)
    }

    /// This tensor repeated along stretched axes to `target` shape.
    public func broadcast(to target: [Int]) throws -> Tensor {
        if shape == target { return self }
        guard Broadcast.shape(shape, target) == target else {
            throw TensorError("broadcast", "shape \(formatShape(shape)) cannot broadcast to \(formatShape(target))")
        }
        var result = Tensor.broadcastBinary(self, Tensor(scalar: 0), outputShape: target) { x, _ in x }
        let source = shape
        result.recordOp("broadcast", [self]) { g in [g.sumToShape(source)] }
        return result
    }

    /// Applies `f` elementwise over the broadcast of `a` and `b`. No recording.
    static func broadcastBinary(_ a: Tensor, _ b: Tensor, outputShape: [Int],
                                _ f: @escaping (Float, Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: outputShape)
        let n = out.count
        let o = out.storage.pointer
        let pa = a.storage.pointer, pb = b.storage.pointer
        if a.shape == outputShape && b.shape == outputShape {
            Parallel.forEach(n) { r in for i in r { o[i] = f(pa[i], pb[i]) } }
            return out
        }
        if b.count == 1 && a.shape == outputShape {
            let y = pb[0]
            Parallel.forEach(n) { r in for i in r { o[i] = f(pa[i], y) } }
            return out
        }
        if a.count == 1 && b.shape == outputShape {
            let x = pa[0]
            Parallel.forEach(n) { r in for i in r { o[i] = f(x, pb[i]) } }
            return out
        }
        if n == 0 { return out }
        // General case: walk rows of the innermost axis.
        let rank = outputShape.count
        let sa = Broadcast.strides(of: a.shape, broadcastTo: outputShape)
        let sb = Broadcast.strides(of: b.shape, broadcastTo: outputShape)
        let inner = outputShape[rank - 1]
        let rows = n / inner
        let ia = sa[rank - 1], ib = sb[rank - 1]
        Parallel.forEach(rows, grain: Swift.max(1, 4096 / Swift.max(inner, 1))) { range in
            for row in range {
                // Decompose the row index into outer coordinates.
                var rem = row, offA = 0, offB = 0
                for axis in stride(from: rank - 2, through: 0, by: -1) {
                    let c = rem % outputShape[axis]
                    rem /= outputShape[axis]
                    offA += c * sa[axis]
                    offB += c * sb[axis]
                }
                let dst = o + row * inner
                for j in 0..<inner { dst[j] = f(pa[offA + j * ia], pb[offB + j * ib]) }
            }
        }
        return out
    }

    /// Applies `f` to every element. No recording.
    func mapElements(_ f: @escaping (Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let o = out.storage.pointer, p = storage.pointer
        Parallel.forEach(count) { r in for i in r { o[i] = f(p[i]) } }
        return out
    }

    /// Combines this tensor and `other` elementwise with `f` after broadcasting. No recording.
    func zipElements(_ other: Tensor, _ name: String, _ f: @escaping (Float, Float) -> Float) throws -> Tensor {
        guard let outputShape = Broadcast.shape(shape, other.shape) else {
            throw TensorError(name, "shapes \(formatShape(shape)) and \(formatShape(other.shape)) do not broadcast")
        }
        return Tensor.broadcastBinary(self, other, outputShape: outputShape, f)
    }
}
