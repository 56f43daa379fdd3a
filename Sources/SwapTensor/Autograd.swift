/// Reverse-mode automatic differentiation over the records that ops attach to their outputs.
///
/// Usage:
/// ```
/// let x = latent.requiringGrad()
/// let loss = (model(x) - target).squared().mean()
/// let dx = loss.gradient(with: [x])[0]
/// ```
extension Tensor {
    /// A leaf copy of this tensor whose gradient is tracked.
    public func requiringGrad() -> Tensor {
        var result = Tensor(shape: shape, storage: storage)
        result.gradNode = GradNode(name: "leaf", shape: shape, inputs: [], backward: nil)
        return result
    }

    /// This tensor without its autograd record (shares storage).
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// Whether this tensor takes part in gradient recording.
    public var requiresGrad: Bool { gradNode != nil }

    /// The gradient accumulated in this leaf by the last `backward()`.
    public var grad: Tensor? { gradNode?.grad }

    /// Attaches a backward record to `self`, an op's freshly made output, when gradients are
    /// being recorded and at least one input requires them. `backward` receives the output
    /// gradient and returns one gradient per input (nil where not needed); it runs with
    /// recording off.
    mutating func recordOp(_ name: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?]) {
        guard GradMode.isEnabled, inputs.contains(where: { $0.gradNode != nil }) else { return }
        gradNode = GradNode(name: name, shape: shape, inputs: inputs.map { $0.gradNode }, backward: backward)
    }

    /// Back-propagates from this tensor. A non-scalar root is seeded with `seed` (default: ones).
    /// Leaf gradients accumulate into `grad`. The graph's saved tensors are released as they are
    /// used, so a second backward over the same graph is not possible.
    public func backward(seed: Tensor? = nil) {
        guard let root = gradNode else { return }
        let seedGradient = seed ?? Tensor(shape: shape, repeating: 1)
        precondition(seedGradient.shape == shape, "backward: seed shape \(seedGradient.shape) != \(shape)")
        GradMode.withoutGradient {
            Autograd.run(from: root, seed: seedGradient)
        }
    }

    /// The gradients of this scalar with respect to `inputs` (tensors made by `requiringGrad()`
    /// that this value depends on). Inputs it does not depend on get zeros.
    public func gradient(with inputs: [Tensor]) -> [Tensor] {
        for input in inputs { input.gradNode?.grad = nil }
        backward()
        return inputs.map { $0.gradNode?.grad ?? Tensor(zeros: $0.shape) }
    }
}

enum Autograd {
    static func run(from root: GradNode, seed: Tensor) {
        // Collect every record reachable from the root.
        var nodes: [GradNode] = []
        var seen = Set<ObjectIdentifier>()
        var stack = [root]
        while let node = stack.popLast() {
            guard seen.insert(ObjectIdentifier(node)).inserted else { continue }
            nodes.append(node)
            for case let input? in node.inputs { stack.append(input) }
        }
        nodes.sort { $0.id > $1.id }

        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed]
        for node in nodes {
            guard let outputGradient = pending.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            if node.isLeaf {
                node.grad = node.grad.map { try! $0 + outputGradient } ?? outputGradient
                continue
            }
            guard let backward = node.backwardFunction else {
                preconditionFailure("autograd: backward through \(node.name) a second time; its saved tensors were freed")
            }
            let inputGradients = backward(outputGradient)
            node.backwardFunction = nil  // free what the op saved
            for (input, gradient) in zip(node.inputs, inputGradients) {
                guard let input, let gradient else { continue }
                precondition(gradient.shape == input.shape,
                             "autograd: \(node.name) produced a gradient of shape \(gradient.shape) for an input of shape \(input.shape)")
                let key = ObjectIdentifier(input)
                if let existing = pending[key] {
                    pending[key] = try! existing + gradient
                } else {
                    pending[key] = gradient
                }
            }
            node.inputs = []
        }
    }
}
