import Foundation
import Testing
import SwapIO
import SwapTensor
@testable import SwapModels

// Reference: Fixtures/networks/lpips_{alex,vgg}.safetensors and network_reference.safetensors,
// made by tools/reference/make_network_metric_fixtures.py: LPIPS v0.1 written in plain torch.nn
// over the true AlexNet / VGG16 `features` layer structure with small random channel widths
// (alex 8-12-16-12-12 on 64x64 inputs, vgg 4-6-8-8-8 on 32x32), random non-negative lin weights.
//
// Tolerance: max |swift − torch| ≤ 1e-4 × max |torch| for the values, per-layer means and maps.

@Suite struct LPIPSTests {
    static let tolerance: Float = 1e-4

    func check(_ got: Tensor, _ name: String) throws {
        let expected = try NetworkFixtures.tensor(name)
        let (rel, scale) = try relativeMaxError(got, expected)
        print("LPIPS parity \(name): max abs error / scale = \(rel) (scale \(scale))")
        #expect(rel <= Self.tolerance, "\(name): relative max error \(rel)")
    }

    @Test(arguments: LPIPS.Network.allCases) func matchesReference(network: LPIPS.Network) throws {
        let net = try LPIPS(network: network, paths: [try NetworkFixtures.path("lpips_\(network.rawValue).safetensors")])
        let name = "lpips.\(network.rawValue)"
        let (a, b) = (try NetworkFixtures.tensor("\(name).in0"), try NetworkFixtures.tensor("\(name).in1"))
        let result = try net(a, b, spatial: true)
        try check(result.value, "\(name).value")
        try check(try #require(result.spatial), "\(name).spatial")
        if network == .alex {
            try check(result.layers, "lpips.alex.layers")
            try check(try net(a, b, unitNormalization: .torchmetrics).value, "lpips.alex.value_torchmetrics")
        }
        // normalize: inputs in [0, 1] give the same distances.
        try check(try net((a + 1) * 0.5, (b + 1) * 0.5, normalize: true).value, "\(name).value")
        // Identical images are at distance 0.
        #expect(try net(a, a).value.scalars.allSatisfy { $0 == 0 })
    }

    @Test func differentiableInTheInput() throws {
        let net = try LPIPS(network: .alex, paths: [try NetworkFixtures.path("lpips_alex.safetensors")])
        let a = try NetworkFixtures.tensor("lpips.alex.in0").sliced(axis: 0, start: 0, end: 1)
        let b = try NetworkFixtures.tensor("lpips.alex.in1").sliced(axis: 0, start: 0, end: 1).detached().requiringGrad()
        try net(a, b).value.sum().backward()
        let grad = try #require(b.grad)
        #expect(grad.shape == b.shape && grad.scalars.contains { $0 != 0 })
    }

    @Test func errorsNameTheProblem() throws {
        var tensors = try SafeTensors.load(try NetworkFixtures.path("lpips_alex.safetensors"))
        tensors["lin3.model.1.weight"] = nil
        var text = ""
        do { _ = try LPIPS(network: .alex, weights: WeightStore(tensors: tensors)) } catch { text = "\(error)" }
        #expect(text.hasPrefix("missing tensor 'lin3.model.1.weight' (expected shape [1,12,1,1])"), "\(text)")
        // VGG weights are not AlexNet's: the first kernel is 3x3, not 11x11.
        do { _ = try LPIPS(network: .alex, paths: [try NetworkFixtures.path("lpips_vgg.safetensors")]) } catch { text = "\(error)" }
        #expect(text == "LPIPS alex: tensor 'features.0.weight' has shape [4,3,3,3], expected [out, 3, 11, 11]", "\(text)")
        let net = try LPIPS(network: .alex, paths: [try NetworkFixtures.path("lpips_alex.safetensors")])
        #expect(throws: TensorError.self) { try net(Tensor(zeros: [1, 3, 64, 64]), Tensor(zeros: [1, 3, 64, 32])) }
        #expect(throws: TensorError.self) { try net(Tensor(zeros: [1, 3, 8, 8]), Tensor(zeros: [1, 3, 8, 8])) }
    }
}
