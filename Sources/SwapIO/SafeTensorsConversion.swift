// Element conversions between safetensors dtypes and Float32.
//
// All loops work on raw pointers with unaligned loads (a header whose length is not a multiple
// of 8 leaves the data buffer unaligned), perform no allocation, and vectorise in release
// builds. The data is little-endian, as is every machine this project targets.

public enum SafeTensorsConversion {
    /// Converts `count` elements of `dtype` at `source` to Float32 at `destination`.
    /// Returns false (writing nothing) when the dtype has no Float32 conversion
    /// (see `SafeTensorsDtype.convertsToFloat`).
    @discardableResult
    public static func toFloat(_ dtype: SafeTensorsDtype, from source: UnsafeRawPointer,
                               count: Int, into destination: UnsafeMutablePointer<Float>) -> Bool {
        switch dtype {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .f16: halfToFloat(source, count: count, into: destination)
        case .bf16: bfloat16ToFloat(source, count: count, into: destination)
        case .f64: convert(source, Double.self, count, destination) { Float($0) }
        case .i64: convert(source, Int64.self, count, destination) { Float($0) }
        case .u64: convert(source, UInt64.self, count, destination) { Float($0) }
        case .i32: convert(source, Int32.self, count, destination) { Float($0) }
        case .u32: convert(source, UInt32.self, count, destination) { Float($0) }
        case .i16: convert(source, Int16.self, count, destination) { Float($0) }
        case .u16: convert(source, UInt16.self, count, destination) { Float($0) }
        case .i8: convert(source, Int8.self, count, destination) { Float($0) }
        case .u8: convert(source, UInt8.self, count, destination) { Float($0) }
        case .bool: convert(source, UInt8.self, count, destination) { $0 != 0 ? 1 : 0 }
        case .f8e4m3:
            let table = f8e4m3Table
            table.withUnsafeBufferPointer { t in
                convert(source, UInt8.self, count, destination) { t[Int($0)] }
            }
        case .f8e5m2:
            // E5M2 is the upper byte of an IEEE binary16.
            convert(source, UInt8.self, count, destination) { Float(Float16(bitPattern: UInt16($0) << 8)) }
        case .f4, .f6e2m3, .f6e3m2, .f8e8m0, .f8e4m3fnuz, .f8e5m2fnuz, .c64:
            return false
        }
        return true
    }

    /// IEEE binary16 → Float32 (exact; NaN payloads kept in the high mantissa bits).
    public static func halfToFloat(_ source: UnsafeRawPointer, count: Int,
                                   into destination: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let bits = source.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self)
            destination[i] = Float(Float16(bitPattern: bits))
        }
    }

    /// bfloat16 → Float32 (exact: the 16 bits become the upper half of the Float32).
    public static func bfloat16ToFloat(_ source: UnsafeRawPointer, count: Int,
                                       into destination: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let bits = source.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self)
            destination[i] = Float(bitPattern: UInt32(bits) &<< 16)
        }
    }

    /// Float32 → IEEE binary16, round to nearest even (overflow → ±inf, NaN stays NaN),
    /// as torch's `.half()`.
    public static func floatToHalf(_ source: UnsafePointer<Float>, count: Int,
                                   into destination: UnsafeMutableRawPointer) {
        for i in 0..<count {
            destination.storeBytes(of: Float16(source[i]).bitPattern, toByteOffset: 2 &* i, as: UInt16.self)
        }
    }

    /// Float32 → bfloat16, round to nearest even, as torch's `.bfloat16()` for every non-NaN
    /// input. NaN becomes the quiet NaN 0x7FC0 with the input's sign (torch's CPU kernels are not
    /// consistent here: the vectorised path gives 0xFFFF, the scalar path 0x7FC0).
    public static func floatToBFloat16(_ source: UnsafePointer<Float>, count: Int,
                                       into destination: UnsafeMutableRawPointer) {
        for i in 0..<count {
            destination.storeBytes(of: bfloat16Bits(source[i]), toByteOffset: 2 &* i, as: UInt16.self)
        }
    }

    /// The bfloat16 bit pattern nearest to `value` (ties to even).
    @inline(__always)
    public static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000) | 0x7FC0 }
        let roundingBias: UInt32 = 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    @inline(__always)
    static func convert<T: BitwiseCopyable>(_ source: UnsafeRawPointer, _: T.Type, _ count: Int,
                                            _ destination: UnsafeMutablePointer<Float>,
                                            _ body: (T) -> Float) {
        let stride = MemoryLayout<T>.size
        for i in 0..<count {
            destination[i] = body(source.loadUnaligned(fromByteOffset: stride &* i, as: T.self))
        }
    }

    /// F8_E4M3 ("fn" variant, as torch.float8_e4m3fn): bias 7, no infinities,
    /// S.1111.111 is NaN; all other codes finite (max 448).
    static let f8e4m3Table: [Float] = (0..<256).map { code -> Float in
        let sign: Float = code & 0x80 != 0 ? -1 : 1
        let exponent = (code >> 3) & 0xF
        let mantissa = code & 0x7
        if exponent == 0xF && mantissa == 0x7 { return sign * Float.nan }
        if exponent == 0 { return sign * Float(mantissa) / 8 * Float(sign: .plus, exponent: -6, significand: 1) }
        return sign * (1 + Float(mantissa) / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
    }
}
