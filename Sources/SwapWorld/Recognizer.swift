// The ShapesWorld recognizer (issue 7): an analytic reader of shape, colour and pattern.
//
// 1. Segment: fit an affine background colour to the light, grey pixels; objects are the
//    8-connected regions that stand out from it (`RecognizerCanvas`).
// 2. Colour: the most saturated 40% of the object's interior give its colour, matched to the
//    nearest named colour up to a brightness factor (blur and marks darken, never tint).
// 3. Shape: the object's coverage (distance from the background relative to its colour's)
//    is compared with every shape drawn into the object's box; the best soft IoU wins.
// 4. Pattern: the shading of the interior relative to the object's colour (`PatternFeatures`).

import SwapIO
import SwapTensor

/// What the recognizer read from one object.
public struct WorldRecognition: Sendable, Equatable {
    public var shape: WorldShape
    public var color: WorldColor
    public var pattern: WorldPattern
    /// The object's box: pixels at least half covered by it.
    public var box: WorldBox
    /// The smallest of the three per-label confidences, in [0, 1].
    public var confidence: Float
    /// The best soft IoU of the object with a drawn shape, in [0, 1].
    public var shapeConfidence: Float
    /// 1 - (distance to the nearest named colour) / (distance to the second nearest).
    public var colorConfidence: Float
    /// How far the deciding pattern feature lies from its threshold, in [0, 1].
    public var patternConfidence: Float
    /// The soft IoU of the object with each shape.
    public var shapeScores: [WorldShape: Float]
    /// The measured colour of the unmarked part of the object.
    public var measuredRGB: SIMD3<Float>
    /// The number of pixels in the object's region.
    public var area: Int
}

/// Reads shape, colour and pattern from ShapesWorld images (renders, reconstructions, samples).
public enum WorldRecognizer {
    /// Regions smaller than this many pixels are noise, not objects.
    public static let minimumArea = 12

    /// Recognizes the object inside `box` (the largest region in it), or, with no box, the
    /// largest object of the image. `image` has shape [3, 64, 64] or [1, 3, 64, 64] with values
    /// in [0, 1]. Returns nil when nothing stands out from the background.
    /// Throws `WorldError` for an image of another shape or a box not inside the image.
    public static func recognize(_ image: Tensor, box: WorldBox? = nil) throws -> WorldRecognition? {
        let canvas = try canvas(of: image, operation: "recognize")
        let region = try searchRegion(box, size: canvas.size)
        guard let largest = canvas.regions(in: region).first, largest.count >= minimumArea else { return nil }
        return analyze(largest, canvas: canvas)
    }

    /// Recognizes every object of the image, in caption order (left to right, or top to
    /// bottom when two objects are apart only vertically).
    public static func recognizeAll(_ image: Tensor) throws -> [WorldRecognition] {
        let canvas = try canvas(of: image, operation: "recognizeAll")
        let whole = WorldBox(x0: 0, y0: 0, x1: canvas.size, y1: canvas.size)
        let found = canvas.regions(in: whole).filter { $0.count >= minimumArea }.map { analyze($0, canvas: canvas) }
        let specs = found.map { WorldObjectSpec(shape: $0.shape, color: $0.color, center: $0.box.center,
                                                extent: Float(max($0.box.width, $0.box.height))) }
        if found.count == 2 { return WorldCaption.arrange(specs, size: canvas.size).order.map { found[$0] } }
        return found.sorted { ($0.box.center.x, $0.box.center.y) < ($1.box.center.x, $1.box.center.y) }
    }

    /// `recognize` for an `Image` (converted to RGB; its size must be 64 x 64).
    public static func recognize(_ image: Image, box: WorldBox? = nil) throws -> WorldRecognition? {
        try recognize(image.rgb.tensor(range: .zeroToOne), box: box)
    }

    // MARK: Input checks

    static func canvas(of image: Tensor, operation: String) throws -> RecognizerCanvas {
        let size = ShapesWorld.size
        let shape = image.shape
        guard shape == [3, size, size] || shape == [1, 3, size, size] else {
            throw WorldError(operation, "expected a \(size)x\(size) RGB image (a tensor of shape [3, \(size), \(size)] or [1, 3, \(size), \(size)]), got shape \(shape)")
        }
        return RecognizerCanvas(planes: image.scalars.map { $0.isNaN ? 0 : $0 }, size: size)
    }

    /// The part of the image to search: the box grown by one pixel (clipped), or everything.
    static func searchRegion(_ box: WorldBox?, size: Int) throws -> WorldBox {
        guard let box else { return WorldBox(x0: 0, y0: 0, x1: size, y1: size) }
        guard box.fits(imageSize: size) else {
            throw WorldError("recognize", "\(box) is not a non-empty box inside the \(size)x\(size) image")
        }
        return WorldBox(x0: max(0, box.x0 - 1), y0: max(0, box.y0 - 1), x1: min(size, box.x1 + 1), y1: min(size, box.y1 + 1))
    }

    // MARK: Analysis of one region

    static func analyze(_ region: [Int], canvas: RecognizerCanvas) -> WorldRecognition {
        let size = canvas.size
        let members = Set(region)
        let interior = erodedInterior(members, size: size)
        let base = baseColor(interior.isEmpty ? region : interior, canvas: canvas)
        let (color, colorConfidence) = nearestColor(base)

        // Coverage: distance from the background relative to the object colour's distance.
        var backgroundMean = SIMD3<Float>.zero
        for i in region { backgroundMean += canvas.background[i] }
        backgroundMean /= Float(region.count)
        let full = max(0.05, ((base - backgroundMean) * (base - backgroundMean)).sum().squareRoot())
        var x0 = size, y0 = size, x1 = 0, y1 = 0
        for i in region { x0 = min(x0, i % size); x1 = max(x1, i % size + 1); y0 = min(y0, i / size); y1 = max(y1, i / size + 1) }
        // The window: the region's bounds grown by two pixels; pixels of other regions are 0.
        let window = WorldBox(x0: max(0, x0 - 2), y0: max(0, y0 - 2), x1: min(size, x1 + 2), y1: min(size, y1 + 2))
        var alpha = [Float](repeating: 0, count: size * size)
        var bx0 = size, by0 = size, bx1 = 0, by1 = 0
        for y in window.y0..<window.y1 {
            for x in window.x0..<window.x1 {
                let i = y * size + x
                let nearRegion = members.contains(i) || canvas.distance[i] < canvas.foregroundThreshold * 1.5
                guard nearRegion else { continue }
                alpha[i] = min(1, canvas.distance[i] / full)
                if alpha[i] >= 0.5, members.contains(i) || touches(i, members, size: size) {
                    bx0 = min(bx0, x); bx1 = max(bx1, x + 1); by0 = min(by0, y); by1 = max(by1, y + 1)
                }
            }
        }
        if bx0 >= bx1 || by0 >= by1 { bx0 = x0; bx1 = x1; by0 = y0; by1 = y1 }
        let box = WorldBox(x0: bx0, y0: by0, x1: bx1, y1: by1)
        // Blur and soft edges leave thin parts (star points) under half coverage, so the box
        // may be a little small: try it grown by up to a pixel on each side.
        let ious = WorldShape.allCases.map { shape in
            shapeGrowths.map { softIoU(shape, box: box, grownBy: $0, alpha: alpha, window: window, size: size) }.max() ?? 0
        }
        // The best shape; ties go to the earlier one in `allCases`.
        var best = 0
        for k in ious.indices where ious[k] > ious[best] { best = k }
        let scores = Dictionary(uniqueKeysWithValues: zip(WorldShape.allCases, ious))
        let shapeConfidence = ious[best]

        let patternInterior = interior.count >= 8 ? interior : region
        let features = PatternFeatures(pixels: canvas.pixels, interior: patternInterior, base: base,
                                       noise: canvas.noise, size: size)
        let (pattern, patternConfidence) = features.classification
        return WorldRecognition(
            shape: WorldShape.allCases[best], color: color, pattern: pattern, box: box,
            confidence: min(shapeConfidence, colorConfidence, patternConfidence),
            shapeConfidence: shapeConfidence, colorConfidence: colorConfidence, patternConfidence: patternConfidence,
            shapeScores: scores, measuredRGB: base, area: region.count)
    }

    /// Whether pixel `i` has an 8-neighbour in `members`.
    static func touches(_ i: Int, _ members: Set<Int>, size: Int) -> Bool {
        let x = i % size, y = i / size
        for ny in max(0, y - 1)...min(size - 1, y + 1) {
            for nx in max(0, x - 1)...min(size - 1, x + 1) where members.contains(ny * size + nx) { return true }
        }
        return false
    }

    /// The region eroded twice (4-neighbourhood) when at least 20 pixels survive, else once
    /// (empty when nothing survives), sorted.
    static func erodedInterior(_ members: Set<Int>, size: Int) -> [Int] {
        func erode(_ set: Set<Int>) -> Set<Int> {
            set.filter { i in
                let x = i % size, y = i / size
                return x > 0 && x < size - 1 && y > 0 && y < size - 1
                    && set.contains(i - 1) && set.contains(i + 1) && set.contains(i - size) && set.contains(i + size)
            }
        }
        let once = erode(members)
        let twice = erode(once)
        return (twice.count >= 20 ? twice : once).sorted()
    }

    /// The mean colour of the most saturated 40% of `pixels` (marks and edge blends are less
    /// saturated than the object's own colour).
    static func baseColor(_ indices: [Int], canvas: RecognizerCanvas) -> SIMD3<Float> {
        let chroma = { (i: Int) -> Float in canvas.pixels[i].max() - canvas.pixels[i].min() }
        let sorted = indices.sorted { chroma($0) != chroma($1) ? chroma($0) > chroma($1) : $0 < $1 }
        let top = sorted.prefix(max(1, sorted.count * 2 / 5))
        var sum = SIMD3<Float>.zero
        for i in top { sum += canvas.pixels[i] }
        return sum / Float(top.count)
    }

    /// The brightness factors a measured colour may have relative to its named colour.
    static let brightnessRange: ClosedRange<Float> = 0.7...1.1

    /// The named colour nearest to `rgb` up to a brightness factor, and the confidence
    /// 1 - best / second-best distance.
    static func nearestColor(_ rgb: SIMD3<Float>) -> (WorldColor, Float) {
        let distances = WorldColor.allCases.map { color -> Float in
            let c = color.rgb
            let k = min(brightnessRange.upperBound, max(brightnessRange.lowerBound, (rgb * c).sum() / (c * c).sum()))
            let d = rgb - c * k
            return (d * d).sum().squareRoot()
        }
        let order = distances.indices.sorted { distances[$0] < distances[$1] }
        let confidence = distances[order[1]] > 0 ? 1 - distances[order[0]] / distances[order[1]] : 0
        return (WorldColor.allCases[order[0]], confidence)
    }

    /// The amounts (pixels per side) by which shape templates grow the measured box.
    static let shapeGrowths: [Float] = [0, 0.5, 1]

    /// Σ min(alpha, template) / Σ max(alpha, template) over `window`, where the template is
    /// `shape` drawn (4x4 supersampled) to fill `box` grown by `grownBy` pixels on each side.
    static func softIoU(_ shape: WorldShape, box: WorldBox, grownBy growth: Float, alpha: [Float],
                        window: WorldBox, size: Int) -> Float {
        let cx = Float(box.x0 + box.x1) / 2, cy = Float(box.y0 + box.y1) / 2
        let invHalfX = 1 / (Float(box.width) / 2 + growth), invHalfY = 1 / (Float(box.height) / 2 + growth)
        let n = WorldRenderer.samplesPerAxis
        var intersection: Float = 0, union: Float = 0
        for y in window.y0..<window.y1 {
            for x in window.x0..<window.x1 {
                var inside = 0
                if x >= box.x0 - 2, x <= box.x1 + 1, y >= box.y0 - 2, y <= box.y1 + 1 {
                    for sy in 0..<n {
                        let v = (Float(y) + (Float(sy) + 0.5) / Float(n) - cy) * invHalfY
                        for sx in 0..<n {
                            let u = (Float(x) + (Float(sx) + 0.5) / Float(n) - cx) * invHalfX
                            if WorldGeometry.contains(shape, u: u, v: v) { inside += 1 }
                        }
                    }
                }
                let t = Float(inside) / Float(n * n)
                let a = alpha[y * size + x]
                intersection += min(a, t)
                union += max(a, t)
            }
        }
        return union > 0 ? intersection / union : 0
    }
}
