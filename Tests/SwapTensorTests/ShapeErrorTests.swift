import Foundation
import Testing
@testable import SwapTensor

/// Wrong shapes give a `TensorError` naming the operation and the shapes; nothing traps.
struct ShapeErrorTests {
    static let a = Tensor(zeros: [2, 3]), b = Tensor(zeros: [4, 5])

    static let cases: [String: (body: @Sendable () throws -> Void, message: String)] = [
        "add": ({ _ = try a + b }, "add: shapes [2,3] and [4,5] do not broadcast"),
        "matmul": ({ _ = try a.matmul(b) }, "matmul: inner dimensions differ: [2,3] × [4,5]"),
        "reshape": ({ _ = try a.reshaped([4, 2]) }, "reshape: cannot reshape [2,3] (6 elements) to [4,2]"),
        "permute": ({ _ = try a.permuted([0, 0]) }, "permute: order [0, 0] is not a permutation of the axes of [2,3]"),
        "conv2d": ({ _ = try Tensor(zeros: [1, 3, 8, 8]).conv2d(weight: Tensor(zeros: [4, 4, 3, 3])) },
         "conv2d: input [1,3,8,8] does not match weight [4,4,3,3] (expected input [N, 4, H, W])"),
        "group_norm": ({ _ = try Tensor(zeros: [1, 6, 2, 2]).groupNorm(groups: 4, weight: nil, bias: nil, eps: 1e-5) },
         "group_norm: 6 channels of [1,6,2,2] do not split into 4 groups"),
        "sum": ({ _ = try a.sum(axes: [2]) }, "sum: axis 2 is out of range for shape [2,3]"),
        "concat": ({ _ = try Tensor.concat([a, b], axis: 0) }, "concat: shapes [2,3], [4,5] differ outside axis 0"),
        "attention": ({ _ = try Tensor.attention(query: Tensor(zeros: [1, 4, 8]), key: Tensor(zeros: [1, 5, 6]), value: Tensor(zeros: [1, 5, 6])) },
         "attention: expects q [B, Lq, D], k [B, Lk, D], v [B, Lk, Dv]; got q [1,4,8], k [1,5,6], v [1,5,6]"),
        "index_select": ({ _ = try a.indexSelect(axis: 1, [3]) }, "index_select: index out of range 0..<3 on axis 1 of [2,3]"),
    ]

    @Test(arguments: cases.keys.sorted())
    func errorNamesOperationAndShapes(_ name: String) throws {
        let (body, message) = try #require(Self.cases[name])
        do {
            try body()
            Issue.record("\(name) did not throw")
        } catch let error as TensorError {
            #expect(error.description == message)
        } catch {
            Issue.record("\(name) threw \(error)")
        }
    }
}

/// The backward pass frees each op's saved tensors as soon as it has used them.
struct AutogradMemoryTests {
    @Test func backwardReleasesIntermediateRecords() throws {
        let x = Tensor(shape: [4], scalars: [0.1, 0.2, 0.3, 0.4]).requiringGrad()
        weak var intermediate: GradNode?
        let loss: Tensor = {
            let a = x.exp()  // saves its output for the backward pass
            intermediate = a.gradNode
            return a.exp().sum()
        }()
        #expect(intermediate != nil, "the graph keeps the intermediate record until backward")
        loss.backward()
        #expect(intermediate == nil, "backward released the intermediate record and what it saved")
        // d/dx exp(exp(x)) = exp(exp(x))·exp(x)
        let expected = x.scalars.map { Foundation.exp(Foundation.exp($0)) * Foundation.exp($0) }
        for (g, e) in zip(try #require(x.grad).scalars, expected) { #expect(abs(g - e) < 1e-5 * e) }
    }

    @Test func gradientModeIsPerTask() async {
        let x = Tensor(scalar: 2).requiringGrad()
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { GradMode.withoutGradient { x.exp().requiresGrad } }
            group.addTask { x.exp().requiresGrad }
            var results: [Bool] = []
            for await r in group { results.append(r) }
            #expect(Set(results) == [false, true])
        }
    }
}
