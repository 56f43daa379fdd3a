// Backgrounds of ShapesWorld: light plain tints, light two-tint gradients, light noise.

/// A scene's background. All backgrounds are light, so every named colour stands out.
public enum WorldBackground: Sendable, Equatable, Codable {
    /// One light tint.
    case plain(tint: WorldTint)
    /// A linear blend from `from` to `to` along `direction` (a unit vector in image pixels).
    case gradient(from: WorldTint, to: WorldTint, direction: SIMD2<Float>)
    /// A light tint with independent uniform grey noise of amplitude `amplitude` per pixel,
    /// drawn from the scene's noise stream (`noiseSeed`).
    case noise(tint: WorldTint, amplitude: Float, noiseSeed: UInt64)

    /// The word a caption uses for this kind of background ("plain", "gradient", "noisy").
    public var captionWord: String {
        switch self {
        case .plain: return "plain"
        case .gradient: return "gradient"
        case .noise: return "noisy"
        }
    }

    /// A short description, e.g. "plain white" or "gradient cream to light blue".
    public var description: String {
        switch self {
        case .plain(let tint): return "plain \(tint.rawValue)"
        case .gradient(let from, let to, _): return "gradient \(from.rawValue) to \(to.rawValue)"
        case .noise(let tint, _, _): return "noisy \(tint.rawValue)"
        }
    }

    /// The default background: plain white.
    public static let white = WorldBackground.plain(tint: .white)

    /// The stream of `WorldRandom` that background noise uses.
    static let noiseStream: UInt64 = 0x4E4F_4953  // "NOIS"

    /// Writes the background into `planes` (3 x size x size, channel-major).
    func fill(_ planes: UnsafeMutablePointer<Float>, size: Int) {
        let plane = size * size
        switch self {
        case .plain(let tint):
            let c = tint.rgb
            for i in 0..<plane { planes[i] = c.x; planes[plane + i] = c.y; planes[2 * plane + i] = c.z }
        case .gradient(let from, let to, let direction):
            let a = from.rgb, b = to.rgb
            // Project pixel centres onto the direction and normalise to [0, 1] over the canvas.
            let corners: [Float] = [0, Float(size)].flatMap { x in [0, Float(size)].map { y in x * direction.x + y * direction.y } }
            let low = corners.min() ?? 0, high = corners.max() ?? 1
            let scale: Float = high > low ? 1 / (high - low) : 0
            for y in 0..<size {
                for x in 0..<size {
                    let t = ((Float(x) + 0.5) * direction.x + (Float(y) + 0.5) * direction.y - low) * scale
                    let c = a + (b - a) * t
                    let i = y * size + x
                    planes[i] = c.x; planes[plane + i] = c.y; planes[2 * plane + i] = c.z
                }
            }
        case .noise(let tint, let amplitude, let noiseSeed):
            let c = tint.rgb
            let random = WorldRandom(seed: noiseSeed, stream: Self.noiseStream)
            for b in 0..<(plane + 3) / 4 {
                let words = random.words(atBlock: UInt64(b))
                for lane in 0..<4 where 4 * b + lane < plane {
                    let i = 4 * b + lane
                    let n = (WorldRandom.unit(words[lane]) * 2 - 1) * amplitude
                    planes[i] = min(1, max(0, c.x + n))
                    planes[plane + i] = min(1, max(0, c.y + n))
                    planes[2 * plane + i] = min(1, max(0, c.z + n))
                }
            }
        }
    }
}

/// The light tints backgrounds are made of.
public enum WorldTint: String, CaseIterable, Sendable, Codable {
    case white, grey, cream, sky

    /// The tint's RGB in [0, 1].
    public var rgb: SIMD3<Float> {
        switch self {
        case .white: return SIMD3(0.97, 0.97, 0.97)
        case .grey: return SIMD3(0.86, 0.86, 0.86)
        case .cream: return SIMD3(0.96, 0.93, 0.82)
        case .sky: return SIMD3(0.86, 0.91, 0.97)
        }
    }
}
