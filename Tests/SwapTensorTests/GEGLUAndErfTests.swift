import Foundation
import Testing
@testable import SwapTensor

/// The fused GEGLU and the vectorised erf behind GELU. GELU itself is checked against torch in
/// OpReferenceTests; here: erf against the exact libm erf, and the fused op against the unfused
/// ops it replaces (values bit for bit, gradients to rounding).
struct GEGLUAndErfTests {
    @Test func vectorisedErfIsWithinAbramowitzStegunBound() {
        var worst: Double = 0
        var x: Float = -6
        while x <= 6 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 1e-4 })
            let got = VectorMath.erf(lanes)
            for j in 0..<8 { worst = max(worst, abs(Double(got[j]) - Foundation.erf(Double(lanes[j])))) }
            x += 0.00731
        }
        // A&S 7.1.26 is within 1.5e-7 in exact arithmetic; float32 evaluation adds a few ulp of 1.
        #expect(worst <= 5e-7, "max |erf error| \(worst)")
        #expect(VectorMath.erf(SIMD8(repeating: 0))[0] == 0)
        #expect(VectorMath.erf(SIMD8(repeating: -30))[0] == -1 && VectorMath.erf(SIMD8(repeating: 30))[0] == 1)
    }

    @Test func gegluEqualsChunkGeluMultiply() throws {
        var generator = PhiloxGenerator(seed: 11)
        for shape in [[2, 3, 20], [5, 16], [1, 2, 7, 38]] {
            let x = generator.randn(shape) * 3
            let halves = try x.chunked(2, axis: -1)
            let unfused = try halves[0] * halves[1].gelu()
            #expect(try x.geglu().scalars == unfused.scalars, "\(shape)")
        }
        #expect(throws: TensorError.self) { _ = try Tensor(zeros: [2, 3]).geglu() }
    }

    @Test func gegluGradientMatchesUnfusedOps() throws {
        var generator = PhiloxGenerator(seed: 12)
        let x = generator.randn([3, 4, 18]), weight = generator.randn([3, 4, 9])
        let fusedInput = x.requiringGrad()
        try (fusedInput.geglu() * weight).sum().backward()
        let unfusedInput = x.requiringGrad()
        let halves = try unfusedInput.chunked(2, axis: -1)
        try (halves[0] * halves[1].gelu() * weight).sum().backward()
        let a = try #require(fusedInput.grad), b = try #require(unfusedInput.grad)
        let error = zip(a.scalars, b.scalars).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(error <= 1e-6, "max gradient difference \(error)")
    }
}
