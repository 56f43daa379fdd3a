// ShapesWorld (issue 7): a deterministic, seeded generator of 64x64 scenes of coloured,
// patterned shapes on light backgrounds, with captions and per-object ground truth.

import Foundation
import SwapTensor

/// The ShapesWorld generator. Every scene is a pure function of its seed and split: draws come
/// from a Philox4x32-10 stream (`WorldRandom`), never from system randomness, and rendering has
/// no thread-dependent step, so scenes are bit-identical on every run and thread count.
public enum ShapesWorld {
    /// The side of every scene, in pixels.
    public static let size = 64
    /// Margin kept between an object's box and the canvas edge, in pixels.
    static let margin: Float = 1

    /// Colour-shape pairs no `train` or `heldOut` scene shows; `unseenPairs` scenes show only them.
    public static let unseenPairs: [(shape: WorldShape, color: WorldColor)] = [
        (.circle, .green), (.square, .orange), (.triangle, .blue),
        (.star, .pink), (.heart, .cyan), (.ring, .yellow),
    ]

    /// Whether a colour-shape pair is one of `unseenPairs`.
    public static func isUnseenPair(_ shape: WorldShape, _ color: WorldColor) -> Bool {
        unseenPairs.contains { $0.shape == shape && $0.color == color }
    }

    /// Every word any caption can contain, sorted (for the default model's tokenizer).
    public static var vocabulary: [String] { WorldCaption.vocabulary }

    // MARK: Scenes from seeds

    /// The scene of `seed` in `split`, with a number of objects drawn from `objects`
    /// (clamped to 1...2; `unseenPairs` scenes always have one object).
    ///
    /// Contents: shapes of both sizes at random positions (two objects never overlap: each
    /// sits in its own half of the canvas), colours jittered by at most `WorldColor.jitter`,
    /// patterns with a random phase, a plain, gradient or noisy light background, and a caption
    /// that always names colour, pattern and shape and sometimes size, placement and background.
    public static func scene(seed: UInt64, split: WorldSplit = .train, objects: ClosedRange<Int> = 1...2) -> WorldScene {
        var random = WorldRandom(seed: seed, stream: stream(of: split))
        let low = min(2, max(1, objects.lowerBound)), high = min(2, max(low, objects.upperBound))
        let count = split == .unseenPairs ? 1 : low + random.index(high - low + 1)
        var labels: [(WorldShape, WorldColor, WorldPattern)] = []
        for k in 0..<count { labels.append(drawLabels(&random, split: k == 0 ? split : .train)) }
        let sideBySide = random.chance(0.65)
        var specs: [WorldObjectSpec] = []
        for (k, (shape, color, pattern)) in labels.enumerated() {
            let sizeClass: WorldSize = random.chance(0.5) ? .small : .large
            var extent = random.uniform(sizeClass.extentRange)
            // The region the object's box must stay in: the whole canvas, or its half.
            var region = SIMD4<Float>(margin, margin, Float(size) - margin, Float(size) - margin)
            if count == 2 {
                let middle = Float(size) / 2
                if sideBySide {
                    if k == 0 { region.z = middle - margin } else { region.x = middle + margin }
                } else {
                    if k == 0 { region.w = middle - margin } else { region.y = middle + margin }
                }
                extent = min(extent, region.z - region.x, region.w - region.y)
            }
            let half = extent / 2
            let center = SIMD2(random.uniform((region.x + half)...(region.z - half)),
                               random.uniform((region.y + half)...(region.w - half)))
            let jitter = WorldColor.jitter
            var rgb = color.rgb + SIMD3(random.uniform(-jitter...jitter), random.uniform(-jitter...jitter),
                                        random.uniform(-jitter...jitter))
            rgb.clamp(lowerBound: .zero, upperBound: .one)
            specs.append(WorldObjectSpec(shape: shape, color: color, pattern: pattern, size: sizeClass,
                                         center: center, extent: extent, rgb: rgb,
                                         patternPhase: SIMD2(random.unit(), random.unit())))
        }
        let background = drawBackground(&random, seed: seed)
        let options = WorldCaptionOptions(mentionsSize: random.chance(0.5), mentionsPlacement: random.chance(0.5),
                                          mentionsBackground: random.chance(0.25))
        var scene = render(specs, background: background, options: options)
        scene.seed = seed
        scene.split = split
        return scene
    }

    /// Scenes `seed`, `seed + 1`, …, `seed + count - 1` of `split`, rendered in parallel, and
    /// their images stacked into one tensor of shape [count, 3, size, size].
    public static func batch(count: Int, seed: UInt64, split: WorldSplit = .train,
                             objects: ClosedRange<Int> = 1...2) -> (images: Tensor, scenes: [WorldScene]) {
        let count = max(0, count)
        var scenes = [WorldScene?](repeating: nil, count: count)
        scenes.withUnsafeMutableBufferPointer { slots in
            let slots = slots
            Parallel.forEach(count, grain: 1) { range in
                for i in range { slots[i] = scene(seed: seed &+ UInt64(i), split: split, objects: objects) }
            }
        }
        let rendered = scenes.compactMap { $0 }
        let plane = 3 * size * size
        var images = Tensor(uninitializedShape: [count, 3, size, size])
        images.withUnsafeMutableBufferPointer { out in
            for (i, scene) in rendered.enumerated() {
                scene.image.withUnsafeBufferPointer { out.baseAddress!.advanced(by: i * plane).update(from: $0.baseAddress!, count: plane) }
            }
        }
        return (images, rendered)
    }

    // MARK: Described scenes

    /// Renders the described objects (in order; later ones cover earlier ones) over
    /// `background`. The caption follows the grammar of `WorldCaption` with `options`, unless
    /// `caption` is given; objects come back in caption order with their placements.
    public static func render(_ specs: [WorldObjectSpec], background: WorldBackground = .white,
                              options: WorldCaptionOptions = .minimal, caption: String? = nil) -> WorldScene {
        let (image, rendered) = WorldRenderer.render(specs, background: background, size: size)
        let (order, placements) = WorldCaption.arrange(specs, size: size)
        var objects: [WorldObject] = []
        for (position, index) in order.enumerated() {
            var object = rendered[index]
            object.placement = placements[position]
            objects.append(object)
        }
        let described = objects.map {
            WorldCaptionObject(shape: $0.shape, color: $0.color, pattern: $0.pattern, size: $0.size, placement: $0.placement)
        }
        let text = caption ?? WorldCaption.describe(described, background: background, options: options)
        return WorldScene(seed: 0, split: .train, image: image, caption: text, objects: objects, background: background)
    }

    // MARK: Sampling

    /// Each split draws from its own Philox stream, so the same seed gives unrelated scenes.
    static func stream(of split: WorldSplit) -> UInt64 {
        switch split {
        case .train: return 0x5452_4149  // "TRAI"
        case .heldOut: return 0x484F_4C44  // "HOLD"
        case .unseenPairs: return 0x554E_5345  // "UNSE"
        }
    }

    /// Shape, colour and pattern of one object of `split`.
    static func drawLabels(_ random: inout WorldRandom, split: WorldSplit) -> (WorldShape, WorldColor, WorldPattern) {
        switch split {
        case .unseenPairs:
            let pair = random.pick(unseenPairs)
            return (pair.shape, pair.color, .plain)
        case .train, .heldOut:
            var shape = random.pick(WorldShape.trainShapes)
            var pattern = random.pick(WorldPattern.trainPatterns)
            if split == .heldOut {
                // 40% the held-out shape, 40% the held-out pattern, 20% both.
                let kind = random.unit()
                if kind < 0.4 || kind >= 0.8 { shape = WorldShape.heldOut }
                if kind >= 0.4 { pattern = WorldPattern.heldOut }
            }
            var color = random.pick(WorldColor.allCases)
            while isUnseenPair(shape, color) { color = random.pick(WorldColor.allCases) }
            return (shape, color, pattern)
        }
    }

    /// A plain (40%), gradient (30%) or noisy (30%) light background.
    static func drawBackground(_ random: inout WorldRandom, seed: UInt64) -> WorldBackground {
        let kind = random.unit()
        let tint = random.pick(WorldTint.allCases)
        if kind < 0.4 { return .plain(tint: tint) }
        if kind < 0.7 {
            let others = WorldTint.allCases.filter { $0 != tint }
            let to = random.pick(others)
            // One of 16 fixed directions.
            let directions = gradientDirections
            return .gradient(from: tint, to: to, direction: directions[random.index(directions.count)])
        }
        return .noise(tint: tint, amplitude: 0.06, noiseSeed: seed)
    }

    /// Unit vectors at 16 evenly spaced angles.
    static let gradientDirections: [SIMD2<Float>] = (0..<16).map { k in
        let angle = Double(k) * Double.pi / 8
        return SIMD2(Float(cos(angle)), Float(sin(angle)))
    }
}
