import Testing
import SwapIO
import SwapTensor
@testable import SwapWorld

/// The recognizer was tuned on train and held-out scenes with seeds below 1000; these tests use
/// fresh seeds from 5,000,000 on. The issue's bar is 97% on fresh renders.
@Suite("ShapesWorld recognizer")
struct RecognizerTests {
    static let freshSeed: UInt64 = 5_000_000

    @Test(arguments: [true, false])
    func cleanRendersAreReadRight(withBox: Bool) throws {
        let report = try WorldRecognizer.evaluate(count: 300, seed: Self.freshSeed, withBox: withBox)
        print(report)
        #expect(report.objects > 400)
        #expect(report.accuracy >= 0.97, "\(report) \(report.mistakes)")
    }

    @Test(arguments: [true, false])
    func blurredNoisyRendersAreReadRight(withBox: Bool) throws {
        let degradation = WorldDegradation(noise: 0.05, blur: true)
        let report = try WorldRecognizer.evaluate(count: 300, seed: Self.freshSeed + 1000, degradation: degradation, withBox: withBox)
        print(report)
        #expect(report.accuracy >= 0.97, "\(report) \(report.mistakes)")
    }

    @Test func heldOutConceptsAreReadRight() throws {
        let report = try WorldRecognizer.evaluate(count: 200, seed: Self.freshSeed + 2000, split: .heldOut, withBox: true)
        print(report)
        #expect(report.accuracy >= 0.97, "\(report) \(report.mistakes)")
    }

    /// Every shape, colour and pattern, drawn large in the middle of a plain background.
    @Test func everyLabelCombinationIsReadRight() throws {
        var wrong: [String] = []
        for shape in WorldShape.allCases {
            for color in WorldColor.allCases {
                for pattern in WorldPattern.allCases {
                    let spec = WorldObjectSpec(shape: shape, color: color, pattern: pattern, size: .large,
                                               center: SIMD2(31.3, 32.6), extent: 28)
                    let scene = ShapesWorld.render([spec], background: .plain(tint: .grey))
                    let reading = try WorldRecognizer.recognize(scene.image)
                    if reading?.shape != shape || reading?.color != color || reading?.pattern != pattern {
                        wrong.append("\(color) \(pattern) \(shape) → \(reading.map { "\($0.color) \($0.pattern) \($0.shape)" } ?? "nothing")")
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong)")
    }

    @Test func boxSelectsTheObjectAndAllReadsInCaptionOrder() throws {
        let scene = ShapesWorld.render([
            WorldObjectSpec(shape: .star, color: .blue, pattern: .striped, center: SIMD2(48, 30), extent: 26),
            WorldObjectSpec(shape: .heart, color: .orange, pattern: .plain, size: .small, center: SIMD2(14, 20), extent: 17),
        ], background: .gradient(from: .cream, to: .sky, direction: SIMD2(1, 0)))
        #expect(scene.caption == "an orange heart and a blue striped star")
        let left = try #require(try WorldRecognizer.recognize(scene.image, box: scene.objects[0].box))
        #expect(left.shape == .heart && left.color == .orange && left.pattern == .plain)
        #expect(left.box.iou(scene.objects[0].box) > 0.8)
        let largest = try #require(try WorldRecognizer.recognize(scene.image))
        #expect(largest.shape == .star && largest.color == .blue && largest.pattern == .striped)
        let all = try WorldRecognizer.recognizeAll(scene.image)
        #expect(all.map(\.shape) == [.heart, .star])
        #expect(all.allSatisfy { $0.confidence > 0 && $0.confidence <= 1 })
        // An image value and a [1, 3, 64, 64] tensor give the same reading.
        let image = try Image(tensor: scene.image, range: .zeroToOne)
        #expect(try WorldRecognizer.recognize(image, box: scene.objects[1].box)?.shape == .star)
        let batched = try scene.image.reshaped([1, 3, 64, 64])
        #expect(try WorldRecognizer.recognize(batched)?.shape == .star)
    }

    @Test func emptyImageHasNoObject() throws {
        let blank = ShapesWorld.render([], background: .noise(tint: .white, amplitude: 0.06, noiseSeed: 3))
        #expect(try WorldRecognizer.recognize(blank.image) == nil)
        #expect(try WorldRecognizer.recognizeAll(blank.image).isEmpty)
    }

    @Test func badInputThrows() {
        #expect(throws: WorldError.self) { try WorldRecognizer.recognize(Tensor(zeros: [3, 32, 32])) }
        #expect(throws: WorldError.self) { try WorldRecognizer.recognize(Tensor(zeros: [64, 64])) }
        #expect(throws: WorldError.self) { try WorldRecognizer.recognizeAll(Tensor(zeros: [2, 3, 64, 64])) }
        let image = ShapesWorld.scene(seed: 1).image
        #expect(throws: WorldError.self) { try WorldRecognizer.recognize(image, box: WorldBox(x0: 50, y0: 0, x1: 70, y1: 10)) }
        #expect(throws: WorldError.self) { try WorldRecognizer.recognize(image, box: WorldBox(x0: -1, y0: 0, x1: 10, y1: 10)) }
        #expect(throws: WorldError.self) { try WorldRecognizer.recognize(image, box: WorldBox(x0: 10, y0: 10, x1: 10, y1: 20)) }
        do {
            _ = try WorldRecognizer.recognize(Tensor(zeros: [3, 32, 32]))
        } catch {
            #expect("\(error)".contains("[3, 32, 32]"))
        }
    }

    @Test func degradationIsDeterministic() {
        let image = ShapesWorld.scene(seed: 9).image
        let a = WorldDegradation(noise: 0.05, blur: true).apply(to: image, seed: 4)
        let b = WorldDegradation(noise: 0.05, blur: true).apply(to: image, seed: 4)
        #expect(a.scalars == b.scalars)
        #expect(a.scalars != image.scalars)
        #expect(WorldDegradation.none.apply(to: image, seed: 4).scalars == image.scalars)
    }
}
