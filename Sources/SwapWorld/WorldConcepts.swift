// The labels of ShapesWorld (issue 7): shapes, colours, patterns, sizes, and which of them the
// base training split holds out as customized concepts.

/// A shape of ShapesWorld. Each is drawn to fill a square box (see `WorldGeometry`).
public enum WorldShape: String, CaseIterable, Sendable, Codable {
    case circle, square, triangle, star, heart, ring
    /// Held out of the training split (a customized concept for `learn_token`).
    case cross

    /// The shape the training split never shows.
    public static let heldOut: WorldShape = .cross
    /// The shapes of the training split.
    public static let trainShapes: [WorldShape] = allCases.filter { $0 != heldOut }
}

/// One of the eight named colours of ShapesWorld, with its RGB in [0, 1].
public enum WorldColor: String, CaseIterable, Sendable, Codable {
    case red, orange, yellow, green, cyan, blue, purple, pink

    /// The colour's nominal RGB; rendered objects vary it by at most `WorldColor.jitter` per channel.
    public var rgb: SIMD3<Float> {
        switch self {
        case .red: return SIMD3(0.85, 0.12, 0.12)
        case .orange: return SIMD3(0.98, 0.55, 0.08)
        case .yellow: return SIMD3(0.95, 0.85, 0.15)
        case .green: return SIMD3(0.15, 0.65, 0.20)
        case .cyan: return SIMD3(0.10, 0.75, 0.85)
        case .blue: return SIMD3(0.15, 0.30, 0.85)
        case .purple: return SIMD3(0.55, 0.20, 0.70)
        case .pink: return SIMD3(0.98, 0.50, 0.75)
        }
    }

    /// The largest per-channel deviation of a rendered object's colour from `rgb`.
    public static let jitter: Float = 0.04
}

/// A surface pattern. Marks are drawn in a darker tone of the object's colour
/// (`WorldPattern.markShade` times the colour).
public enum WorldPattern: String, CaseIterable, Sendable, Codable {
    case plain, striped, dotted
    /// Held out of the training split (a customized concept).
    case checkered

    /// The pattern the training split never shows.
    public static let heldOut: WorldPattern = .checkered
    /// The patterns of the training split.
    public static let trainPatterns: [WorldPattern] = allCases.filter { $0 != heldOut }
    /// Marks are the object's colour times this factor.
    public static let markShade: Float = 0.45
    /// The word a caption uses; plain objects are described without a pattern word.
    public var captionWord: String? { self == .plain ? nil : rawValue }
}

/// The two size classes. An object's box side (its extent, in pixels) lies in `extentRange`.
public enum WorldSize: String, CaseIterable, Sendable, Codable {
    case small, large

    /// The range of box sides drawn for this size, in pixels.
    public var extentRange: ClosedRange<Float> {
        switch self {
        case .small: return 15...19
        case .large: return 25...31
        }
    }
}

/// Which part of the world a scene is drawn from.
public enum WorldSplit: String, CaseIterable, Sendable, Codable {
    /// The base training set: never the held-out shape or pattern, never an unseen colour-shape pair.
    case train
    /// Scenes in which one object uses the held-out shape or the held-out pattern (or both);
    /// the other object, if any, is as in `train`.
    case heldOut
    /// Single plain objects whose colour-shape pair is one of `ShapesWorld.unseenPairs`
    /// (compositional generalisation: both words are seen in training, never together).
    case unseenPairs
}
