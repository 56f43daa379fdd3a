import Testing
@testable import SwapTensor

/// Half and bfloat16 weight storage against torch's own rounding (`x.half()`, `x.bfloat16()`).
/// Fixture: Fixtures/ops.safetensors (`half.*`), made by tools/reference/make_op_fixtures.py.
/// Exact: every bit pattern must match (NaN only needs to stay NaN).
struct HalfTensorTests {
    static func torchBits(_ name: String) throws -> [UInt16] {
        try OpFixtures.tensor(name).scalars.map { UInt16(bitPattern: Int16($0)) }
    }

    @Test(arguments: [HalfTensor.Format.float16, .bfloat16])
    func roundingAndWideningMatchTorch(_ format: HalfTensor.Format) throws {
        let input = try OpFixtures.tensor("half.in")
        let expected = try Self.torchBits(format == .float16 ? "half.f16" : "half.bf16")
        let half = HalfTensor(input, format: format)
        for (i, (mine, theirs)) in zip(half.bits, expected).enumerated() {
            let x = input.scalars[i]
            if x.isNaN { continue }
            #expect(mine == theirs, "\(format) of \(x): \(String(mine, radix: 16)) vs torch \(String(theirs, radix: 16))")
        }
        // Widening back is exact: compare with the value the bits denote.
        let widened = half.float().scalars
        for (i, bits) in expected.enumerated() where !input.scalars[i].isNaN {
            let value = format == .float16 ? Float(Float16(bitPattern: bits)) : Float(bitPattern: UInt32(bits) << 16)
            #expect(widened[i].bitPattern == value.bitPattern)
        }
        #expect(widened[input.scalars.firstIndex { $0.isNaN }!].isNaN)
    }

    @Test func shapeMismatchThrows() {
        #expect(throws: TensorError.self) { try HalfTensor(shape: [2, 2], format: .float16, bits: [0, 0, 0]) }
    }
}
