// The value types of ShapesWorld: boxes, object descriptions, rendered objects and scenes.

import SwapTensor

/// An integer pixel box, half-open: it covers x0 ..< x1 and y0 ..< y1.
public struct WorldBox: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public var x0: Int, y0: Int, x1: Int, y1: Int

    public init(x0: Int, y0: Int, x1: Int, y1: Int) {
        self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1
    }

    public var width: Int { max(0, x1 - x0) }
    public var height: Int { max(0, y1 - y0) }
    public var isEmpty: Bool { width == 0 || height == 0 }
    /// The number of pixels inside.
    public var area: Int { width * height }
    /// The centre, in pixels.
    public var center: SIMD2<Float> { SIMD2(Float(x0 + x1) / 2, Float(y0 + y1) / 2) }

    /// Whether the box lies inside a `size` x `size` image.
    public func fits(imageSize size: Int) -> Bool {
        x0 >= 0 && y0 >= 0 && x1 <= size && y1 <= size && !isEmpty
    }

    /// The number of pixels both boxes cover.
    public func intersectionArea(_ other: WorldBox) -> Int {
        max(0, min(x1, other.x1) - max(x0, other.x0)) * max(0, min(y1, other.y1) - max(y0, other.y0))
    }

    /// Intersection over union (0 when both are empty).
    public func iou(_ other: WorldBox) -> Float {
        let inter = intersectionArea(other)
        let union = area + other.area - inter
        return union > 0 ? Float(inter) / Float(union) : 0
    }

    public var description: String { "box(\(x0), \(y0), \(x1), \(y1))" }
}

/// What to draw: the labels of one object, where it sits and how big it is.
public struct WorldObjectSpec: Sendable, Equatable, Codable {
    public var shape: WorldShape
    public var color: WorldColor
    public var pattern: WorldPattern
    public var size: WorldSize
    /// The centre of the object's square box, in pixels (continuous: pixel (i, j) spans
    /// [i, i + 1) x [j, j + 1)).
    public var center: SIMD2<Float>
    /// The side of the square box, in pixels. `nil` takes the middle of `size.extentRange`.
    public var extent: Float?
    /// The colour actually painted; `nil` paints `color.rgb`.
    public var rgb: SIMD3<Float>?
    /// The shift of the pattern grid, each component a fraction of a period in [0, 1).
    public var patternPhase: SIMD2<Float>

    public init(shape: WorldShape, color: WorldColor, pattern: WorldPattern = .plain,
                size: WorldSize = .large, center: SIMD2<Float> = SIMD2(32, 32),
                extent: Float? = nil, rgb: SIMD3<Float>? = nil,
                patternPhase: SIMD2<Float> = .zero) {
        self.shape = shape; self.color = color; self.pattern = pattern; self.size = size
        self.center = center; self.extent = extent; self.rgb = rgb; self.patternPhase = patternPhase
    }

    /// The box side used for drawing.
    public var resolvedExtent: Float {
        extent ?? (size.extentRange.lowerBound + size.extentRange.upperBound) / 2
    }

    /// The colour used for drawing.
    public var resolvedRGB: SIMD3<Float> { rgb ?? color.rgb }
}

/// A rendered object with its ground truth.
public struct WorldObject: Sendable, Equatable {
    /// What was drawn.
    public var spec: WorldObjectSpec
    /// The tightest pixel box around every pixel the object touches (coverage > 0).
    public var box: WorldBox
    /// Per-pixel coverage in [0, 1] (size x size, row-major), from the supersampled rendering.
    public var coverage: [Float]
    /// Pixels at least half covered (size x size, row-major).
    public var mask: [Bool]
    /// Where the caption places the object (see `WorldCaption.arrange`).
    public var placement: WorldPlacement = .center

    public var shape: WorldShape { spec.shape }
    public var color: WorldColor { spec.color }
    public var pattern: WorldPattern { spec.pattern }
    public var size: WorldSize { spec.size }
    /// The centre of the drawn box, in pixels.
    public var center: SIMD2<Float> { spec.center }

    /// The coverage as a tensor of shape [size, size].
    public var coverageTensor: Tensor {
        let side = Int(Double(coverage.count).squareRoot())
        return Tensor(shape: [side, side], scalars: coverage)
    }

    /// The mask as a tensor of shape [size, size] holding 0 or 1.
    public var maskTensor: Tensor {
        let side = Int(Double(mask.count).squareRoot())
        return Tensor(shape: [side, side], scalars: mask.map { $0 ? 1 : 0 })
    }

    /// The number of mask pixels.
    public var maskArea: Int { mask.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// The labels as words, e.g. "small red striped circle".
    public var labelDescription: String {
        ([spec.size.rawValue, spec.color.rawValue] + (spec.pattern.captionWord.map { [$0] } ?? [])
            + [spec.shape.rawValue]).joined(separator: " ")
    }
}

/// A rendered scene: its image, caption and ground truth.
public struct WorldScene: Sendable {
    /// The seed the scene was drawn from (0 for scenes built with `ShapesWorld.render`).
    public var seed: UInt64
    /// The split it was drawn from.
    public var split: WorldSplit
    /// The image, shape [3, size, size], values in [0, 1].
    public var image: Tensor
    /// The caption, from the grammar of `WorldCaption`.
    public var caption: String
    /// The objects, in caption order (left to right, or top to bottom).
    public var objects: [WorldObject]
    /// The background.
    public var background: WorldBackground
}
