// Measures the recognizer on fresh ShapesWorld renders, clean or degraded (noise, blur), with
// and without the true boxes. Used by `swapscript world --recognize` and the tests.

import SwapTensor

/// A degradation applied to renders before recognition.
public struct WorldDegradation: Sendable, Equatable, CustomStringConvertible {
    /// Standard deviation of added Gaussian noise (per channel, values then clamped to [0, 1]).
    public var noise: Float
    /// Whether a 3x3 blur ([1, 2, 1] ⊗ [1, 2, 1] / 16, edges replicated) is applied first.
    public var blur: Bool

    public init(noise: Float = 0, blur: Bool = false) {
        self.noise = noise
        self.blur = blur
    }

    public static let none = WorldDegradation()

    public var description: String {
        switch (noise > 0, blur) {
        case (false, false): return "clean"
        case (true, false): return "noise σ=\(noise)"
        case (false, true): return "3x3 blur"
        case (true, true): return "3x3 blur + noise σ=\(noise)"
        }
    }

    /// The degraded image; the noise comes from Philox stream `seed`.
    public func apply(to image: Tensor, seed: UInt64) -> Tensor {
        let shape = image.shape
        guard shape.count >= 2 else { return image }
        let height = shape[shape.count - 2], width = shape[shape.count - 1]
        var values = image.scalars
        if blur { values = Self.blurred(values, width: width, height: height) }
        if noise > 0 {
            var generator = PhiloxGenerator(seed: seed, stream: 0x424C_5552)  // "BLUR"
            let n = generator.normal(values.count)
            for i in values.indices { values[i] = min(1, max(0, values[i] + noise * n[i])) }
        }
        return Tensor(shape: shape, scalars: values)
    }

    /// Binomial 3x3 blur of every width x height plane, replicating edge pixels.
    static func blurred(_ values: [Float], width: Int, height: Int) -> [Float] {
        let weights: [Float] = [1, 2, 1]
        var out = values
        let plane = width * height
        for p in 0..<values.count / plane {
            let base = p * plane
            for y in 0..<height {
                for x in 0..<width {
                    var sum: Float = 0
                    for dy in -1...1 {
                        let yy = min(height - 1, max(0, y + dy))
                        for dx in -1...1 {
                            let xx = min(width - 1, max(0, x + dx))
                            sum += weights[dy + 1] * weights[dx + 1] * values[base + yy * width + xx]
                        }
                    }
                    out[base + y * width + x] = sum / 16
                }
            }
        }
        return out
    }
}

/// Accuracy figures of the recognizer on fresh scenes.
public struct WorldRecognizerReport: Sendable, CustomStringConvertible {
    public var degradation: WorldDegradation
    public var withBox: Bool
    /// Objects judged (with boxes: every object; without: every object of every scene).
    public var objects: Int
    /// Objects whose shape, colour and pattern are all right.
    public var correct: Int
    public var shapeCorrect: Int
    public var colorCorrect: Int
    public var patternCorrect: Int
    /// Wrong readings as "truth → reading" descriptions, at most 20.
    public var mistakes: [String]

    public var accuracy: Double { objects > 0 ? Double(correct) / Double(objects) : 0 }

    public var description: String {
        func percent(_ n: Int) -> String { objects > 0 ? String(format: "%.1f%%", 100 * Double(n) / Double(objects)) : "-" }
        return "\(degradation), \(withBox ? "with box" : "no box"): \(percent(correct)) of \(objects) objects "
            + "(shape \(percent(shapeCorrect)), colour \(percent(colorCorrect)), pattern \(percent(patternCorrect)))"
    }
}

extension WorldRecognizer {
    /// Recognizes the objects of `count` fresh scenes (seeds `seed`, `seed + 1`, …) of `split`.
    /// With `withBox`, each object is read inside its true box; without, every object the
    /// image holds is read (`recognizeAll`) and matched to the truth in caption order (a scene
    /// read as a different number of objects counts all its objects wrong).
    public static func evaluate(count: Int, seed: UInt64, split: WorldSplit = .train,
                                degradation: WorldDegradation = .none, withBox: Bool) throws -> WorldRecognizerReport {
        var report = WorldRecognizerReport(degradation: degradation, withBox: withBox, objects: 0, correct: 0,
                                           shapeCorrect: 0, colorCorrect: 0, patternCorrect: 0, mistakes: [])
        for index in 0..<max(0, count) {
            let sceneSeed = seed &+ UInt64(index)
            let scene = ShapesWorld.scene(seed: sceneSeed, split: split)
            let image = degradation.apply(to: scene.image, seed: sceneSeed)
            var readings: [WorldRecognition?]
            if withBox {
                readings = try scene.objects.map { try recognize(image, box: $0.box) }
            } else {
                let all = try recognizeAll(image)
                readings = all.count == scene.objects.count ? all : scene.objects.map { _ in nil }
            }
            for (object, reading) in zip(scene.objects, readings) {
                report.objects += 1
                let shapeRight = reading?.shape == object.shape
                let colorRight = reading?.color == object.color
                let patternRight = reading?.pattern == object.pattern
                if shapeRight { report.shapeCorrect += 1 }
                if colorRight { report.colorCorrect += 1 }
                if patternRight { report.patternCorrect += 1 }
                if shapeRight && colorRight && patternRight {
                    report.correct += 1
                } else if report.mistakes.count < 20 {
                    let read = reading.map { "\($0.color.rawValue) \($0.pattern.rawValue) \($0.shape.rawValue)" } ?? "nothing"
                    report.mistakes.append("seed \(sceneSeed): \(object.labelDescription) (\(object.pattern.rawValue)) → \(read)")
                }
            }
        }
        return report
    }
}
