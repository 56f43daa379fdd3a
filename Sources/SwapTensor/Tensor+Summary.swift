import Foundation

/// Statistics of a tensor's values, for one-line displays.
public struct TensorSummary: Sendable {
    public let shape: [Int]
    public let min, max, mean, std: Float
    public let nanCount, infCount: Int

    /// `Tensor [1,4,64,64] f32  min -3.12  max 2.98  mean 0.0012  std 0.998` plus NaN/Inf counts.
    public var line: String {
        func f(_ x: Float) -> String { String(format: Swift.abs(x) >= 1e4 || (x != 0 && Swift.abs(x) < 1e-3) ? "%.3e" : "%.4f", x) }
        var s = "Tensor \(formatShape(shape)) f32"
        if shape.reduce(1, *) > 0 { s += "  min \(f(min))  max \(f(max))  mean \(f(mean))  std \(f(std))" }
        if nanCount > 0 { s += "  NaN \(nanCount)" }
        if infCount > 0 { s += "  Inf \(infCount)" }
        return s
    }
}

extension Tensor {
    /// Min, max, mean and (population) std over the finite values, and NaN/Inf counts.
    public var summary: TensorSummary {
        var lo = Float.infinity, hi = -Float.infinity
        var s = 0.0, s2 = 0.0, nan = 0, inf = 0, finite = 0
        withUnsafeBufferPointer { buf in
            for x in buf {
                if x.isNaN { nan += 1; continue }
                if x.isInfinite { inf += 1; continue }
                finite += 1
                lo = Swift.min(lo, x); hi = Swift.max(hi, x)
                s += Double(x); s2 += Double(x) * Double(x)
            }
        }
        let n = Double(Swift.max(finite, 1))
        let mean = s / n
        let variance = Swift.max(s2 / n - mean * mean, 0)
        return TensorSummary(shape: shape, min: finite > 0 ? lo : .nan, max: finite > 0 ? hi : .nan,
                             mean: Float(mean), std: Float(variance.squareRoot()), nanCount: nan, infCount: inf)
    }

    /// Whether any element is NaN or infinite.
    public var hasNonFinite: Bool { withUnsafeBufferPointer { $0.contains { !$0.isFinite } } }
}

extension Tensor: CustomStringConvertible {
    public var description: String { summary.line }
}
