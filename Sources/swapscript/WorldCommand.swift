import ArgumentParser
import Foundation
import SwapIO
import SwapTensor
import SwapWorld

/// `swapscript world`: renders ShapesWorld scenes to PNG files with their captions and ground
/// truth (one JSON object per line in scenes.jsonl), measures the render speed, or measures the
/// recognizer's accuracy on fresh renders (`--recognize`).
struct WorldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "world",
        abstract: "Render ShapesWorld scenes with ground truth, time rendering, or measure the recognizer.",
        discussion: """
            Scenes are a pure function of (seed, split). Writes OUT/scene_SEED.png and OUT/scenes.jsonl \
            (seed, split, file, caption, background, objects with shape, color, pattern, size, placement, \
            box [x0, y0, x1, y1] half-open, center). With --recognize, nothing is written: the recognizer \
            reads COUNT fresh scenes clean, with Gaussian noise, with a 3x3 blur, and with both, each with \
            and without the true boxes, and the accuracies are printed.
            """)

    @Option(help: "Number of scenes.")
    var count: Int = 16

    @Option(help: "Seed of the first scene (scene i has seed SEED + i).")
    var seed: UInt64 = 0

    @Option(help: "train, held_out or unseen_pairs.")
    var split: String = "train"

    @Option(help: "Objects per scene: 1, 2 or 1-2.")
    var objects: String = "1-2"

    @Option(help: "Output folder.")
    var out: String = "out/world"

    @Flag(help: "Also write each object's mask as OUT/scene_SEED_mask_K.png.")
    var masks = false

    @Flag(help: "Measure the recognizer on COUNT fresh scenes instead of writing files.")
    var recognize = false

    @Option(help: "Standard deviation of the noise added for --recognize.")
    var noise: Float = 0.05

    @Flag(help: "Time rendering batches of 64 scenes instead of writing files.")
    var speed = false

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    static let splits: [String: WorldSplit] = ["train": .train, "held_out": .heldOut, "unseen_pairs": .unseenPairs]

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard Self.splits[split] != nil else { throw ValidationError("--split must be train, held_out or unseen_pairs") }
        guard objectRange != nil else { throw ValidationError("--objects must be 1, 2 or 1-2") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard noise >= 0, noise.isFinite else { throw ValidationError("--noise must be 0 or more") }
    }

    var objectRange: ClosedRange<Int>? {
        switch objects {
        case "1": return 1...1
        case "2": return 2...2
        case "1-2": return 1...2
        default: return nil
        }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let split = Self.splits[split] ?? .train
        let objects = objectRange ?? 1...2
        if recognize {
            try measureRecognizer(split: split)
        } else if speed {
            measureSpeed(split: split, objects: objects)
        } else {
            try render(split: split, objects: objects)
        }
    }

    /// One line of scenes.jsonl.
    struct SceneRecord: Encodable {
        struct Object: Encodable {
            var shape, color, pattern, size, placement: String
            var box: [Int]
            var center: [Float]
        }
        var seed: UInt64
        var split: String
        var file: String
        var caption: String
        var background: String
        var objects: [Object]
    }

    func render(split: WorldSplit, objects: ClosedRange<Int>) throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let start = Date()
        let (_, scenes) = ShapesWorld.batch(count: count, seed: seed, split: split, objects: objects)
        let renderSeconds = Date().timeIntervalSince(start)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines = Data()
        for scene in scenes {
            let file = "scene_\(scene.seed).png"
            var image = try Image(tensor: scene.image, range: .zeroToOne)
            image.metadata = [(key: "Description", value: scene.caption),
                              (key: "Source", value: "ShapesWorld seed \(scene.seed) split \(self.split)")]
            try image.save((out as NSString).appendingPathComponent(file))
            if masks {
                for (k, object) in scene.objects.enumerated() {
                    let mask = try Image(width: ShapesWorld.size, height: ShapesWorld.size, channels: 1,
                                         pixels: object.mask.map { $0 ? 1 : 0 })
                    try mask.save((out as NSString).appendingPathComponent("scene_\(scene.seed)_mask_\(k).png"))
                }
            }
            let record = SceneRecord(
                seed: scene.seed, split: self.split, file: file, caption: scene.caption,
                background: scene.background.description,
                objects: scene.objects.map {
                    .init(shape: $0.shape.rawValue, color: $0.color.rawValue, pattern: $0.pattern.rawValue,
                          size: $0.size.rawValue, placement: $0.placement.rawValue,
                          box: [$0.box.x0, $0.box.y0, $0.box.x1, $0.box.y1], center: [$0.center.x, $0.center.y])
                })
            lines.append(try encoder.encode(record))
            lines.append(Data("\n".utf8))
        }
        let jsonl = (out as NSString).appendingPathComponent("scenes.jsonl")
        try AtomicFile.write(lines, to: jsonl)
        print(String(format: "rendered %d scenes in %.1f ms; wrote %@ and %d PNG files", count, renderSeconds * 1000,
                     jsonl, count + (masks ? scenes.reduce(0) { $0 + $1.objects.count } : 0)))
    }

    func measureSpeed(split: WorldSplit, objects: ClosedRange<Int>) {
        let batches = max(1, count / 64)
        _ = ShapesWorld.batch(count: 64, seed: seed, split: split, objects: objects)  // warm-up
        var times: [Double] = []
        for b in 0..<batches {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = ShapesWorld.batch(count: 64, seed: seed &+ UInt64(64 * (b + 1)), split: split, objects: objects)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        let mean = times.reduce(0, +) / Double(times.count)
        print(String(format: "ShapesWorld: %d batches of 64 scenes, %d threads: mean %.1f ms, best %.1f ms per batch (%.0f scenes/s)",
                     batches, Parallel.threadCount, mean, times.min() ?? 0, 64_000 / mean))
    }

    func measureRecognizer(split: WorldSplit) throws {
        print("ShapesWorld recognizer on \(count) fresh \(self.split) scenes (seeds \(seed)..<\(seed + UInt64(count))):")
        let degradations = [WorldDegradation.none, WorldDegradation(noise: noise), WorldDegradation(blur: true),
                            WorldDegradation(noise: noise, blur: true)]
        for degradation in degradations {
            for withBox in [true, false] {
                let report = try WorldRecognizer.evaluate(count: count, seed: seed, split: split,
                                                          degradation: degradation, withBox: withBox)
                print("  \(report)")
            }
        }
    }
}
