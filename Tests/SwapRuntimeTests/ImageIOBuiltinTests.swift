import Foundation
import SwapIO
import SwapLang
import SwapTensor
import Testing
@testable import SwapRuntime

// The "image" and "io" families: written files, pixel values, metadata and errors.

@Test func toImageWritesPNGWithParameters() throws {
    let h = Harness(seed: 3).run("x = tensor([[0, 0.5], [1, 2]])\nimg = to_image(x)\nimg\nprint(img.width, img.height, img.channels)")
    #expect(h.status == .ok, "\(h.errors)")
    let value = try #require(h.image("img"))
    let path = try #require(value.path)
    #expect(path == h.folder + "/out/001_img.png")
    #expect(h.lines.contains("wrote \(path)"))
    #expect(h.lines.contains("image 2x2 gray  \(path)"))
    #expect(h.lines.last == "2 2 1")
    let loaded = try Image.load(path)
    #expect(loaded.width == 2 && loaded.height == 2)
    // Gray is written as RGB; 0.5 rounds to 128/255, 2 is clamped to 1.
    #expect(loaded.pixel(x: 0, y: 0) == [0, 0, 0])
    let mid: Float = 128.0 / 255
    #expect(loaded.pixel(x: 1, y: 0) == [mid, mid, mid])
    #expect(loaded.pixel(x: 1, y: 1) == [1, 1, 1])
    let parameters = try #require(loaded.parameters)
    #expect(parameters.hasPrefix("img = to_image(x)\nBuiltin: to_image, Size: 2x2, Seed: 3, RNG: torch-cpu, Script: test.swapscript, Line: 2"))
}

@Test func toImageRangeAndAuto() throws {
    let h = Harness().run("a = to_image(tensor([[-1, 1]]), range: [-1, 1])\nb = to_image(tensor([[10, 20]]), range: \"auto\")\nc = 0\nc = to_image(tensor([[1]]), range: [1, 0])")
    let a = try #require(h.image("a")).image, b = try #require(h.image("b")).image
    #expect(a.pixel(x: 0, y: 0) == [0] && a.pixel(x: 1, y: 0) == [1])
    #expect(b.pixel(x: 0, y: 0) == [0] && b.pixel(x: 1, y: 0) == [1])
    #expect(h.lastError == "to_image: range must be [lo, hi] with lo < hi, or \"auto\"; got [1, 0]")
    #expect(h.number("c") == 0)
    let bad = Harness().run("i = to_image(ones([5, 2, 2]))")
    #expect(bad.lastError == "to_image: expects [H, W], [C, H, W] or [1, C, H, W] with 1 to 4 channels, got [5,2,2]")
}

@Test func imageTensorRoundTrip() throws {
    let h = Harness().run("img = to_image(tensor([[[0, 1]], [[1, 0]], [[0.2, 0.6]]]))\nt = img.tensor()\nu = img.tensor(range: [-1, 1])")
    #expect(h.status == .ok, "\(h.errors)")
    #expect(h.tensor("t")?.shape == [1, 3, 1, 2])
    let expected: [Float] = [0, 1, 1, 0, 51.0 / 255, 153.0 / 255]
    #expect(maxDifference(h.tensor("t")!, Tensor(shape: [1, 3, 1, 2], scalars: expected)) < 1e-6)
    #expect(maxDifference(h.tensor("u")!, Tensor(shape: [1, 3, 1, 2], scalars: expected.map { $0 * 2 - 1 })) < 1e-6)
}

@Test func heatmapColorsNormalisedMap() throws {
    let h = Harness().run("m = heatmap(tensor([[0, 1], [2, 4]]), colormap: \"gray\", size: 4)")
    let img = try #require(h.image("m")).image
    #expect(img.width == 4 && img.height == 4 && img.channels == 3)
    // Normalised: 0, 0.25, 0.5, 1; nearest-neighbour blocks of 2x2; gray colormap.
    for (x, y, level) in [(0, 0, 0.0), (3, 0, 0.25), (1, 3, 0.5), (2, 2, 1.0)] {
        let c = Colormap.gray.color(Float(level))
        let expected = [c.x, c.y, c.z].map { ($0 * 255).rounded() / 255 }
        #expect(img.pixel(x: x, y: y) == expected, "pixel \(x),\(y)")
    }
    let bad = Harness().run("m = heatmap(ones([2, 3, 4]))")
    #expect(bad.lastError == "heatmap: 'map' must be a 2-D map [H, W] (or [1, 1, H, W]), got [2,3,4]")
    let badMap = Harness().run("m = heatmap(ones([2, 2]), colormap: \"rainbow\")")
    #expect(badMap.lastError.hasPrefix("heatmap: unknown colormap \"rainbow\" (choose one of \"gray\""))
}

@Test func overlayMatchesSwapIO() throws {
    let h = Harness().run("base = to_image(ones([3, 4, 4]) * 0.5)\nm = tensor([[0, 1], [1, 0]])\no = overlay(base, m, alpha: 0.25)")
    #expect(h.status == .ok, "\(h.errors)")
    let base = try #require(h.image("base")).image
    let expected = try overlay(base, heatmap: Heatmap(rows: [[0, 1], [1, 0]]), alpha: 0.25, colormap: .jet)
    let got = try #require(h.image("o")).image
    let reloaded = try Image.load(try #require(h.image("o")?.path))
    #expect(got.pixels == reloaded.pixels)
    #expect(zip(got.pixels, expected.pixels).allSatisfy { abs($0 - $1) <= 0.5 / 255 })
    let bad = Harness().run("o = overlay(ones([2, 2]), ones([2, 2]))")
    #expect(bad.lastError == "overlay: 'image' is a tensor; convert it first with to_image(x)")
    let alpha = Harness().run("b = to_image(ones([2, 2]))\no = overlay(b, ones([2, 2]), alpha: 2)")
    #expect(alpha.lastError == "overlay: alpha must be between 0 and 1, got 2")
}

@Test func gridWithCaptions() throws {
    let h = Harness().run("a = to_image(zeros([8, 8]))\nb = to_image(ones([8, 8]))\ng = grid([a, b], captions: [\"dark\", \"light\"])\nh = grid([a, b, a], columns: 2)")
    #expect(h.status == .ok, "\(h.errors)")
    let a = try #require(h.image("a")).image, b = try #require(h.image("b")).image
    let expected = try grid([a, b], columns: 2, captions: ["dark", "light"])
    let g = try #require(h.image("g")).image
    #expect(g.width == expected.width && g.height == expected.height && g.pixels == expected.pixels)
    let h2 = try #require(h.image("h")).image
    #expect(h2.width == 4 + 2 * (8 + 4) && h2.height == 4 + 2 * (8 + 4))
    let bad = Harness().run("a = to_image(zeros([8, 8]))\ng = grid([a, a], captions: [\"x\"])")
    #expect(bad.lastError == "grid: 2 images but 1 captions")
    let notImage = Harness().run("g = grid([zeros([2, 2])])")
    #expect(notImage.lastError == "grid: 'images[0]' is a tensor; convert it first with to_image(x)")
}

@Test func saveAndLoadImage() throws {
    let h = Harness().run("""
    save_image(tensor([[[1, 0]], [[0, 1]], [[0, 0]]]), "pics/two.png")
    img = load_image("\(NSTemporaryDirectory())missing-\(UUID().uuidString).png")
    """)
    let path = h.folder + "/out/pics/two.png"
    #expect(h.lines.first == "wrote \(path)")
    let loaded = try Image.load(path)
    #expect(loaded.pixel(x: 0, y: 0) == [1, 0, 0] && loaded.pixel(x: 1, y: 0) == [0, 1, 0])
    #expect(loaded.parameters?.hasPrefix("save_image(tensor(") == true)
    #expect(h.status == .runtimeFailure)
    #expect(h.lastError.hasPrefix("load_image: "))
    let back = Harness().run("img = load_image(\"\(path)\")\nprint(img.width, img.metadata.parameters == nil)")
    #expect(back.lines == ["2 false"])
    let bad = Harness().run("save_image(ones([2, 2]), \"x.jpg\")")
    #expect(bad.lastError == "save_image: only PNG is supported; the path must end in .png, got \"x.jpg\"")
}

@Test func inputPathsResolveAgainstTheScriptFolder() throws {
    let dir = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let image = try Image(width: 3, height: 2, channels: 3, fill: [0, 1, 0])
    try image.save(dir + "/green.png")
    try "img = load_image(\"green.png\")\nprint(img.width, img.height)\n".write(toFile: dir + "/s.swapscript", atomically: true, encoding: .utf8)
    let h = Harness()
    let status = h.session.run(file: dir + "/s.swapscript")
    #expect(status == .ok, "\(h.errors)")
    #expect(h.lines == ["3 2"])
}

@Test func saveAndLoadTensors() throws {
    let h2 = Harness()
    h2.run("a = arange(6).reshape([2, 3])\nsave_tensors({alpha: a, beta: ones([1])}, \"t/x.safetensors\")")
    let path = h2.folder + "/out/t/x.safetensors"
    #expect(h2.lines == ["wrote \(path)"])
    let file = try SafeTensorsFile(path: path)
    #expect(try file.tensor("alpha").scalars == [0, 1, 2, 3, 4, 5])
    #expect(try file.tensor("alpha").shape == [2, 3])
    #expect(file.metadata?["parameters"]?.hasPrefix("save_tensors({alpha: a, beta: ones([1])}, \"t/x.safetensors\")\nBuiltin: save_tensors") == true)
    h2.run("r = load_tensors(\"\(path)\")\nprint(keys(r), r.alpha == a)")
    #expect(h2.lines.last == "[\"alpha\", \"beta\"] true")
    h2.run("save_tensors({a: 1}, \"bad.safetensors\")")
    #expect(h2.lastError == "save_tensors: 'a' must be a tensor, got number")
    h2.run("r = load_tensors(\"/nonexistent/file.safetensors\")")
    #expect(h2.lastError.hasPrefix("load_tensors: "))
}
