import Foundation
import Testing
@testable import SwapTensor

/// Every op's forward output and gradient against PyTorch.
/// Fixture: Fixtures/ops.safetensors, made by tools/reference/make_op_fixtures.py.
/// Tolerance: |swift − torch| ≤ 1e-5 + 1e-4·|torch| (element-wise), unless a case says otherwise.
struct OpReferenceTests {
    /// Each case maps its inputs to its outputs (the first output is the one gradients flow from).
    static let cases: [String: @Sendable ([Tensor]) throws -> [Tensor]] = [
        "add": { x in [try x[0] + x[1]] },
        "sub": { x in [try x[0] - x[1]] },
        "mul": { x in [try x[0] * x[1]] },
        "div": { x in [try x[0] / x[1]] },
        "maximum": { x in [try x[0].maximum(x[1])] },
        "add_scalar": { x in [x[0] + 1.5] },
        "mul_scalar": { x in [x[0] * -2.5] },
        "exp": { x in [x[0].exp()] },
        "log": { x in [x[0].log()] },
        "sqrt": { x in [x[0].sqrt()] },
        "abs": { x in [x[0].abs()] },
        "sin": { x in [x[0].sin()] },
        "cos": { x in [x[0].cos()] },
        "tanh": { x in [x[0].tanh()] },
        "relu": { x in [x[0].relu()] },
        "sigmoid": { x in [x[0].sigmoid()] },
        "silu": { x in [x[0].silu()] },
        "gelu": { x in [x[0].gelu()] },
        "quick_gelu": { x in [x[0].quickGELU()] },
        "pow": { x in [x[0].pow(2.5)] },
        "square": { x in [x[0].squared()] },
        "clamp": { x in [x[0].clamped(min: -0.5, max: 0.75)] },
        "sum_axes": { x in [try x[0].sum(axes: [0, 2])] },
        "sum_all": { x in [x[0].sum()] },
        "mean_keep": { x in [try x[0].mean(axes: [1], keepDims: true)] },
        "amax": { x in [try x[0].max(axes: [-1])] },
        "amin": { x in [try x[0].min(axes: [0, 2], keepDims: true)] },
        "mean_all": { x in [x[0].mean()] },
        "var": { x in [try x[0].variance(axes: [1, 2])] },
        "var_unbiased": { x in [try x[0].variance(axes: [0], unbiased: true, keepDims: true)] },
        "permute": { x in [try x[0].permuted([0, 2, 3, 1])] },
        "reshape": { x in [try x[0].reshaped([6, -1])] },
        "slice": { x in [try x[0].sliced(axis: 1, start: 1, end: 6, step: 2)] },
        "index_select": { x in [try x[0].indexSelect(axis: 0, [2, 0, 2, 3])] },
        "concat": { x in [try Tensor.concat(x, axis: 1)] },
        "broadcast_to": { x in [try x[0].broadcast(to: [2, 3, 4])] },
        "chunk": { x in try x[0].chunked(3, axis: 1) },
        "unsqueeze_transpose": { x in [try x[0].unsqueezed(1).transposedLastTwo()] },
        "split": { x in try x[0].split(axis: -1, sizes: [2, 3]) },
        "matmul_batched": { x in [try x[0].matmul(x[1])] },
        "matmul_shared": { x in [try x[0].matmul(x[1])] },
        "linear": { x in [try x[0].linear(weight: x[1], bias: x[2])] },
        "linear_nobias": { x in [try x[0].linear(weight: x[1])] },
        "matmul_panels_n": { x in [try x[0].matmul(x[1])] },
        "matmul_panels_m": { x in [try x[0].matmul(x[1])] },
        "linear_panels": { x in [try x[0].linear(weight: x[1], bias: x[2])] },
        "conv3x3": { x in [try x[0].conv2d(weight: x[1], bias: x[2], stride: 1, padding: 1)] },
        "conv3x3_s2": { x in [try x[0].conv2d(weight: x[1], bias: x[2], stride: 2, padding: 1)] },
        "conv1x1": { x in [try x[0].conv2d(weight: x[1], bias: x[2])] },
        "conv3x3_panels": { x in [try x[0].conv2d(weight: x[1], bias: x[2], stride: 1, padding: 1)] },
        "conv3x3_s2_panels": { x in [try x[0].conv2d(weight: x[1], stride: 2, padding: 1)] },
        "conv4x4_nobias": { x in [try x[0].conv2d(weight: x[1], stride: 2)] },
        "group_norm": { x in [try x[0].groupNorm(groups: 4, weight: x[1], bias: x[2], eps: 1e-5)] },
        "group_norm_vae": { x in [try x[0].groupNorm(groups: 2, weight: x[1], bias: x[2], eps: 1e-6)] },
        "layer_norm": { x in [try x[0].layerNorm(weight: x[1], bias: x[2], eps: 1e-5)] },
        "softmax": { x in [x[0].softmax()] },
        "upsample_nearest": { x in [try x[0].upsampleNearest2x()] },
        "bilinear_up": { x in [try x[0].resizedBilinear(height: 13, width: 17)] },
        "bilinear_down": { x in [try x[0].resizedBilinear(height: 3, width: 4)] },
        "attention": { x in
            let r = try Tensor.attention(query: x[0], key: x[1], value: x[2], keepProbabilities: true)
            return [r.output, r.probabilities!]
        },
        "attention_long": { x in [try Tensor.attention(query: x[0], key: x[1], value: x[2]).output] },
    ]

    @Test func fixtureCoversEveryCase() throws {
        #expect(!OpFixtures.all.isEmpty, "Fixtures/ops.safetensors did not load")
        let fixtureCases = Set(OpFixtures.all.keys.compactMap { $0.split(separator: ".").first.map(String.init) })
            .filter { !$0.hasPrefix("opt_") && $0 != "half" }
        #expect(fixtureCases == Set(Self.cases.keys))
    }

    @Test(arguments: cases.keys.sorted())
    func forwardAndGradientMatchTorch(_ name: String) throws {
        let op = try #require(Self.cases[name])
        let inputs = OpFixtures.inputs(name).map { $0.requiringGrad() }
        #expect(!inputs.isEmpty, "no inputs for \(name)")
        let outputs = try op(inputs)
        try expectClose(outputs[0], OpFixtures.tensor("\(name).out"), "\(name) forward")
        for (i, extra) in outputs.dropFirst().enumerated() {
            if let expected = OpFixtures.all["\(name).out\(i + 1)"] {
                expectClose(extra, expected, "\(name) output \(i + 1)")
            }
        }
        let seed = try OpFixtures.tensor("\(name).seed")
        let gradients = try (outputs[0] * seed).sum().gradient(with: inputs)
        for (i, g) in gradients.enumerated() {
            try expectClose(g, OpFixtures.tensor("\(name).grad\(i)"), atol: 1e-4, rtol: 1e-4, "\(name) gradient \(i)")
        }
    }

    @Test(arguments: ["sgd", "adam", "adamw"])
    func optimizersMatchTorch(_ kind: String) throws {
        let start = try OpFixtures.tensor("opt_\(kind).in0"), target = try OpFixtures.tensor("opt_\(kind).in1")
        var optimizer: any Optimizer = switch kind {
        case "sgd": SGD([start], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        case "adam": Adam([start], learningRate: 0.05, weightDecay: 0.01)
        default: Adam.adamW([start], learningRate: 0.05, weightDecay: 0.1)
        }
        for _ in 0..<3 {
            let p = optimizer.parameters
            let loss = try (p[0] - target).squared().sum()
            optimizer.step(gradients: loss.gradient(with: p))
        }
        expectClose(optimizer.parameters[0].detached(), try OpFixtures.tensor("opt_\(kind).out"), atol: 1e-6, rtol: 1e-5, kind)
    }

    /// Group norm on [N, C] (no spatial axes), where each row of the norm's layout is one group
    /// and its positions are channels: each channel takes its own γ and β, checked against a
    /// direct Double computation of torch's definition (tolerance 1e-6).
    @Test func groupNormWithoutSpatialAxesUsesEachChannelsParameters() throws {
        var generator = PhiloxGenerator(seed: 5)
        let x = generator.randn([2, 8]), gamma = generator.randn([8]), beta = generator.randn([8])
        let y = try x.groupNorm(groups: 4, weight: gamma, bias: beta, eps: 1e-5)
        let (xs, g, b) = (x.scalars.map(Double.init), gamma.scalars.map(Double.init), beta.scalars.map(Double.init))
        for n in 0..<2 {
            for group in 0..<4 {
                let channels = (2 * group)..<(2 * group + 2)
                let values = channels.map { xs[n * 8 + $0] }
                let mean = values.reduce(0, +) / 2
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 2
                for c in channels {
                    let expected = (xs[n * 8 + c] - mean) / (variance + 1e-5).squareRoot() * g[c] + b[c]
                    #expect(abs(Double(y.scalars[n * 8 + c]) - expected) < 1e-6, "n \(n) channel \(c)")
                }
            }
        }
    }
}
