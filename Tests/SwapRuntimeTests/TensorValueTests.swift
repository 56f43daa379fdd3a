import Foundation
import SwapLang
import SwapTensor
import Testing
@testable import SwapRuntime

// TensorValue: display, fields, operators, methods, indexing, iteration and equality.

@Test func summaryIsTensorSummaryLine() {
    let h = Harness().run("x = tensor([[1, 2], [3, 4]])\nx")
    #expect(h.status == .ok)
    let expected = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]).summary.line
    #expect(h.lines == [expected])
    #expect(expected.contains("[2,2]") && expected.contains("min 1.0000") && expected.contains("max 4.0000"))
}

@Test func fieldsShapeRankCount() {
    let h = Harness().run("x = zeros([2, 3, 4])\nprint(x.shape, x.rank, x.count, len(x), type(x))")
    #expect(h.lines == ["[2, 3, 4] 3 24 2 tensor"])
}

@Test func arithmeticWithNumbersAndBroadcasting() throws {
    let h = Harness().run("""
    a = tensor([[1, 2, 3], [4, 5, 6]])
    b = tensor([10, 20, 30])
    s = a + b
    d = 1 - a
    q = 6 / a
    p = a ** 2
    m = a % 4
    n = -a
    c = a > 2.5
    """)
    #expect(h.status == .ok, "\(h.errors)")
    #expect(h.tensor("s")?.scalars == [11, 22, 33, 14, 25, 36])
    #expect(h.tensor("s")?.shape == [2, 3])
    #expect(h.tensor("d")?.scalars == [0, -1, -2, -3, -4, -5])
    #expect(h.tensor("q")?.scalars == [6, 3, 2, 1.5, 1.2, 1])
    #expect(h.tensor("p")?.scalars == [1, 4, 9, 16, 25, 36])
    #expect(h.tensor("m")?.scalars == [1, 2, 3, 0, 1, 2])
    #expect(h.tensor("n")?.scalars == [-1, -2, -3, -4, -5, -6])
    #expect(h.tensor("c")?.scalars == [0, 0, 1, 1, 1, 1])
}

@Test func columnTimesRowBroadcasts() {
    let h = Harness().run("g = arange(3).reshape([3, 1]) * arange(4).reshape([1, 4])")
    let t = h.tensor("g")
    #expect(t?.shape == [3, 4])
    #expect(t?.scalars == [0, 0, 0, 0, 0, 1, 2, 3, 0, 2, 4, 6])
}

@Test func shapeMismatchNamesOperatorAndShapesAndKeepsBindings() {
    let h = Harness().run("a = ones([2, 3])\nb = ones([4])\nc = 1\nc = a + b")
    #expect(h.status == .runtimeFailure)
    #expect(h.lastError == "+: shapes [2,3] and [4] do not broadcast")
    #expect(h.number("c") == 1)
    #expect(h.tensor("a")?.shape == [2, 3])
    #expect(h.errors.first?.hasPrefix("test.swapscript:4:") == true)
}

@Test func equalityComparesWholeTensors() {
    let h = Harness().run("""
    print(tensor([1, 2]) == tensor([1, 2]), tensor([1, 2]) == tensor([1, 3]), tensor([1, 2]) != tensor([[1, 2]]), zeros(2) == 0)
    """)
    #expect(h.lines == ["true false true false"])
}

@Test func reductionsMatchEngineAndHandValues() {
    let h = Harness().run("""
    x = tensor([[1, 2, 3], [4, 5, 6]])
    print(x.sum(), x.mean(), x.max(), x.min())
    rows = x.sum(1)
    cols = x.mean([0], keepdims: true)
    v = x.var()
    sd = x.std()
    """)
    #expect(h.status == .ok, "\(h.errors)")
    #expect(h.lines == ["21 3.5 6 1"])
    #expect(h.tensor("rows")?.scalars == [6, 15])
    #expect(h.tensor("cols")?.shape == [1, 3])
    #expect(h.tensor("cols")?.scalars == [2.5, 3.5, 4.5])
    // Population variance of 1...6 is 35/12.
    #expect(abs((h.number("v") ?? 0) - 35.0 / 12) < 1e-6)
    #expect(abs((h.number("sd") ?? 0) - (35.0 / 12).squareRoot()) < 1e-6)
}

@Test func shapeMethods() {
    let h = Harness().run("""
    x = arange(24).reshape([2, 3, 4])
    r = x.reshape(4, -1)
    p = x.permute([2, 0, 1])
    t = x.transpose()
    u = x.unsqueeze(0)
    s = u.squeeze()
    f = x.flatten()
    """)
    #expect(h.status == .ok, "\(h.errors)")
    let x = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
    #expect(h.tensor("r")?.shape == [4, 6])
    #expect(h.tensor("p")?.scalars == (try? x.permuted([2, 0, 1]))?.scalars)
    #expect(h.tensor("p")?.shape == [4, 2, 3])
    #expect(h.tensor("t")?.scalars == (try? x.permuted([0, 2, 1]))?.scalars)
    #expect(h.tensor("u")?.shape == [1, 2, 3, 4])
    #expect(h.tensor("s")?.shape == [2, 3, 4])
    #expect(h.tensor("f")?.shape == [24])
}

@Test func elementwiseMethods() {
    let h = Harness().run("""
    x = tensor([-2, -0.5, 0, 1, 4])
    e = x.exp()
    a = x.abs()
    c = x.clamp(-1, 2)
    r = x.abs().sqrt()
    l = x.abs().log()
    sm = x.softmax()
    """)
    #expect(h.status == .ok, "\(h.errors)")
    let x: [Float] = [-2, -0.5, 0, 1, 4]
    #expect(maxDifference(h.tensor("e")!, Tensor(shape: [5], scalars: x.map { Foundation.exp($0) })) < 1e-5)
    #expect(h.tensor("a")?.scalars == [2, 0.5, 0, 1, 4])
    #expect(h.tensor("c")?.scalars == [-1, -0.5, 0, 1, 2])
    #expect(maxDifference(h.tensor("r")!, Tensor(shape: [5], scalars: x.map { abs($0).squareRoot() })) < 1e-6)
    #expect(h.tensor("l")?.scalars[2] == -.infinity)
    let total = x.map { Foundation.exp(Double($0)) }.reduce(0, +)
    let softmax = x.map { Float(Foundation.exp(Double($0)) / total) }
    #expect(maxDifference(h.tensor("sm")!, Tensor(shape: [5], scalars: softmax)) < 1e-6)
}

@Test func itemAndTolist() {
    let h = Harness().run("""
    print(tensor([[2.5]]).item(), tensor([[1, 2], [3, 4]]).tolist(), tensor(7).tolist())
    bad = 1
    bad = ones([2]).item()
    """)
    #expect(h.lines == ["2.5 [[1, 2], [3, 4]] 7"])
    #expect(h.lastError == "tensor.item: needs a one-element tensor, got shape [2]")
    #expect(h.number("bad") == 1)
}

@Test func indexingAndSlicing() {
    let h = Harness().run("""
    x = arange(60).reshape([3, 4, 5])
    a = x[0]
    b = x[-1, :, 1:4]
    c = x[..., 0]
    d = x[:, ::2, ::-2]
    e = x[1, 2, 3]
    f = x[[2, 0]]
    g = x[0, -1]
    """)
    #expect(h.status == .ok, "\(h.errors)")
    let x = Tensor(shape: [3, 4, 5], scalars: (0..<60).map(Float.init))
    #expect(h.tensor("a")?.shape == [4, 5])
    #expect(h.tensor("a")?.scalars == Array(x.scalars[0..<20]))
    #expect(h.tensor("b")?.shape == [4, 3])
    #expect(h.tensor("b")?.scalars == [41, 42, 43, 46, 47, 48, 51, 52, 53, 56, 57, 58])
    #expect(h.tensor("c")?.shape == [3, 4])
    #expect(h.tensor("c")?.scalars == stride(from: 0, to: 60, by: 5).map(Float.init))
    #expect(h.tensor("d")?.shape == [3, 2, 3])
    #expect(Array(h.tensor("d")?.scalars.prefix(6) ?? []) == [4, 2, 0, 14, 12, 10])
    #expect(h.number("e") == 33)
    #expect(h.tensor("f")?.shape == [2, 4, 5])
    #expect(h.tensor("f")?.scalars.first == 40)
    #expect(h.tensor("g")?.scalars == [15, 16, 17, 18, 19])
}

@Test func indexErrorsAreCleanAndKeepBindings() {
    let cases: [(String, String)] = [
        ("y = x[5]", "index: 5 is out of range for axis 0 of size 3 (shape [3,4])"),
        ("y = x[0, 0, 0]", "index: too many indices (3) for a tensor of shape [3,4]"),
        ("y = x[::0]", "index: slice step cannot be zero"),
        ("y = x[0.5]", "index: indices must be integers, got 0.5"),
        ("y = x[..., ...]", "index: at most one '...' is allowed"),
    ]
    for (line, message) in cases {
        let h = Harness().run("x = zeros([3, 4])\ny = 1\n" + line)
        #expect(h.status == .runtimeFailure, "\(line)")
        #expect(h.lastError == message, "\(line)")
        #expect(h.number("y") == 1)
    }
}

@Test func indexAssignmentWritesSelection() {
    let h = Harness().run("""
    m = zeros([4, 4])
    alias = m
    m[1:3, 1:3] = 1
    m[0] = tensor([5, 6, 7, 8])
    m[-1, ::3] = 9
    """)
    #expect(h.status == .ok, "\(h.errors)")
    #expect(h.tensor("m")?.scalars == [5, 6, 7, 8, 0, 1, 1, 0, 0, 1, 1, 0, 9, 0, 0, 9])
    #expect(h.tensor("alias")?.scalars == h.tensor("m")?.scalars)
    let bad = Harness().run("m = zeros([2, 2])\nm[0] = tensor([1, 2, 3])")
    #expect(bad.lastError == "index assignment: value of shape [3] does not broadcast to the selection [2]")
    #expect(bad.tensor("m")?.scalars == [0, 0, 0, 0])
}

@Test func iterationOverFirstAxis() {
    let h = Harness().run("""
    for row in arange(6).reshape([3, 2]) { print(row.tolist()) }
    for v in tensor([1.5, 2]) { print(v) }
    """)
    #expect(h.lines == ["[0, 1]", "[2, 3]", "[4, 5]", "1.5", "2"])
}

@Test func methodErrorsNameTheMethod() {
    let h = Harness().run("x = zeros([2, 3])\ny = x.reshape([4, 2])")
    #expect(h.lastError == "tensor.reshape: cannot reshape [2,3] (6 elements) to [4,2]")
    let h2 = Harness().run("x = zeros([2, 3])\ny = x.sum(2)")
    #expect(h2.lastError == "tensor.sum: axis 2 is out of range for shape [2,3]")
    let h3 = Harness().run("x = zeros([2, 3])\ny = x.nosuch()")
    #expect(h3.lastError.hasPrefix("tensor has no method 'nosuch'"))
}
