import Foundation
import SwapIO
import SwapLang
import SwapTensor
import Testing
@testable import SwapRuntime

// The "world" family: argument errors (one statement per harness, since a failing statement
// ends a script) and the picture draw_box writes.

@Test(arguments: [
    ("world_scene(seed: -1)", "world_scene: seed must be 0 or more, got -1"),
    ("world_scene(seed: 1, split: \"test\")", "world_scene: split must be \"train\", \"held_out\" or \"unseen_pairs\", got \"test\""),
    ("world_scene(seed: 1, objects: 3)", "world_scene: objects must be 1, 2 or a range [lo, hi] within [1, 2], got 3"),
    ("world_scene(seed: 1, objects: [2, 1])", "world_scene: objects must be 1, 2 or a range [lo, hi] within [1, 2], got [2, 1]"),
    ("world_batch(count: 0, seed: 1)", "world_batch: count must be between 1 and 4096, got 0"),
    ("recognize(zeros([3, 32, 32]))", "recognize: expected a 64x64 RGB image (a tensor of shape [3, 64, 64] or [1, 3, 64, 64]), got shape [3, 32, 32]"),
    ("recognize_all(zeros([64, 64]))", "recognize_all: expected a 64x64 RGB image (a tensor of shape [3, 64, 64] or [1, 3, 64, 64]), got shape [64, 64]"),
    ("recognize(\"a red circle\")", "recognize: 'image' must be a image|tensor, got string"),
    ("recognize(world_scene(seed: 1).image, box: [10, 10, 5, 20])", "recognize: box [10, 10, 5, 20] is empty (needs x0 < x1 and y0 < y1)"),
    ("recognize(world_scene(seed: 1).image, box: [1, 2, 3])", "recognize: a box is {x0, y0, x1, y1} or [x0, y0, x1, y1] with integer pixels, got [1, 2, 3]"),
    ("recognize(world_scene(seed: 1).image, box: [0.5, 2, 3, 4])", "recognize: a box is {x0, y0, x1, y1} or [x0, y0, x1, y1] with integer pixels, got [0.5, 2, 3, 4]"),
    ("draw_box(world_scene(seed: 1).image, {x0: 0, y0: 0, x1: 65, y1: 10})", "draw_box: box(0, 0, 65, 10) is not inside the 64x64 image"),
    ("draw_box(world_scene(seed: 1).image, [0, 0, 5, 5], color: [2, 0, 0])", "draw_box: color must be [r, g, b] with values in [0, 1], got [2, 0, 0]"),
])
func worldBuiltinErrors(_ source: String, _ message: String) {
    let h = Harness().run("x = " + source)
    #expect(h.status != .ok)
    #expect(h.lastError == message)
}

@Test func drawBoxOutlinesTheBox() throws {
    let h = Harness().run("s = world_scene(seed: 7)\nd = draw_box(s.image, s.objects[0].box, color: [0, 0, 1], width: 2)")
    #expect(h.status == .ok, "\(h.errors)")
    let drawn = try #require(h.image("d"))
    #expect(drawn.path != nil && FileManager.default.fileExists(atPath: drawn.path!))
    let image = drawn.image
    // Box {6, 7, 22, 24}: its two outer rows and columns are blue, the pixel just outside is not.
    #expect(image.pixel(x: 6, y: 7) == [0, 0, 1])
    #expect(image.pixel(x: 7, y: 15) == [0, 0, 1])
    #expect(image.pixel(x: 21, y: 23) == [0, 0, 1])
    #expect(image.pixel(x: 5, y: 7) != [0, 0, 1])
    #expect(image.pixel(x: 8, y: 15) != [0, 0, 1])
}

@Test func worldSceneImageCarriesTheCaption() throws {
    let h = Harness().run("s = world_scene(seed: 7)\nimg = s.image")
    let image = try #require(h.image("img")).image
    #expect(image.metadataValue(forKey: "Description") == "a small yellow dotted heart at the top left")
    #expect(image.metadataValue(forKey: "Source") == "ShapesWorld seed 7 split train")
}
