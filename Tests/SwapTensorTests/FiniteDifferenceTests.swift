import Foundation
import Testing
@testable import SwapTensor

/// Every op's gradient against central finite differences of L = Σ out·w, on the same inputs
/// as the PyTorch cases (Fixtures/ops.safetensors, made by tools/reference/make_op_fixtures.py).
///
/// Float32 with step h = 1e-2: truncation error O(h²) and rounding error about 1e-5/h, so the
/// tolerance is |analytic − numeric| ≤ 5e-3 + 2e-2·|numeric|. Coordinates whose one-sided
/// differences disagree (a kink of relu, abs, clamp, max within h) are skipped, and at least
/// half of the probed coordinates of every input must be checked.
struct FiniteDifferenceTests {
    @Test(arguments: OpReferenceTests.cases.keys.sorted())
    func gradientMatchesFiniteDifferences(_ name: String) throws {
        let op = try #require(OpReferenceTests.cases[name])
        let inputs = OpFixtures.inputs(name)
        let seed = try OpFixtures.tensor("\(name).seed")
        func loss(_ xs: [Tensor]) throws -> Float {
            try GradMode.withoutGradient { try (op(xs)[0] * seed).sum().item }
        }
        let leaves = inputs.map { $0.requiringGrad() }
        let analytic = try (op(leaves)[0] * seed).sum().gradient(with: leaves)
        let h: Float = 1e-2
        for (i, input) in inputs.enumerated() {
            // Probe up to 16 coordinates spread over the tensor.
            let probes = Array(Set(stride(from: 0, to: input.count, by: max(1, input.count / 16)).map { $0 }))
            var checked = 0
            for j in probes {
                var plus = inputs, minus = inputs
                plus[i].withUnsafeMutableBufferPointer { $0[j] += h }
                minus[i].withUnsafeMutableBufferPointer { $0[j] -= h }
                let (lp, l0, lm) = (try loss(plus), try loss(inputs), try loss(minus))
                let forward = (lp - l0) / h, backward = (l0 - lm) / h
                if abs(forward - backward) > 0.05 + 0.05 * abs(forward) { continue }  // a kink
                let numeric = (lp - lm) / (2 * h)
                let a = analytic[i].scalars[j]
                #expect(abs(a - numeric) <= 5e-3 + 2e-2 * abs(numeric),
                        "\(name) input \(i) element \(j): analytic \(a), numeric \(numeric)")
                checked += 1
            }
            #expect(checked * 2 >= probes.count, "\(name) input \(i): only \(checked) of \(probes.count) coordinates were smooth")
        }
    }
}
