import SwapTensor

// The parameterised layers every model is built from, each loading itself from a WeightStore
// under the PyTorch parameter names (`weight`, `bias`).

/// `torch.nn.Linear`.
public struct Linear: Sendable {
    public var weight: Tensor
    public var bias: Tensor?

    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    public init(_ store: WeightStore, _ prefix: String, inFeatures: Int, outFeatures: Int, bias hasBias: Bool = true) throws {
        weight = try store.tensor(prefix + ".weight", shape: [outFeatures, inFeatures])
        bias = hasBias ? try store.tensor(prefix + ".bias", shape: [outFeatures]) : nil
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.linear(weight: weight, bias: bias) }
}

/// `torch.nn.Conv2d` (groups 1, dilation 1).
public struct Conv2d: Sendable {
    public var weight: Tensor
    public var bias: Tensor?
    public var stride: Int
    public var padding: Int

    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) {
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
    }

    public init(_ store: WeightStore, _ prefix: String, inChannels: Int, outChannels: Int, kernel: Int,
                stride: Int = 1, padding: Int = 0, bias hasBias: Bool = true) throws {
        weight = try store.tensor(prefix + ".weight", shape: [outChannels, inChannels, kernel, kernel])
        bias = hasBias ? try store.tensor(prefix + ".bias", shape: [outChannels]) : nil
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
    }
}

/// `torch.nn.GroupNorm` (affine).
public struct GroupNorm: Sendable {
    public var weight: Tensor
    public var bias: Tensor
    public var groups: Int
    public var eps: Float

    public init(_ store: WeightStore, _ prefix: String, groups: Int, channels: Int, eps: Float) throws {
        weight = try store.tensor(prefix + ".weight", shape: [channels])
        bias = try store.tensor(prefix + ".bias", shape: [channels])
        self.groups = groups
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.groupNorm(groups: groups, weight: weight, bias: bias, eps: eps)
    }
}

/// `torch.nn.LayerNorm` over the last axis (affine).
public struct LayerNorm: Sendable {
    public var weight: Tensor
    public var bias: Tensor
    public var eps: Float

    public init(weight: Tensor, bias: Tensor, eps: Float) {
        self.weight = weight
        self.bias = bias
        self.eps = eps
    }

    public init(_ store: WeightStore, _ prefix: String, dimension: Int, eps: Float) throws {
        weight = try store.tensor(prefix + ".weight", shape: [dimension])
        bias = try store.tensor(prefix + ".bias", shape: [dimension])
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.layerNorm(weight: weight, bias: bias, eps: eps) }
}

/// `torch.nn.Embedding`.
public struct Embedding: Sendable {
    public var weight: Tensor

    public init(_ store: WeightStore, _ prefix: String, count: Int, dimension: Int) throws {
        weight = try store.tensor(prefix + ".weight", shape: [count, dimension])
    }

    /// Rows `ids` of the table, shape [ids.count, dimension].
    public func callAsFunction(_ ids: [Int]) throws -> Tensor { try weight.indexSelect(axis: 0, ids) }
}
