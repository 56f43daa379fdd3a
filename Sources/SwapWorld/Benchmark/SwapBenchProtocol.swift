// `swapscript bench swap` (issue 9): a SwapBench-style benchmark on ShapesWorld, after the
// protocol of InstantSwap §4.2–4.4 (ConSwapBench: sources × concepts, every method on every
// pair; foreground score inside the ground-truth box, background PSNR/SSIM/MSE outside it,
// seconds per swap). This file fixes what is swapped: scenes, target concepts and the job list.

/// The benchmark's size and seeds, and the overrides that shorten runs (tests, smoke runs).
public struct SwapBenchConfig: Sendable, Equatable {
    /// N source scenes: ShapesWorld `train` scenes of one object, seeds `seed`, `seed + 1`, ….
    public var scenes: Int
    /// M target concepts: the first M of `SwapBenchTarget.candidates`.
    public var targets: Int
    public var seed: UInt64
    /// The methods, in table order.
    public var methods: [SwapBenchMethod] = SwapBenchMethod.allCases
    /// Iterations of every score-distillation method (nil: each method's official count).
    public var iterations: Int?
    /// DDIM steps of null-text inversion and Prompt-to-Prompt (nil: 50).
    public var p2pSteps: Int?
    /// Inner iterations of null-text inversion (nil: 10).
    public var ntiInner: Int?
    /// Textual-inversion steps that teach the default model each held-out concept.
    public var conceptSteps: Int = 400
    /// Training images per held-out concept.
    public var conceptImages: Int = 4

    public init(scenes: Int, targets: Int, seed: UInt64) {
        (self.scenes, self.targets, self.seed) = (scenes, targets, seed)
    }

    /// Throws `WorldError` for sizes out of range.
    public func validate() throws {
        guard scenes >= 1, scenes <= 10_000 else { throw WorldError("bench swap", "--n must be between 1 and 10000, got \(scenes)") }
        guard (1...SwapBenchTarget.candidates.count).contains(targets) else {
            throw WorldError("bench swap", "--m must be between 1 and \(SwapBenchTarget.candidates.count), got \(targets)")
        }
        guard !methods.isEmpty else { throw WorldError("bench swap", "no methods to run") }
        if let iterations, iterations < 1 { throw WorldError("bench swap", "iterations must be at least 1, got \(iterations)") }
        if let p2pSteps, !(1...1000).contains(p2pSteps) { throw WorldError("bench swap", "p2p steps must be in 1...1000, got \(p2pSteps)") }
        if let ntiInner, ntiInner < 1 { throw WorldError("bench swap", "null-text inner iterations must be at least 1, got \(ntiInner)") }
        guard conceptSteps >= 0, conceptImages >= 1 else { throw WorldError("bench swap", "concept steps must be ≥ 0 and concept images ≥ 1") }
    }

    /// Every job, in order: scene-major, then target, then method.
    public var jobs: [SwapBenchJob] {
        var jobs: [SwapBenchJob] = []
        for s in 0..<scenes {
            for t in 0..<targets {
                for method in methods { jobs.append(SwapBenchJob(id: jobs.count, scene: s, target: t, method: method)) }
            }
        }
        return jobs
    }

    /// The jobs of shard `index` of `count`: those whose id ≡ index (mod count). The shards of
    /// one count partition the jobs, and each gets every method in turn (similar run times).
    public func jobs(shard index: Int, of count: Int) throws -> [SwapBenchJob] {
        guard count >= 1, (0..<count).contains(index) else {
            throw WorldError("bench swap", "--shard must be i/n with 0 ≤ i < n, got \(index)/\(count)")
        }
        return jobs.filter { $0.id % count == index }
    }

    /// The source scene `index`: one object on a light background.
    public func scene(_ index: Int) -> WorldScene {
        ShapesWorld.scene(seed: seed &+ UInt64(index), split: .train, objects: 1...1)
    }
}

/// One swap: scene × target × method.
public struct SwapBenchJob: Sendable, Equatable {
    public var id: Int
    public var scene: Int
    public var target: Int
    public var method: SwapBenchMethod
}

/// A target concept: one attribute of the source object replaced (shape or pattern), the others
/// kept. Held-out targets (the shape "cross", the pattern "checkered") are customized concepts:
/// the default model never saw them, so the benchmark first teaches it a token for each
/// (textual inversion on held-out scenes), as InstantSwap swaps in DreamBooth concepts.
public struct SwapBenchTarget: Sendable, Equatable {
    public enum Attribute: String, Sendable { case shape, pattern }
    public var attribute: Attribute
    public var shape: WorldShape?
    public var pattern: WorldPattern?
    /// A stand-in when the source already shows the target (a swap must change something).
    public var fallbackShape: WorldShape?
    public var fallbackPattern: WorldPattern?

    /// The targets in order; `--m M` takes the first M (so M ≥ 3 includes both held-out ones).
    public static let candidates: [SwapBenchTarget] = [
        SwapBenchTarget(attribute: .shape, shape: .cross),
        SwapBenchTarget(attribute: .shape, shape: .square, fallbackShape: .triangle),
        SwapBenchTarget(attribute: .pattern, pattern: .checkered),
        SwapBenchTarget(attribute: .shape, shape: .star, fallbackShape: .circle),
        SwapBenchTarget(attribute: .pattern, pattern: .striped, fallbackPattern: .dotted),
        SwapBenchTarget(attribute: .shape, shape: .ring, fallbackShape: .heart),
    ]

    public var isHeldOut: Bool { shape == WorldShape.heldOut || pattern == WorldPattern.heldOut }

    /// The concept after the swap on `object`: its colour and its other attribute kept.
    public func concept(replacing object: WorldObject) -> WorldConcept {
        var c = WorldConcept(shape: object.shape, color: object.color, pattern: object.pattern)
        switch attribute {
        case .shape: c.shape = shape == object.shape ? fallbackShape : shape
        case .pattern: c.pattern = pattern == object.pattern ? fallbackPattern : pattern
        }
        return c
    }

    /// The word the target's attribute is written with: its name, or the learned token for a
    /// held-out concept ("<cross>", "<checkered>").
    public static func word(shape: WorldShape) -> String { shape == .heldOut ? "<\(shape.rawValue)>" : shape.rawValue }
    public static func word(pattern: WorldPattern) -> String { pattern == .heldOut ? "<\(pattern.rawValue)>" : pattern.rawValue }

    /// "yellow dotted heart" style words of a concept (plain omitted), with learned tokens.
    public static func phrase(_ c: WorldConcept) -> String {
        var words: [String] = []
        if let color = c.color { words.append(color.rawValue) }
        if let p = c.pattern, p != .plain { words.append(word(pattern: p)) }
        if let s = c.shape { words.append(word(shape: s)) }
        return words.joined(separator: " ")
    }
}
