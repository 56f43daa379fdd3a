import Foundation
import Testing
import SwapIO
@testable import SwapTensor

/// The PyTorch reference values in Fixtures/ops.safetensors, made by
/// `tools/reference/make_op_fixtures.py` (torch 2.13.0+cpu).
enum OpFixtures {
    static let all: [String: Tensor] = {
        guard let url = Bundle.module.url(forResource: "ops", withExtension: "safetensors", subdirectory: "Fixtures"),
              let tensors = try? SafeTensors.load(url.path) else { return [:] }
        return tensors
    }()

    static func tensor(_ name: String) throws -> Tensor {
        guard let t = all[name] else { throw TensorError("fixture", "ops.safetensors has no tensor \(name)") }
        return t
    }

    /// The inputs of a case, in order.
    static func inputs(_ name: String) -> [Tensor] {
        var result: [Tensor] = []
        while let t = all["\(name).in\(result.count)"] { result.append(t) }
        return result
    }
}

/// Largest violation of |a − b| ≤ atol + rtol·|b| (≤ 0 means within tolerance), and max |a − b|.
func closeness(_ a: Tensor, _ b: Tensor, atol: Float, rtol: Float) -> (violation: Float, maxError: Float) {
    precondition(a.shape == b.shape, "closeness: \(a.shape) vs \(b.shape)")
    var violation = -Float.infinity, maxError: Float = 0
    for (x, y) in zip(a.scalars, b.scalars) {
        let e = abs(x - y)
        if e.isNaN { return (.infinity, .nan) }
        maxError = max(maxError, e)
        violation = max(violation, e - (atol + rtol * abs(y)))
    }
    return (violation, maxError)
}

/// Expects `actual` to match `expected` within the stated tolerance.
func expectClose(_ actual: Tensor, _ expected: Tensor, atol: Float = 1e-5, rtol: Float = 1e-4,
                 _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual.shape == expected.shape else {
        Issue.record("\(what): shape \(actual.shape) != expected \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    let (violation, maxError) = closeness(actual, expected, atol: atol, rtol: rtol)
    #expect(violation <= 0, "\(what): max |error| \(maxError) exceeds atol \(atol) + rtol \(rtol)·|ref|",
            sourceLocation: sourceLocation)
}
