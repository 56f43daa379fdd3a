import SwapTensor

/// A 2-D grid of scalars (attention weights, saliency, ...) to be shown over an image.
///
/// Values are stored row-major (`values[y * width + x]`). Any finite or non-finite floats are
/// allowed; `normalized()` and `overlay` treat NaN as the lowest value and ±infinity as
/// clamped ends.
public struct Heatmap: Sendable, Equatable {
    /// Number of columns.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// `width * height` values, row-major.
    public let values: [Float]

    /// Creates a heatmap; throws when `values.count != width * height` or a side is zero.
    public init(width: Int, height: Int, values: [Float]) throws {
        guard width >= 1, height >= 1 else {
            throw ImageError.argument("heatmap size must be at least 1×1, got \(width)×\(height)")
        }
        let (count, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, values.count == count else {
            throw ImageError.argument("heatmap \(width)×\(height) needs \(width &* height) values, got \(values.count)")
        }
        self.width = width
        self.height = height
        self.values = values
    }

    /// Creates a heatmap from rows of equal length.
    public init(rows: [[Float]]) throws {
        guard let first = rows.first, rows.allSatisfy({ $0.count == first.count }) else {
            throw ImageError.argument("heatmap rows must be non-empty and of equal length")
        }
        try self.init(width: first.count, height: rows.count, values: rows.flatMap { $0 })
    }

    /// Creates a heatmap from a tensor of shape [H, W], [1, H, W] or [1, 1, H, W].
    public init(tensor: Tensor) throws {
        var shape = tensor.shape
        while shape.count > 2, shape.first == 1 { shape.removeFirst() }
        guard shape.count == 2 else {
            throw ImageError.argument("heatmap tensor must be 2-D (optionally with leading 1s), got \(tensor.shape)")
        }
        try self.init(width: shape[1], height: shape[0], values: tensor.scalars)
    }

    /// The value at column `x`, row `y` (traps when out of range, like an array).
    public subscript(x x: Int, y y: Int) -> Float { values[y * width + x] }

    /// Min–max normalised to [0, 1] over the finite values; NaN becomes 0, +infinity 1,
    /// -infinity 0. A constant map becomes all zeros.
    public func normalized() -> Heatmap {
        let finite = values.filter { $0.isFinite }
        let low = finite.min() ?? 0
        let high = finite.max() ?? 0
        let span = high - low
        let mapped = values.map { v -> Float in
            if v.isNaN { return 0 }
            if v == .infinity { return 1 }
            if v == -.infinity { return 0 }
            return span > 0 ? (v - low) / span : 0
        }
        return Heatmap(unchecked: width, height, mapped)
    }

    /// Bilinear resize with `align_corners=False` semantics, matching
    /// `torch.nn.functional.interpolate(mode="bilinear", align_corners=False)` (no antialias):
    /// output pixel centres map to `(i + 0.5) * in / out - 0.5`, clamped at the low edge.
    public func resized(width outWidth: Int, height outHeight: Int) throws -> Heatmap {
        guard outWidth >= 1, outHeight >= 1, outWidth <= 1 << 16, outHeight <= 1 << 16 else {
            throw ImageError.argument("invalid heatmap resize target \(outWidth)×\(outHeight)")
        }
        let grid = Tensor(shape: [1, 1, height, width], scalars: values)
        let resized = try GradMode.withoutGradient { try grid.resizedBilinear(height: outHeight, width: outWidth) }
        return Heatmap(unchecked: outWidth, outHeight, resized.scalars)
    }

    private init(unchecked width: Int, _ height: Int, _ values: [Float]) {
        self.width = width
        self.height = height
        self.values = values
    }
}

/// Blends a colour-mapped heatmap over an image.
///
/// The heatmap is min–max normalised (unless `normalize` is false, in which case its values
/// are clamped to [0, 1]), bilinearly resized to the image size (`align_corners=False`),
/// coloured with `colormap`, and mixed as `(1 - alpha) * image + alpha * colour`.
/// The result is RGB, or RGBA keeping the image's alpha when it has one; metadata is kept.
/// `alpha` is clamped to [0, 1] (NaN counts as 0).
public func overlay(_ image: Image, heatmap: Heatmap, alpha: Float = 0.5,
                    colormap: Colormap = .jet, normalize: Bool = true) throws -> Image {
    let weight: Float = alpha.isNaN ? 0 : min(max(alpha, 0), 1)
    let scaled = try heatmap.resized(width: image.width, height: image.height)
    let levels = normalize ? scaled.normalized().values : scaled.values
    let target = image.hasAlpha ? 4 : 3
    let base = image.converted(toChannels: target)
    var pixels = base.pixels
    for i in 0..<(image.width * image.height) {
        let color = colormap.color(levels[i])
        for c in 0..<3 {
            let j = i * target + c
            pixels[j] = (1 - weight) * pixels[j] + weight * color[c]
        }
    }
    return try Image(width: image.width, height: image.height, channels: target, pixels: pixels,
                     metadata: image.metadata)
}
