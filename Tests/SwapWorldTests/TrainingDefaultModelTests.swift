import Foundation
import SwapIO
import SwapModels
import SwapPipeline
import SwapTensor
import XCTest
@testable import SwapWorld

/// The committed default model loads from SwapWorld's resources and generates the committed
/// reference image for a fixed seed, bit for bit.
///
/// The reference (Fixtures/default-model-reference.safetensors, the decoded [1, 3, 64, 64]
/// Float32 image) is written by this test when SWAPSCRIPT_UPDATE_REFERENCE=1: do that, and
/// look at the PNG written next to it, whenever the weights are re-exported.
final class TrainingDefaultModelTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/default-model-reference.safetensors").path

    func testDefaultModelGivesTheReferenceImage() throws {
        let directory = try XCTUnwrap(DefaultModel.directory, "the default model is missing from SwapWorld's resources")
        let model = try DefaultModel.load()
        XCTAssertEqual(model.unet.config.sampleSize * model.vaeScaleFactor, 64)
        XCTAssertEqual(model.tokenizer.encode("a red circle")[4], model.tokenizer.eosID, "caption words are single tokens")
        let pipeline = StableDiffusionPipeline(model: model, scheduler: .ddim())
        let request = GenerationRequest(prompt: "a red circle", guidanceScale: 7.5, steps: 20, seed: 7)
        let image = try GradMode.withoutGradient { try pipeline.generate(request) }
        XCTAssertEqual(image.shape, [1, 3, 64, 64])
        if ProcessInfo.processInfo.environment["SWAPSCRIPT_UPDATE_REFERENCE"] == "1" {
            try SafeTensors.write(["image": image], metadata: [
                "producer": "Tests/SwapWorldTests/TrainingDefaultModelTests.swift with SWAPSCRIPT_UPDATE_REFERENCE=1",
                "request": "a red circle, DDIM 20 steps, CFG 7.5, seed 7", "model": directory,
            ], to: Self.fixture)
            try Image(tensor: image.clamped(min: -1, max: 1), range: .minusOneToOne)
                .save(Self.fixture.replacingOccurrences(of: ".safetensors", with: ".png"))
        }
        let reference = try SafeTensorsFile(path: Self.fixture).tensor("image")
        XCTAssertEqual(image.shape, reference.shape)
        let pairs = zip(image.scalars, reference.scalars)
        let differing = pairs.filter { $0.bitPattern != $1.bitPattern }.count
        let largest = pairs.map { abs($0 - $1) }.max() ?? 0
        XCTAssertEqual(differing, 0, "the default model's image changed: \(differing) of \(image.count) values differ, max |Δ| \(largest)")
    }

    /// Issue 7's localisation bar on the committed weights: on 200 held-out single-object
    /// renders noised to t = 400, the shape word's 16x16 cross-attention (every layer and head at
    /// that resolution, as `attention(...)` aggregates) peaks inside the true box on ≥ 80%. The
    /// control, the box of another scene's object, stays near chance (the mean box covers ~13%).
    func testShapeWordAttentionPeaksInsideTheObject() throws {
        let seeds = (0..<200).map { UInt64(90_000 + $0) }
        let result = try AttentionLocalization.measure(model: try DefaultModel.load(), seeds: seeds)
        print(result)
        XCTAssertEqual(result.scenes, 200)
        XCTAssertGreaterThanOrEqual(result.rate, 0.8)
        XCTAssertLessThan(Double(result.peaksInOtherBox) / 200, 0.35, "the peak follows the object, not a fixed place")
    }
}
