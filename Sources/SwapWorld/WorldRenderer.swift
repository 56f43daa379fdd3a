// Rasterises ShapesWorld objects: 4x4 supersamples per pixel give anti-aliased edges and marks.

import SwapTensor

/// Draws object descriptions over a background.
enum WorldRenderer {
    /// Supersamples per pixel along each axis.
    static let samplesPerAxis = 4

    /// Renders `specs` in order (later objects cover earlier ones) over `background` on a
    /// `size` x `size` canvas. Objects partly or wholly outside the canvas are clipped; an
    /// object with a non-positive or non-finite extent or centre draws nothing.
    static func render(_ specs: [WorldObjectSpec], background: WorldBackground,
                       size: Int) -> (image: Tensor, objects: [WorldObject]) {
        let plane = size * size
        var image = Tensor(uninitializedShape: [3, size, size])
        var coverages: [[Float]] = []
        image.withUnsafeMutableBufferPointer { buffer in
            let planes = buffer.baseAddress!
            background.fill(planes, size: size)
            for spec in specs {
                var coverage = [Float](repeating: 0, count: plane)
                draw(spec, into: planes, coverage: &coverage, size: size)
                // What this object covers is hidden from the objects under it.
                for k in coverages.indices {
                    for i in 0..<plane where coverage[i] > 0 { coverages[k][i] *= 1 - coverage[i] }
                }
                coverages.append(coverage)
            }
            // Compositing may round a hair past 1.
            for i in 0..<3 * plane { planes[i] = min(1, max(0, planes[i])) }
        }
        let objects = zip(specs, coverages).map { spec, coverage in
            WorldObject(spec: spec, box: boundingBox(coverage, size: size), coverage: coverage,
                        mask: coverage.map { $0 >= 0.5 })
        }
        return (image, objects)
    }

    /// Composites one object into `planes` and writes its per-pixel coverage.
    private static func draw(_ spec: WorldObjectSpec, into planes: UnsafeMutablePointer<Float>,
                             coverage: inout [Float], size: Int) {
        let half = spec.resolvedExtent / 2
        let center = spec.center
        guard half > 0, half.isFinite, center.x.isFinite, center.y.isFinite else { return }
        let x0 = max(0, Int((center.x - half).rounded(.down)))
        let x1 = min(size, Int((center.x + half).rounded(.up)))
        let y0 = max(0, Int((center.y - half).rounded(.down)))
        let y1 = min(size, Int((center.y + half).rounded(.up)))
        guard x0 < x1, y0 < y1 else { return }
        let n = samplesPerAxis
        let step = 1 / Float(n)
        let weight = 1 / Float(n * n)
        let inverseHalf = 1 / half
        let base = spec.resolvedRGB
        let mark = base * WorldPattern.markShade
        let plane = size * size
        for py in y0..<y1 {
            for px in x0..<x1 {
                var inside = 0, marked = 0
                for sy in 0..<n {
                    let y = Float(py) + (Float(sy) + 0.5) * step
                    let v = (y - center.y) * inverseHalf
                    for sx in 0..<n {
                        let x = Float(px) + (Float(sx) + 0.5) * step
                        guard WorldGeometry.contains(spec.shape, u: (x - center.x) * inverseHalf, v: v) else { continue }
                        inside += 1
                        if WorldGeometry.isMark(spec.pattern, x: x, y: y, phase: spec.patternPhase) { marked += 1 }
                    }
                }
                guard inside > 0 else { continue }
                let cover = Float(inside) * weight
                let paint = (base * Float(inside - marked) + mark * Float(marked)) * weight
                let i = py * size + px
                coverage[i] = cover
                planes[i] = planes[i] * (1 - cover) + paint.x
                planes[plane + i] = planes[plane + i] * (1 - cover) + paint.y
                planes[2 * plane + i] = planes[2 * plane + i] * (1 - cover) + paint.z
            }
        }
    }

    /// The tightest half-open box around every pixel with coverage > 0 (empty box if none).
    static func boundingBox(_ coverage: [Float], size: Int) -> WorldBox {
        var x0 = size, y0 = size, x1 = 0, y1 = 0
        for y in 0..<size {
            for x in 0..<size where coverage[y * size + x] > 0 {
                x0 = min(x0, x); x1 = max(x1, x + 1)
                y0 = min(y0, y); y1 = max(y1, y + 1)
            }
        }
        return x0 < x1 ? WorldBox(x0: x0, y0: y0, x1: x1, y1: y1) : WorldBox(x0: 0, y0: 0, x1: 0, y1: 0)
    }
}
