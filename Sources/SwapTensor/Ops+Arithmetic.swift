import Foundation

// Broadcasting arithmetic between tensors, and with scalars. Tensor–tensor operators throw a
// `TensorError` when the shapes do not broadcast.

extension Tensor {
    public static func + (a: Tensor, b: Tensor) throws -> Tensor {
        var out = try a.zipElements(b, "add") { $0 + $1 }
        let (sa, sb) = (a.shape, b.shape)
        out.recordOp("add", [a, b]) { g in [g.sumToShape(sa), g.sumToShape(sb)] }
        return out
    }

    public static func - (a: Tensor, b: Tensor) throws -> Tensor {
        var out = try a.zipElements(b, "sub") { $0 - $1 }
        let (sa, sb) = (a.shape, b.shape)
        out.recordOp("sub", [a, b]) { g in [g.sumToShape(sa), g.negated().sumToShape(sb)] }
        return out
    }

    public static func * (a: Tensor, b: Tensor) throws -> Tensor {
        var out = try a.zipElements(b, "mul") { $0 * $1 }
        let (da, db) = (a.detached(), b.detached())
        out.recordOp("mul", [a, b]) { g in
            [a.requiresGrad ? (try! g * db).sumToShape(da.shape) : nil,
             b.requiresGrad ? (try! g * da).sumToShape(db.shape) : nil]
        }
        return out
    }

    public static func / (a: Tensor, b: Tensor) throws -> Tensor {
        var out = try a.zipElements(b, "div") { $0 / $1 }
        let (da, db) = (a.detached(), b.detached())
        out.recordOp("div", [a, b]) { g in
            let ga = a.requiresGrad ? (try! g / db).sumToShape(da.shape) : nil
            // d(a/b)/db = -a / b²
            let gb = b.requiresGrad
                ? (try! g * da.zipElements(db, "div") { x, y in -x / (y * y) }).sumToShape(db.shape) : nil
            return [ga, gb]
        }
        return out
    }

    // MARK: Scalars

    public static func + (a: Tensor, s: Float) -> Tensor {
        var out = a.mapElements { $0 + s }
        out.recordOp("add_scalar", [a]) { g in [g] }
        return out
    }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    public static func - (s: Float, a: Tensor) -> Tensor { a.negated() + s }

    public static func * (a: Tensor, s: Float) -> Tensor {
        var out = a.mapElements { $0 * s }
        out.recordOp("mul_scalar", [a]) { g in [g * s] }
        return out
    }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }

    public static prefix func - (a: Tensor) -> Tensor { a.negated() }

    /// Elementwise negation.
    public func negated() -> Tensor {
        var out = mapElements { -$0 }
        out.recordOp("neg", [self]) { g in [g.negated()] }
        return out
    }

    /// Elementwise power with a scalar exponent.
    public func pow(_ exponent: Float) -> Tensor {
        var out = mapElements { Foundation.pow($0, exponent) }
        let x = detached()
        out.recordOp("pow", [self]) { g in
            [try! g * x.mapElements { exponent * Foundation.pow($0, exponent - 1) }]
        }
        return out
    }

    /// Elementwise square.
    public func squared() -> Tensor {
        var out = mapElements { $0 * $0 }
        let x = detached()
        out.recordOp("square", [self]) { g in [try! g * (x * 2)] }
        return out
    }

    /// Elementwise maximum with another tensor (gradient goes to the larger; ties to `self`).
    public func maximum(_ other: Tensor) throws -> Tensor {
        var out = try zipElements(other, "maximum") { Swift.max($0, $1) }
        let (x, y) = (detached(), other.detached())
        out.recordOp("maximum", [self, other]) { g in
            let pick = try! x.zipElements(y, "maximum") { $0 >= $1 ? 1 : 0 }
            return [(try! g * pick).sumToShape(x.shape), (try! g * (1 - pick)).sumToShape(y.shape)]
        }
        return out
    }

    /// Clamps every element into `[low, high]` (gradient 0 where clamped).
    public func clamped(min low: Float, max high: Float) -> Tensor {
        var out = mapElements { Swift.min(Swift.max($0, low), high) }
        let x = detached()
        out.recordOp("clamp", [self]) { g in
            [try! g * x.mapElements { $0 >= low && $0 <= high ? 1 : 0 }]
        }
        return out
    }

    /// In-place `self += other * scale` for same-shaped tensors (optimiser updates; no recording).
    public mutating func addScaled(_ other: Tensor, _ scale: Float) {
        precondition(other.shape == shape, "addScaled: \(shape) vs \(other.shape)")
        let src = other.storage.pointer
        withUnsafeMutableBufferPointer { dst in
            let d = dst.baseAddress!
            Parallel.forEach(dst.count) { r in for i in r { d[i] += scale * src[i] } }
        }
        gradNode = nil
    }
}
