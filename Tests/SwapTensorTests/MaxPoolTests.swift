import Foundation
import Testing
import SwapIO
@testable import SwapTensor

// Reference: Fixtures/max_pool.safetensors, torch.nn.functional.max_pool2d outputs and input
// gradients for four (shape, kernel, stride, padding) cases, made by
// tools/reference/make_network_metric_fixtures.py (torch 2.13.0+cpu). Max pooling selects
// values, so outputs and gradients must match exactly.

@Suite struct MaxPoolTests {
    static let cases: [String: Tensor] = {
        guard let url = Bundle.module.url(forResource: "max_pool", withExtension: "safetensors", subdirectory: "Fixtures"),
              let tensors = try? SafeTensors.load(url.path) else { return [:] }
        return tensors
    }()

    @Test(arguments: 0..<4) func matchesTorch(index: Int) throws {
        let t = { (name: String) throws -> Tensor in try #require(Self.cases["pool\(index).\(name)"], "missing pool\(index).\(name)") }
        let config = try t("config").scalars.map { Int($0) }
        let x = try t("in").requiringGrad()
        let y = try x.maxPool2d(kernel: config[0], stride: config[1], padding: config[2])
        #expect(y.shape == (try t("out")).shape)
        #expect(y.scalars == (try t("out")).scalars, "forward of case \(index) \(config)")
        y.backward(seed: try t("grad_out"))
        #expect(x.grad?.scalars == (try t("grad_in")).scalars, "gradient of case \(index) \(config)")
    }

    @Test func badArgumentsThrow() {
        #expect(throws: TensorError.self) { try Tensor(zeros: [2, 3, 4]).maxPool2d(kernel: 2) }
        #expect(throws: TensorError.self) { try Tensor(zeros: [1, 1, 2, 2]).maxPool2d(kernel: 3) }
        #expect(throws: TensorError.self) { try Tensor(zeros: [1, 1, 4, 4]).maxPool2d(kernel: 2, padding: 2) }
        #expect(throws: TensorError.self) { try Tensor(zeros: [1, 1, 4, 4]).maxPool2d(kernel: 0) }
    }
}
