import Foundation
import SwapIO
import SwapTensor

// P3S-Diffusion's point-supervised mask (paper §III-A, eqs 1–3; spec clic-p3s-metrics.md §4.1):
//   M_P[i,j] = cos(f(p⁺), f(i,j)), M_N[i,j] = cos(f(p⁻), f(i,j))            (eq 1)
//   Mask = Otsu(Ψ(M_P ∗ (1 − M_N)))                                          (eq 2)
// then the outliers not connected to the specified point are removed (eq 3's text). The
// paper leaves the order of upsampling and filtering, σ, the bins and the connectivity open;
// here (all [I], spec §4.1): the N×N combined map is enlarged bilinearly (align_corners=False)
// onto the region the patch grid covers, Ψ is scipy's gaussian_filter (reflect, truncate 4)
// with σ = one patch in pixels, Otsu uses scikit-image's 256 bins, foreground is > threshold,
// and components are 8-connected (skimage's 2-D default). Several positive (negative) points
// take the elementwise maximum of their maps and keep every component holding a positive point.

/// The choices the paper leaves open.
public struct PointMaskSettings: Sendable {
    /// σ of Ψ in image pixels; nil = one patch (image width / grid width).
    public var sigma: Double? = nil
    /// scipy's `truncate`: the kernel radius is Int(truncate·σ + 0.5).
    public var truncate: Double = 4
    /// Otsu's histogram bins.
    public var bins = 256
    public var connectivity: Connectivity = .eight

    public init(sigma: Double? = nil, truncate: Double = 4, bins: Int = 256, connectivity: Connectivity = .eight) {
        self.sigma = sigma
        self.truncate = truncate
        self.bins = bins
        self.connectivity = connectivity
    }
}

/// A pixel position (x to the right, y down).
public struct ImagePoint: Sendable, Equatable, CustomStringConvertible {
    public var x: Double, y: Double
    public init(x: Double, y: Double) { self.x = x; self.y = y }

    /// `[12, 30.5]`.
    public var description: String {
        let text = { (v: Double) in v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v) }
        return "[\(text(x)), \(text(y))]"
    }
}

/// The mask and every intermediate map, for inspection.
public struct PointMaskResult {
    /// The `PatchFeatureSource.name` of the encoder used.
    public let featureSource: String
    public let gridHeight: Int, gridWidth: Int
    /// The grid cells of the positive and negative points.
    public let positiveCells: [(gx: Int, gy: Int)], negativeCells: [(gx: Int, gy: Int)]
    /// M_P and M_N, [gridHeight, gridWidth] cosine similarities (M_N is zero without negatives).
    public let positiveSimilarity: Tensor, negativeSimilarity: Tensor
    /// M_P ∗ (1 − M_N), [gridHeight, gridWidth].
    public let combined: Tensor
    /// The combined map enlarged to the image, [H, W].
    public let upsampled: Tensor
    /// Ψ(upsampled), [H, W].
    public let filtered: Tensor
    /// σ of Ψ in pixels.
    public let sigma: Double
    /// Otsu's threshold of the filtered map, with the histogram it was chosen from.
    public let threshold: Double
    public let histogramCounts: [Double], histogramCenters: [Double]
    /// filtered > threshold, [H, W] of 0/1.
    public let binary: Tensor
    /// The component labels of `binary` (0 = background), [H, W].
    public let labels: Tensor
    public let componentCount: Int
    /// The kept components' labels.
    public let keptLabels: [Int]
    /// False when some positive point fell on the background and the nearest component was kept.
    public let pointsOnMask: Bool
    /// The final mask, [H, W] of 0/1.
    public let mask: Tensor
}

/// The point-supervised mask of P3S.
public enum PointMask {
    /// Cosine similarity of every patch feature to the feature of `cell`: [gridHeight, gridWidth].
    public static func similarityMap(_ patches: PatchFeatures, cell: (gx: Int, gy: Int)) throws -> Tensor {
        let f = patches.features
        let norms = try f.squared().sum(axes: [1], keepDims: true).pow(0.5)        // [N, 1]
        let unit = try f / (norms + 1e-12)
        let anchor = try unit.indexSelect(axis: 0, [cell.gy * patches.gridWidth + cell.gx])   // [1, C]
        let cosine = try unit.matmul(anchor.transposedLastTwo())                           // [N, 1]
        return try cosine.reshaped([patches.gridHeight, patches.gridWidth])
    }

    /// Eq 2's argument before Ψ: M_P ∗ (1 − M_N).
    public static func combine(positive: Tensor, negative: Tensor) throws -> Tensor {
        try positive * (1 - negative)
    }

    /// The elementwise maximum of same-shaped maps.
    static func maximum(_ maps: [Tensor]) throws -> Tensor {
        guard var best = maps.first?.scalars, let shape = maps.first?.shape else { throw EditingError("point_mask: no maps") }
        for m in maps.dropFirst() { best = zip(best, m.scalars).map { Swift.max($0, $1) } }
        return Tensor(shape: shape, scalars: best)
    }

    /// The grid map enlarged bilinearly onto the covered region of a `width`×`height` image;
    /// pixels outside the region take the map's minimum.
    static func upsample(_ map: Tensor, patches: PatchFeatures, width: Int, height: Int) throws -> [Float] {
        let r = patches.region
        let (x0, y0) = (Swift.max(0, Int(r.x0.rounded())), Swift.max(0, Int(r.y0.rounded())))
        let (x1, y1) = (Swift.min(width, Int(r.x1.rounded())), Swift.min(height, Int(r.y1.rounded())))
        guard x1 > x0, y1 > y0 else { throw EditingError("point_mask: the patch grid covers no pixel of the image") }
        let grid = try map.reshaped([1, 1, patches.gridHeight, patches.gridWidth])
        let enlarged = try grid.resizedBilinear(height: y1 - y0, width: x1 - x0).scalars
        var out = [Float](repeating: map.scalars.min() ?? 0, count: width * height)
        for y in y0..<y1 { for x in x0..<x1 { out[y * width + x] = enlarged[(y - y0) * (x1 - x0) + (x - x0)] } }
        return out
    }

    /// Runs the whole chain on `image` with patch features from `source`.
    public static func compute(image: Image, source: any PatchFeatureSource, positive: [ImagePoint], negative: [ImagePoint],
                               settings: PointMaskSettings = PointMaskSettings()) throws -> PointMaskResult {
        guard !positive.isEmpty else { throw EditingError("point_mask: give at least one positive point") }
        let (w, h) = (image.width, image.height)
        for p in positive + negative where !(p.x >= 0 && p.x < Double(w) && p.y >= 0 && p.y < Double(h)) {
            throw EditingError("point_mask: point \(p) is outside the \(w)x\(h) image")
        }
        guard settings.bins >= 2 else { throw EditingError("point_mask: bins must be ≥ 2, got \(settings.bins)") }
        let patches = try GradMode.withoutGradient { try source.patchFeatures(image) }
        func cells(_ points: [ImagePoint]) throws -> [(gx: Int, gy: Int)] {
            try points.map { p in
                guard let c = patches.cell(x: p.x, y: p.y) else {
                    throw EditingError("point_mask: point \(p) lies outside the region the \(source.name) features cover")
                }
                return c
            }
        }
        let positiveCells = try cells(positive), negativeCells = try cells(negative)
        return try GradMode.withoutGradient {
            let mP = try maximum(positiveCells.map { try similarityMap(patches, cell: $0) })
            let mN = negativeCells.isEmpty ? Tensor(shape: mP.shape, scalars: [Float](repeating: 0, count: mP.count))
                : try maximum(negativeCells.map { try similarityMap(patches, cell: $0) })
            let combined = try combine(positive: mP, negative: mN)
            let upsampled = try upsample(combined, patches: patches, width: w, height: h)
            let sigma = settings.sigma ?? (patches.region.x1 - patches.region.x0) / Double(patches.gridWidth)
            let filtered = try GaussianFilter.filter(upsampled, width: w, height: h, sigma: sigma, truncate: settings.truncate)
            let otsu = try OtsuThreshold.otsu(filtered, bins: settings.bins)
            let binary = filtered.map { Double($0) > otsu.threshold }
            let components = try ComponentLabels(binary, width: w, height: h, connectivity: settings.connectivity)
            var kept = Set<Int>(), onMask = true
            for p in positive {
                let (x, y) = (Int(p.x), Int(p.y))
                var l = components.label(x: x, y: y)
                if l == 0 { onMask = false; l = components.nearestLabel(x: x, y: y) }
                if l != 0 { kept.insert(l) }
            }
            let mask = components.mask(keeping: kept)
            let plane = { (values: [Float]) in Tensor(shape: [h, w], scalars: values) }
            return PointMaskResult(
                featureSource: source.name, gridHeight: patches.gridHeight, gridWidth: patches.gridWidth,
                positiveCells: positiveCells, negativeCells: negativeCells, positiveSimilarity: mP, negativeSimilarity: mN,
                combined: combined, upsampled: plane(upsampled), filtered: plane(filtered), sigma: sigma, threshold: otsu.threshold,
                histogramCounts: otsu.counts, histogramCenters: otsu.centers,
                binary: plane(binary.map { $0 ? 1 : 0 }), labels: plane(components.labels.map(Float.init)),
                componentCount: components.count, keptLabels: kept.sorted(), pointsOnMask: onMask,
                mask: plane(mask.map { $0 ? 1 : 0 }))
        }
    }
}
