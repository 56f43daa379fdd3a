import Foundation
import SwapLang
import SwapTensor
import Testing
@testable import SwapRuntime

// The "tensor" family: each builtin against values computed independently (hand-computed
// numbers, torch reference values, or the SwapTensor ops called directly).

@Test func tensorFromNestedLists() {
    let h = Harness().run("a = tensor([[1, 2, 3], [4, 5, 6]])\nb = tensor(2.5)\nc = 0\nc = tensor([[1, 2], [3]])")
    #expect(h.tensor("a")?.shape == [2, 3])
    #expect(h.tensor("a")?.scalars == [1, 2, 3, 4, 5, 6])
    #expect(h.tensor("b")?.shape == [])
    #expect(h.tensor("b")?.scalars == [2.5])
    #expect(h.lastError == "tensor: nested lists are not rectangular: expected 2 items at [1], got 1 items")
    #expect(h.number("c") == 0)
}

@Test func zerosOnesArange() {
    let h = Harness().run("z = zeros([2, 3])\no = ones(4)\na = arange(5)\nb = arange(1, 2, 0.25)\nc = arange(3, 0, -1)\ne = zeros([0, 3])")
    #expect(h.status == .ok, "\(h.errors)")
    #expect(h.tensor("z")?.scalars == [Float](repeating: 0, count: 6))
    #expect(h.tensor("o")?.scalars == [1, 1, 1, 1])
    #expect(h.tensor("a")?.scalars == [0, 1, 2, 3, 4])
    #expect(h.tensor("b")?.scalars == [1, 1.25, 1.5, 1.75])
    #expect(h.tensor("c")?.scalars == [3, 2, 1])
    #expect(h.tensor("e")?.shape == [0, 3])
}

@Test func badShapesAreRejected() {
    let cases: [(String, String)] = [
        ("zeros([-1, 2])", "zeros: shape entries must be non-negative, got -1"),
        ("ones([1e6, 1e6])", "ones: shape [1000000,1000000] has more than 268435456 elements"),
        ("zeros([2, \"a\"])", "zeros: shape entries must be integers, got \"a\""),
        ("randn([2.5])", "randn: shape entries must be integers, got 2.5"),
        ("arange(0, 1, 0)", "arange: start, stop and step must be finite and step non-zero"),
    ]
    for (call, message) in cases {
        let h = Harness().run("x = 1\nx = " + call)
        #expect(h.status == .runtimeFailure, "\(call)")
        #expect(h.lastError == message, "\(call)")
        #expect(h.number("x") == 1)
    }
}

@Test func randnMatchesTorchReferenceValues() {
    // torch.manual_seed(42); torch.randn(1, 4, 8, 8)[0, 0, 0, :4] and torch.manual_seed(0); torch.rand(3)
    let h = Harness().run("n = randn([1, 4, 8, 8], seed: 42)\nu = rand([3], seed: 0)")
    let n = h.tensor("n")!
    #expect(n.shape == [1, 4, 8, 8])
    let expected: [Float] = [1.9269153, 1.4872841, 0.9007172, -2.1055210]
    #expect(maxDifference(Tensor(shape: [4], scalars: Array(n.scalars.prefix(4))), Tensor(shape: [4], scalars: expected)) < 1e-6)
    #expect(maxDifference(h.tensor("u")!, Tensor(shape: [3], scalars: [0.4962566, 0.7682218, 0.0884774])) < 1e-6)
}

@Test func randnWithoutSeedContinuesTheSessionStream() {
    let h = Harness(seed: 7).run("a = randn([5])\nb = randn([3])")
    let g = TorchGenerator(seed: 7)
    #expect(h.tensor("a")?.scalars == g.randn([5]).scalars)
    #expect(h.tensor("b")?.scalars == g.randn([3]).scalars)
    let other = Harness(seed: 8).run("a = randn([5])")
    #expect(other.tensor("a")?.scalars != h.tensor("a")?.scalars)
}

@Test func matmulValuesAndError() {
    let h = Harness().run("y = matmul(tensor([[1, 2], [3, 4]]), tensor([[5], [6]]))\nz = 0\nz = matmul(ones([2, 3]), ones([4, 5]))")
    #expect(h.tensor("y")?.scalars == [17, 39])
    #expect(h.tensor("y")?.shape == [2, 1])
    #expect(h.lastError == "matmul: inner dimensions differ: [2,3] × [4,5]")
    #expect(h.number("z") == 0)
    let v = Harness().run("z = matmul(ones([3]), ones([3, 2]))")
    #expect(v.lastError == "matmul: needs matrices (rank ≥ 2), got [3] × [3,2]")
}

@Test func linearMatchesHandComputation() {
    let h = Harness().run("y = linear(tensor([[1, 2]]), tensor([[1, 0], [1, 1], [2, -1]]), bias: tensor([0, 1, 2]))")
    #expect(h.tensor("y")?.scalars == [1, 4, 2])
}

@Test func softmaxAlongAxes() {
    let h = Harness().run("x = tensor([[1, 2], [3, 5]])\na = softmax(x)\nb = softmax(x, axis: 0)")
    func sm(_ a: Double, _ b: Double) -> [Float] {
        let m = max(a, b), ea = exp(a - m), eb = exp(b - m)
        return [Float(ea / (ea + eb)), Float(eb / (ea + eb))]
    }
    let rows = sm(1, 2) + sm(3, 5)
    #expect(maxDifference(h.tensor("a")!, Tensor(shape: [2, 2], scalars: rows)) < 1e-6)
    let c0 = sm(1, 3), c1 = sm(2, 5)
    #expect(maxDifference(h.tensor("b")!, Tensor(shape: [2, 2], scalars: [c0[0], c1[0], c0[1], c1[1]])) < 1e-6)
}

@Test func concatJoinsAlongAxis() {
    let h = Harness().run("a = concat([ones([1, 2]), zeros([2, 2])])\nb = concat([ones([2, 1]), zeros([2, 2])], axis: 1)\nc = 0\nc = concat([ones([2, 1]), zeros([3, 2])], axis: 1)")
    #expect(h.tensor("a")?.scalars == [1, 1, 0, 0, 0, 0])
    #expect(h.tensor("b")?.scalars == [1, 0, 0, 1, 0, 0])
    #expect(h.lastError == "concat: shapes [2,1], [3,2] differ outside axis 1")
}

@Test func resizeAndUpsampleMatchEngineAndHandValues() throws {
    let h = Harness().run("x = tensor([[0, 1], [2, 3]])\nu = upsample(x)\nr = resize(x, size: [4, 4])\nq = upsample(x, factor: 4)")
    #expect(h.tensor("u")?.shape == [4, 4])
    #expect(h.tensor("u")?.scalars == [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3])
    #expect(h.tensor("q")?.shape == [8, 8])
    // torch: F.interpolate(x[None, None], size=4, mode="bilinear", align_corners=False)[0, 0, 0]
    #expect(Array(h.tensor("r")?.scalars.prefix(4) ?? []) == [0, 0.25, 0.75, 1])
    let engine = try Tensor(shape: [1, 1, 2, 2], scalars: [0, 1, 2, 3]).resizedBilinear(height: 4, width: 4)
    #expect(h.tensor("r")?.scalars == engine.scalars)
    let bad = Harness().run("y = upsample(ones([2, 2]), factor: 3)")
    #expect(bad.lastError == "upsample: factor must be a power of two between 1 and 1024, got 3")
    let bad2 = Harness().run("y = resize(ones([2]), size: 4)")
    #expect(bad2.lastError == "resize: expects [H, W], [C, H, W] or [N, C, H, W], got [2]")
}

@Test func attentionReturnsOutputAndProbabilities() throws {
    let h = Harness().run("""
    q = tensor([[1, 0], [0, 2]])
    k = tensor([[1, 0], [0, 1], [1, 1]])
    v = tensor([[1], [2], [3]])
    a = attention(q, k, v)
    p = a.probabilities
    o = a.output
    """)
    #expect(h.status == .ok, "\(h.errors)")
    // Hand computation: scores = q·kᵀ / √2.
    let scores: [[Double]] = [[1, 0, 1], [0, 2, 2]].map { $0.map { $0 / 2.0.squareRoot() } }
    var probs: [Float] = [], outs: [Float] = []
    for row in scores {
        let e = row.map { exp($0) }, s = e.reduce(0, +)
        let p = e.map { $0 / s }
        probs += p.map(Float.init)
        outs.append(Float(p[0] * 1 + p[1] * 2 + p[2] * 3))
    }
    #expect(h.tensor("p")?.shape == [2, 3])
    #expect(maxDifference(h.tensor("p")!, Tensor(shape: [2, 3], scalars: probs)) < 1e-6)
    #expect(maxDifference(h.tensor("o")!, Tensor(shape: [2, 1], scalars: outs)) < 1e-5)
    let bad = Harness().run("a = attention(ones([1, 2, 3]), ones([1, 4, 5]), ones([1, 4, 1]))")
    #expect(bad.lastError == "attention: expects q [B, Lq, D], k [B, Lk, D], v [B, Lk, Dv] (or all rank 2); got q [1,2,3], k [1,4,5], v [1,4,1]")
}

@Test func conv2dMatchesHandComputation() {
    let h = Harness().run("""
    x = arange(9).reshape([1, 1, 3, 3])
    w = tensor([[[[1, 0], [0, -1]]]])
    y = conv2d(x, w, bias: tensor([10]))
    z = conv2d(x, w, padding: 1, stride: 2)
    """)
    #expect(h.status == .ok, "\(h.errors)")
    // y[i, j] = x[i, j] - x[i+1, j+1] + 10 = -4 + 10
    #expect(h.tensor("y")?.shape == [1, 1, 2, 2])
    #expect(h.tensor("y")?.scalars == [6, 6, 6, 6])
    // Padded input, stride 2: outputs at (-1,-1), (-1,1), (1,-1), (1,1).
    #expect(h.tensor("z")?.scalars == [0, -2, -6, -4])
    let bad = Harness().run("y = conv2d(ones([1, 2, 4, 4]), ones([1, 3, 3, 3]))")
    #expect(bad.lastError == "conv2d: input [1,2,4,4] does not match weight [1,3,3,3] (expected x [N, C, H, W] and weight [O, C, kh, kw])")
    let big = Harness().run("y = conv2d(ones([1, 1, 2, 2]), ones([1, 1, 3, 3]))")
    #expect(big.lastError == "conv2d: kernel [1,1,3,3] is larger than the padded input [1,1,2,2]")
}

@Test func normsMatchDefinition() throws {
    let h = Harness().run("""
    x = tensor([[[1, 3]], [[2, 6]]]).reshape([1, 2, 2])
    g = group_norm(x, 1)
    l = layer_norm(tensor([[1, 2, 3]]), weight: tensor([1, 1, 2]), bias: tensor([0, 0, 1]))
    """)
    #expect(h.status == .ok, "\(h.errors)")
    // group_norm over all 4 values 1, 3, 2, 6: mean 3, var 3.5.
    let s = (3.5 + 1e-5).squareRoot()
    let g: [Float] = [1, 3, 2, 6].map { Float((Double($0) - 3) / s) }
    #expect(maxDifference(h.tensor("g")!, Tensor(shape: [1, 2, 2], scalars: g)) < 1e-5)
    // layer_norm of 1, 2, 3: mean 2, var 2/3.
    let t = (2.0 / 3 + 1e-5).squareRoot()
    let l: [Float] = [Float(-1 / t), 0, Float(2 * (1 / t) + 1)]
    #expect(maxDifference(h.tensor("l")!, Tensor(shape: [1, 3], scalars: l)) < 1e-5)
    let bad = Harness().run("y = group_norm(ones([1, 6, 2]), 4)")
    #expect(bad.lastError == "group_norm: 6 channels of [1,6,2] do not split into 4 groups")
}

@Test func siluAndGelu() {
    let h = Harness().run("s = silu(tensor([-1, 0, 2]))\ng = gelu(tensor([-1, 0, 2]))")
    let xs: [Double] = [-1, 0, 2]
    let silu = xs.map { Float($0 / (1 + exp(-$0))) }
    let gelu = xs.map { Float(0.5 * $0 * (1 + erf($0 / 2.0.squareRoot()))) }
    #expect(maxDifference(h.tensor("s")!, Tensor(shape: [3], scalars: silu)) < 1e-6)
    #expect(maxDifference(h.tensor("g")!, Tensor(shape: [3], scalars: gelu)) < 1e-6)
}

@Test func kindChecksNameTheBuiltin() {
    let h = Harness().run("y = softmax([1, 2])")
    #expect(h.lastError == "softmax: 'x' must be a tensor, got list")
}
