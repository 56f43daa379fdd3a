// Point-in-shape and pattern-mark tests of ShapesWorld. Every shape fills the square
// [-1, 1] x [-1, 1] of its box exactly (its bounding box is the box), with v pointing down.

import Foundation

/// The geometry of shapes and patterns, as pure functions of coordinates.
public enum WorldGeometry {
    /// The inner radius of a ring, relative to its outer radius.
    public static let ringInnerRadius: Float = 0.5
    /// The half-width of a cross's arms, relative to the box half-side.
    public static let crossArmHalfWidth: Float = 0.34
    /// The inner radius of a star, relative to its outer radius.
    public static let starInnerRadius: Double = 0.45

    /// The ten vertices of the five-pointed star (one point up), scaled to fill [-1, 1]².
    static let starVertices: [SIMD2<Float>] = {
        var points: [SIMD2<Double>] = []
        for k in 0..<10 {
            let angle = -Double.pi / 2 + Double(k) * Double.pi / 5
            let radius = k % 2 == 0 ? 1 : starInnerRadius
            points.append(SIMD2(radius * cos(angle), radius * sin(angle)))
        }
        let minX = points.map(\.x).min()!, maxX = points.map(\.x).max()!
        let minY = points.map(\.y).min()!, maxY = points.map(\.y).max()!
        return points.map {
            SIMD2(Float(2 * ($0.x - minX) / (maxX - minX) - 1), Float(2 * ($0.y - minY) / (maxY - minY) - 1))
        }
    }()

    // The heart (x² + y² - 1)³ - x²y³ ≤ 0 (y up) spans x ∈ [-1.139, 1.139], y ∈ [-1, 1.236].
    static let heartHalfWidth: Float = 1.139
    static let heartBottom: Float = -1.0
    static let heartTop: Float = 1.236

    /// Whether the point (u, v) of the box's normalised frame lies inside `shape`.
    @inline(__always)
    public static func contains(_ shape: WorldShape, u: Float, v: Float) -> Bool {
        if u < -1 || u > 1 || v < -1 || v > 1 { return false }
        switch shape {
        case .circle:
            return u * u + v * v <= 1
        case .square:
            return true
        case .triangle:
            // Apex at (0, -1), base along v = 1.
            return abs(u) <= (v + 1) / 2
        case .ring:
            let r2 = u * u + v * v
            return r2 <= 1 && r2 >= ringInnerRadius * ringInnerRadius
        case .cross:
            return abs(u) <= crossArmHalfWidth || abs(v) <= crossArmHalfWidth
        case .heart:
            let x = u * heartHalfWidth
            let y = heartTop - (v + 1) / 2 * (heartTop - heartBottom)
            let a = x * x + y * y - 1
            return a * a * a - x * x * y * y * y <= 0
        case .star:
            return insideStar(u, v)
        }
    }

    /// Even-odd crossing test against the star polygon.
    @inline(__always)
    static func insideStar(_ u: Float, _ v: Float) -> Bool {
        let vertices = starVertices
        var inside = false
        var j = vertices.count - 1
        for i in 0..<vertices.count {
            let a = vertices[i], b = vertices[j]
            if (a.y > v) != (b.y > v) {
                let crossX = a.x + (v - a.y) / (b.y - a.y) * (b.x - a.x)
                if u < crossX { inside.toggle() }
            }
            j = i
        }
        return inside
    }

    // MARK: Patterns (in image pixels, so marks keep their size on every object)

    /// Stripes run diagonally; their period across the stripes, in pixels.
    public static let stripePeriod: Float = 5
    /// Converts x + y to stripe periods: the distance across stripes is (x + y) / √2.
    static let stripeScale: Float = 1 / (stripePeriod * Float(2).squareRoot())
    /// The dark fraction of each stripe period.
    public static let stripeDuty: Float = 0.45
    /// Dots sit on a square grid with this period, in pixels.
    public static let dotPeriod: Float = 6
    /// The radius of each dot, in pixels.
    public static let dotRadius: Float = 1.6
    /// The side of a checkerboard cell, in pixels.
    public static let checkerCell: Float = 4

    /// Whether image point (x, y) (pixels) carries a pattern mark, for a pattern whose grid is
    /// shifted by `phase` (each component in [0, 1), a fraction of the period).
    @inline(__always)
    public static func isMark(_ pattern: WorldPattern, x: Float, y: Float, phase: SIMD2<Float>) -> Bool {
        switch pattern {
        case .plain:
            return false
        case .striped:
            let t = (x + y) * stripeScale + phase.x
            return t - t.rounded(.down) < stripeDuty
        case .dotted:
            var dx = x / dotPeriod + phase.x, dy = y / dotPeriod + phase.y
            dx = (dx - dx.rounded(.toNearestOrAwayFromZero)) * dotPeriod
            dy = (dy - dy.rounded(.toNearestOrAwayFromZero)) * dotPeriod
            return dx * dx + dy * dy <= dotRadius * dotRadius
        case .checkered:
            let cx = (x / checkerCell + phase.x * 2).rounded(.down)
            let cy = (y / checkerCell + phase.y * 2).rounded(.down)
            return (Int(cx) + Int(cy)) & 1 == 1
        }
    }
}
