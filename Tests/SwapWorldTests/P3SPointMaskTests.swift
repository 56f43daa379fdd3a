import Foundation
import SwapEditing
import SwapIO
import SwapModels
import SwapTensor
import XCTest
@testable import SwapWorld

/// P3S's point-supervised mask on the default model's UNet features picks the right one of two
/// same-coloured ShapesWorld objects: positive point at one object's box centre, negative point
/// at the other's.
///
/// Thresholds: IoU with the chosen object's ground-truth mask ≥ 0.5, with the other ≤ 0.05.
/// The undertrained model's features of same-coloured objects are alike, so M_P·(1 − M_N)
/// separates them only in part: `testRandomScenes` records the rate on random scenes (about
/// half), and the cases below that fail are listed in its comment.
final class P3SPointMaskTests: XCTestCase {
    /// Two red objects (boxes 26 px wide) on white, centres (17, 32) and (47, 32): 4 px apart.
    static func scene(left: WorldShape, right: WorldShape, color: WorldColor = .red) -> WorldScene {
        ShapesWorld.render([WorldObjectSpec(shape: left, color: color, size: .large, center: SIMD2(17, 32), extent: 26),
                            WorldObjectSpec(shape: right, color: color, size: .large, center: SIMD2(47, 32), extent: 26)])
    }

    static func iou(_ mask: Tensor, _ truth: [Bool]) -> Float {
        var inter = 0, union = 0
        for (m, t) in zip(mask.scalars, truth) {
            let a = m > 0
            if a && t { inter += 1 }
            if a || t { union += 1 }
        }
        return union > 0 ? Float(inter) / Float(union) : 0
    }

    func testPointMaskSelectsTheMarkedObject() throws {
        let model = try DefaultModel.load()
        let source = try UNetPatchFeatures(model: model)
        XCTAssertEqual(source.name, "unet up.2.attn.0.self t=150 samples=8")
        // A hand-placed triangle and heart, and world scene 1 ("a large red circle and a small red square").
        for scene in [Self.scene(left: .triangle, right: .heart), ShapesWorld.scene(seed: 1, objects: 2...2)] {
            let image = try Image(tensor: scene.image, range: .zeroToOne)
            let objects = scene.objects
            let (left, right) = (objects[0].shape, objects[1].shape)
            for (chosen, other) in [(0, 1), (1, 0)] {
                let p = objects[chosen].box.center, n = objects[other].box.center
                let result = try PointMask.compute(image: image, source: source,
                                                   positive: [ImagePoint(x: Double(p.x), y: Double(p.y))],
                                                   negative: [ImagePoint(x: Double(n.x), y: Double(n.y))])
                let hit = Self.iou(result.mask, objects[chosen].mask), miss = Self.iou(result.mask, objects[other].mask)
                print("p3s point_mask \(left)/\(right) chosen \(objects[chosen].shape): IoU chosen \(hit) other \(miss) threshold \(result.threshold) components \(result.componentCount)")
                XCTAssertEqual(result.featureSource, source.name)
                XCTAssertEqual(result.mask.shape, [64, 64])
                XCTAssertGreaterThanOrEqual(hit, 0.5, "\(objects[chosen].shape) chosen in \(left)/\(right)")
                XCTAssertLessThanOrEqual(miss, 0.05, "\(objects[other].shape) rejected in \(left)/\(right)")
            }
        }
    }

    /// The first 10 two-object scenes (seeds 0, 1, …) whose objects share a colour and differ in
    /// shape (rings left out: their centre is a hole), each object chosen once (20 cases).
    /// Measured with the defaults (up.2.attn.0.self, t = 150, 8 draws, σ = 4 px): mean IoU with
    /// the chosen object 0.53, with the other 0.08; 10 of 20 cases reach IoU ≥ 0.5 with ≤ 0.05
    /// leakage (one draw at t = 50: 0.46 and 6 of 20; up.2.attn.1.self: 0.26 and 2 of 20; the 8×8
    /// layers: ≤ 0.30 and ≤ 5 of 20). Floors: mean ≥ 0.45, at least 8 successes.
    ///
    /// Failures seen: masks that take in background where the similarity to the positive patch
    /// is as high as on the object (small, patterned objects, textured backgrounds); a circle and
    /// a square placed like `scene(left:right:)` merge into one component (IoU 0.38 / 0.45), and
    /// with 22 px boxes 12 px apart the circle/square and heart cases fail too (IoU ≤ 0.21).
    func testRandomScenes() throws {
        let model = try DefaultModel.load()
        let source = try UNetPatchFeatures(model: model)
        var scenes: [WorldScene] = []
        var seed: UInt64 = 0
        while scenes.count < 10 {
            let s = ShapesWorld.scene(seed: seed, objects: 2...2)
            let (a, b) = (s.objects[0], s.objects[1])
            if a.color == b.color && a.shape != b.shape && a.shape != .ring && b.shape != .ring { scenes.append(s) }
            seed += 1
        }
        var chosenTotal: Float = 0, otherTotal: Float = 0, successes = 0
        for scene in scenes {
            let image = try Image(tensor: scene.image, range: .zeroToOne)
            for (chosen, other) in [(0, 1), (1, 0)] {
                let p = scene.objects[chosen].box.center, n = scene.objects[other].box.center
                let result = try PointMask.compute(image: image, source: source,
                                                   positive: [ImagePoint(x: Double(p.x), y: Double(p.y))],
                                                   negative: [ImagePoint(x: Double(n.x), y: Double(n.y))])
                let hit = Self.iou(result.mask, scene.objects[chosen].mask), miss = Self.iou(result.mask, scene.objects[other].mask)
                chosenTotal += hit
                otherTotal += miss
                if hit >= 0.5 && miss <= 0.05 { successes += 1 }
            }
        }
        print("p3s point_mask random scenes: mean IoU chosen \(chosenTotal / 20) other \(otherTotal / 20), successes \(successes)/20")
        XCTAssertGreaterThanOrEqual(chosenTotal / 20, 0.45)
        XCTAssertGreaterThanOrEqual(successes, 8)
    }
}
