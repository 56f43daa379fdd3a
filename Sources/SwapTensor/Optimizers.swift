import Foundation

/// A first-order optimiser over a list of parameters (torch.optim semantics).
///
/// Parameters are plain tensors owned by the optimiser. Each iteration: take
/// `parameters` (leaves that record gradients), compute a loss, get gradients with
/// `loss.gradient(with:)`, then call `step(gradients:)`.
public protocol Optimizer {
    /// The current parameter values, as gradient-tracking leaves.
    var parameters: [Tensor] { get }
    /// Applies one update with one gradient per parameter.
    mutating func step(gradients: [Tensor])
}

/// `torch.optim.SGD(lr, momentum, weight_decay)` (dampening 0, no Nesterov).
public struct SGD: Optimizer {
    public private(set) var values: [Tensor]
    public var learningRate: Float
    public var momentum: Float
    public var weightDecay: Float
    private var velocity: [Tensor?]

    public init(_ values: [Tensor], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        self.values = values.map { $0.detached() }
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        velocity = Array(repeating: nil, count: values.count)
    }

    public var parameters: [Tensor] { values.map { $0.requiringGrad() } }

    public mutating func step(gradients: [Tensor]) {
        GradMode.withoutGradient {
            for i in values.indices {
                var g = gradients[i]
                if weightDecay != 0 { g.addScaled(values[i], weightDecay) }
                if momentum != 0 {
                    if var v = velocity[i] {
                        v = v * momentum
                        v.addScaled(g, 1)
                        velocity[i] = v
                    } else {
                        velocity[i] = g
                    }
                    g = velocity[i]!
                }
                values[i].addScaled(g, -learningRate)
            }
        }
    }
}

/// `torch.optim.Adam` and, with `decoupledWeightDecay`, `torch.optim.AdamW`.
public struct Adam: Optimizer {
    public private(set) var values: [Tensor]
    public var learningRate: Float
    public var beta1: Float, beta2: Float, eps: Float
    public var weightDecay: Float
    /// AdamW when true: decay multiplies the parameter by (1 − lr·wd) before the Adam step.
    public let decoupledWeightDecay: Bool
    public private(set) var stepCount = 0
    /// Running averages of the gradient and its square (for checkpoints).
    public private(set) var firstMoment: [Tensor]
    public private(set) var secondMoment: [Tensor]

    public init(_ values: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        self.values = values.map { $0.detached() }
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        firstMoment = values.map { Tensor(zeros: $0.shape) }
        secondMoment = values.map { Tensor(zeros: $0.shape) }
    }

    /// `torch.optim.AdamW` defaults (weight decay 0.01).
    public static func adamW(_ values: [Tensor], learningRate: Float = 1e-3, weightDecay: Float = 1e-2) -> Adam {
        Adam(values, learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    public var parameters: [Tensor] { values.map { $0.requiringGrad() } }

    /// Restores a checkpointed state (values, moments and step count), so that training
    /// resumes exactly where it stopped.
    public mutating func restore(values: [Tensor], firstMoment: [Tensor], secondMoment: [Tensor], stepCount: Int) {
        precondition(values.count == self.values.count && firstMoment.count == values.count && secondMoment.count == values.count,
                     "Adam.restore: \(values.count) values for \(self.values.count) parameters")
        self.values = values.map { $0.detached() }
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
        self.stepCount = stepCount
    }

    public mutating func step(gradients: [Tensor]) {
        stepCount += 1
        let t = Float(stepCount)
        let correction1 = 1 - Foundation.pow(beta1, t), sqrtCorrection2 = (1 - Foundation.pow(beta2, t)).squareRoot()
        let (lr, b1, b2, eps, wd, decoupled) = (learningRate, beta1, beta2, eps, weightDecay, decoupledWeightDecay)
        for i in values.indices {
            precondition(gradients[i].shape == values[i].shape, "Adam: gradient \(gradients[i].shape) for parameter \(values[i].shape)")
            let g = gradients[i].storage.pointer
            let n = values[i].count
            values[i].gradNode = nil
            values[i].withUnsafeMutableBufferPointer { pBuf in
                firstMoment[i].withUnsafeMutableBufferPointer { mBuf in
                    secondMoment[i].withUnsafeMutableBufferPointer { vBuf in
                        let p = pBuf.baseAddress!, m = mBuf.baseAddress!, v = vBuf.baseAddress!
                        Parallel.forEach(n) { range in
                            for j in range {
                                var grad = g[j]
                                if decoupled { p[j] *= 1 - lr * wd } else if wd != 0 { grad += wd * p[j] }
                                m[j] = b1 * m[j] + (1 - b1) * grad
                                v[j] = b2 * v[j] + (1 - b2) * grad * grad
                                let denominator = v[j].squareRoot() / sqrtCorrection2 + eps
                                p[j] -= lr / correction1 * m[j] / denominator
                            }
                        }
                    }
                }
            }
        }
    }
}
