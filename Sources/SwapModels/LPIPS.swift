import Foundation
import SwapTensor

// matches: richzhang/PerceptualSimilarity lpips/lpips.py (LPIPS v0.1: ScalingLayer, per-layer
// normalize_tensor, squared difference, NetLinLayer 1x1, spatial_average / bilinear upsample,
// sum over layers) and lpips/pretrained_networks.py (alexnet / vgg16 slices); Zhang et al. 2018 eq. 1

/// The Learned Perceptual Image Patch Similarity (LPIPS v0.1) with an AlexNet (default) or
/// VGG16 trunk.
///
/// Weights are one or more safetensors files holding, under torchvision / lpips names:
/// - the trunk as torchvision's `features` module: `features.{i}.weight` [O, I, k, k] and
///   `features.{i}.bias` [O] for the convolutions, i ∈ {0, 3, 6, 8, 10} (AlexNet) or
///   {0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28} (VGG16), from `alexnet-owt-7be5be79.pth` /
///   `vgg16-397923af.pth`;
/// - the learned layers of lpips' `weights/v0.1/{alex,vgg}.pth`: `lin{k}.model.1.weight`
///   [1, C_k, 1, 1], k = 0…4.
///
/// The layer structure (kernels, strides, paddings, pools and the five taps) is fixed by the
/// network; the channel widths are read from the weights (64, 192, 384, 256, 256 for AlexNet,
/// 64, 128, 256, 512, 512 for VGG16) and checked for consistency.
public struct LPIPS: Sendable {
    /// The trunk network.
    public enum Network: String, Sendable, CaseIterable {
        /// torchvision AlexNet `features`, tapped after relu1…relu5 (slices [0–1], [2–4], [5–7], [8–9], [10–11]).
        case alex
        /// torchvision VGG16 `features`, tapped after relu1_2 … relu5_3 (slices ending at 3, 8, 15, 22, 29).
        case vgg
    }

    /// How each feature is scaled to unit length along the channels.
    public enum UnitNormalization: Sendable {
        /// lpips' `normalize_tensor`: f / (sqrt(Σ_c f²) + 1e-10).
        case lpips
        /// torchmetrics' `_normalize_tensor`: f / sqrt(Σ_c f² + 1e-8).
        case torchmetrics
    }

    /// One step of the trunk.
    enum Step: Sendable {
        case conv(Conv2d)
        case relu
        case maxPool(kernel: Int, stride: Int)
    }

    /// The outputs for a batch of image pairs.
    public struct Result: Sendable {
        /// LPIPS of each pair, [N].
        public var value: Tensor
        /// The spatial mean d_l of each layer, [N, 5] (they sum to `value`).
        public var layers: Tensor
        /// When requested: Σ_l of each layer's map upsampled bilinearly to the input size, [N, 1, H, W].
        public var spatial: Tensor?
    }

    /// v0.1 ScalingLayer constants.
    public static let shift: [Float] = [-0.030, -0.088, -0.188]
    public static let scale: [Float] = [0.458, 0.448, 0.450]

    public let network: Network
    let steps: [Step]
    /// The step indices whose outputs are tapped.
    let taps: [Int]
    /// The learned 1x1 weights, [1, C_k, 1, 1].
    let lins: [Tensor]

    /// One layer of a trunk's fixed structure (channel widths come from the weights).
    enum LayerSpec {
        case conv(kernel: Int, stride: Int, padding: Int)
        case relu
        case maxPool(kernel: Int, stride: Int)
    }

    /// The trunk structure (torchvision's `features` indices) and the tapped indices.
    static func layout(_ network: Network) -> (layers: [LayerSpec], taps: [Int]) {
        switch network {
        case .alex:
            return ([.conv(kernel: 11, stride: 4, padding: 2), .relu, .maxPool(kernel: 3, stride: 2),
                     .conv(kernel: 5, stride: 1, padding: 2), .relu, .maxPool(kernel: 3, stride: 2),
                     .conv(kernel: 3, stride: 1, padding: 1), .relu, .conv(kernel: 3, stride: 1, padding: 1), .relu,
                     .conv(kernel: 3, stride: 1, padding: 1), .relu], [1, 4, 7, 9, 11])
        case .vgg:
            var layers: [LayerSpec] = []
            for (stage, convs) in [2, 2, 3, 3, 3].enumerated() {
                if stage > 0 { layers.append(.maxPool(kernel: 2, stride: 2)) }
                for _ in 0..<convs { layers += [.conv(kernel: 3, stride: 1, padding: 1), .relu] }
            }
            return (layers, [3, 8, 15, 22, 29])
        }
    }

    /// Loads `network` from `store` (see the type's documentation for the names). Missing
    /// tensors and inconsistent shapes throw a `ModelLoadError` naming the tensor.
    public init(network: Network = .alex, weights store: WeightStore) throws {
        let (layout, taps) = Self.layout(network)
        var steps: [Step] = []
        var channels = 3
        var tapWidths: [Int] = []
        for (i, spec) in layout.enumerated() {
            switch spec {
            case .conv(let kernel, let stride, let padding):
                let name = "features.\(i)"
                guard store.contains(name + ".weight") else {
                    throw ModelLoadError("LPIPS \(network.rawValue): missing tensor '\(name).weight' (a [out, \(channels), \(kernel), \(kernel)] convolution of torchvision's \(network == .alex ? "alexnet" : "vgg16").features)")
                }
                let weight = try store.tensor(name + ".weight")
                guard weight.rank == 4, weight.shape[1] == channels, weight.shape[2] == kernel, weight.shape[3] == kernel else {
                    throw ModelLoadError("LPIPS \(network.rawValue): tensor '\(name).weight' has shape \(formatShape(weight.shape)), expected [out, \(channels), \(kernel), \(kernel)]")
                }
                channels = weight.shape[0]
                let bias = try store.tensor(name + ".bias", shape: [channels])
                steps.append(.conv(Conv2d(weight: weight, bias: bias, stride: stride, padding: padding)))
            case .relu:
                steps.append(.relu)
            case .maxPool(let kernel, let stride):
                steps.append(.maxPool(kernel: kernel, stride: stride))
            }
            if taps.contains(i) { tapWidths.append(channels) }
        }
        self.network = network
        self.steps = steps
        self.taps = taps
        lins = try tapWidths.enumerated().map { k, width in
            try store.tensor("lin\(k).model.1.weight", shape: [1, width, 1, 1])
        }
    }

    /// Loads from safetensors files (trunk and linear layers may be in separate files).
    public init(network: Network = .alex, paths: [String]) throws {
        try self.init(network: network, weights: WeightStore(paths: paths))
    }

    /// The tapped features of x [N, 3, H, W] (already scaled).
    func features(_ x: Tensor) throws -> [Tensor] {
        var h = x
        var out: [Tensor] = []
        for (i, step) in steps.enumerated() where i <= (taps.last ?? 0) {
            switch step {
            case .conv(let conv): h = try conv(h)
            case .relu: h = h.relu()
            case .maxPool(let kernel, let stride): h = try h.maxPool2d(kernel: kernel, stride: stride)
            }
            if taps.contains(i) { out.append(h) }
        }
        return out
    }

    /// LPIPS between `a` and `b`, both [N, 3, H, W] in [−1, 1] (or [0, 1] with `normalize`, which
    /// maps x to 2x − 1 first). Any H×W the trunk accepts works (AlexNet needs at least 31
    /// pixels a side, VGG16 16); there is no resizing. Differentiable in `a` and `b`.
    public func callAsFunction(_ a: Tensor, _ b: Tensor, normalize: Bool = false, spatial: Bool = false,
                               unitNormalization: UnitNormalization = .lpips) throws -> Result {
        guard a.rank == 4, a.shape == b.shape, a.shape[1] == 3, a.shape[0] > 0 else {
            throw TensorError("lpips", "images have shapes \(formatShape(a.shape)) and \(formatShape(b.shape)), expected the same [N, 3, H, W]")
        }
        let n = a.shape[0], (height, width) = (a.shape[2], a.shape[3])
        let shift = Tensor(shape: [1, 3, 1, 1], scalars: Self.shift), scale = Tensor(shape: [1, 3, 1, 1], scalars: Self.scale)
        var both = try Tensor.concat([a, b], axis: 0)
        if normalize { both = both * 2 - 1 }
        let tapped = try features((both - shift) / scale)
        var value: Tensor? = nil, map: Tensor? = nil
        var perLayer: [Tensor] = []
        for (f, lin) in zip(tapped, lins) {
            let squares = try (f * f).sum(axes: [1], keepDims: true)
            let norm = unitNormalization == .lpips ? squares.sqrt() + 1e-10 : (squares + 1e-8).sqrt()
            let unit = try f / norm
            let f0 = try unit.sliced(axis: 0, start: 0, end: n), f1 = try unit.sliced(axis: 0, start: n, end: 2 * n)
            let difference = try f0 - f1
            let d = try (difference * difference).conv2d(weight: lin)
            let layerMean = try d.mean(axes: [2, 3]).reshaped([n, 1])
            perLayer.append(layerMean)
            value = try value.map { try $0 + layerMean } ?? layerMean
            if spatial {
                let up = try d.resizedBilinear(height: height, width: width)
                map = try map.map { try $0 + up } ?? up
            }
        }
        guard let value else { throw TensorError("lpips", "the trunk has no taps") }
        return Result(value: try value.reshaped([n]), layers: try Tensor.concat(perLayer, axis: 1), spatial: map)
    }
}
