/// Weights kept in 16-bit storage (IEEE half or bfloat16) and widened to Float32 on use.
///
/// Stable Diffusion checkpoints ship in half precision; keeping them that way halves resident
/// memory. `float()` converts with F16C (half) or a shift (bfloat16).
public struct HalfTensor: Sendable {
    public enum Format: String, Sendable { case float16 = "F16", bfloat16 = "BF16" }

    public let shape: [Int]
    public let format: Format
    /// The raw 16-bit values in row-major order.
    public let bits: [UInt16]

    public init(shape: [Int], format: Format, bits: [UInt16]) throws {
        guard shape.reduce(1, *) == bits.count else {
            throw TensorError("half_tensor", "\(bits.count) values do not fit shape \(formatShape(shape))")
        }
        self.shape = shape
        self.format = format
        self.bits = bits
    }

    /// Rounds a Float32 tensor to 16-bit storage (round to nearest even).
    public init(_ tensor: Tensor, format: Format) {
        shape = tensor.shape
        self.format = format
        bits = tensor.withUnsafeBufferPointer { src in
            switch format {
            case .float16: return src.map { Float16($0).bitPattern }
            case .bfloat16: return src.map { HalfTensor.bfloat16Bits($0) }
            }
        }
    }

    /// The values widened to Float32.
    public func float() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let n = bits.count
        bits.withUnsafeBufferPointer { src in
            let s = src.baseAddress!, d = out.pointer
            switch format {
            case .float16:
                Parallel.forEach(n, grain: 65536) { r in
                    for i in r { d[i] = Float(Float16(bitPattern: s[i])) }
                }
            case .bfloat16:
                Parallel.forEach(n, grain: 65536) { r in
                    for i in r { d[i] = Float(bitPattern: UInt32(s[i]) << 16) }
                }
            }
        }
        return out
    }

    /// Float32 → bfloat16 with round-to-nearest-even; NaN stays NaN.
    static func bfloat16Bits(_ x: Float) -> UInt16 {
        if x.isNaN { return 0x7FC0 }
        let b = x.bitPattern
        let rounding = 0x7FFF + ((b >> 16) & 1)
        return UInt16(truncatingIfNeeded: (b &+ rounding) >> 16)
    }
}
