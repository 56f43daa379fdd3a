import SwapIO
import SwapLang
import SwapTensor
import SwapWorld

// The "world" family: ShapesWorld scenes with their ground truth, the recognizer, and box
// drawing (issue 7). Scene images are not written to disk (`save_image` does that); `draw_box`
// writes its picture like the other image builtins.

/// Conversions between ShapesWorld values and script values.
enum WorldValues {
    /// A box as a record {x0, y0, x1, y1} (integers, half-open).
    static func box(_ box: WorldBox) -> Value {
        .record([("x0", .number(Double(box.x0))), ("y0", .number(Double(box.y0))),
                 ("x1", .number(Double(box.x1))), ("y1", .number(Double(box.y1)))])
    }

    /// A box from a record {x0, y0, x1, y1} or a list [x0, y0, x1, y1] of integers.
    static func box(from v: Value, _ op: String) throws -> WorldBox {
        var numbers: [Value] = []
        switch v {
        case .list(let list): numbers = list.items
        case .record(let record): numbers = ["x0", "y0", "x1", "y1"].compactMap { record[$0] }
        default: break
        }
        let ints = numbers.compactMap(Convert.int)
        guard ints.count == 4, numbers.count == 4 else {
            throw HostError("\(op): a box is {x0, y0, x1, y1} or [x0, y0, x1, y1] with integer pixels, got \(v.summary)")
        }
        guard ints[0] < ints[2], ints[1] < ints[3] else {
            throw HostError("\(op): box \(v.summary) is empty (needs x0 < x1 and y0 < y1)")
        }
        return WorldBox(x0: ints[0], y0: ints[1], x1: ints[2], y1: ints[3])
    }

    /// The split named "train", "held_out" or "unseen_pairs".
    static func split(_ v: Value, _ op: String) throws -> WorldSplit {
        let names: [String: WorldSplit] = ["train": .train, "held_out": .heldOut, "unseen_pairs": .unseenPairs]
        guard case .string(let name) = v, let split = names[name] else {
            throw HostError("\(op): split must be \"train\", \"held_out\" or \"unseen_pairs\", got \(v.summary)")
        }
        return split
    }

    static func splitName(_ split: WorldSplit) -> String {
        switch split {
        case .train: return "train"
        case .heldOut: return "held_out"
        case .unseenPairs: return "unseen_pairs"
        }
    }

    /// An object count: an integer n (exactly n) or a list [lo, hi]; each between 1 and 2.
    static func objectCount(_ v: Value, _ op: String) throws -> ClosedRange<Int> {
        var bounds: [Int] = []
        switch v {
        case .number: bounds = Convert.int(v).map { [$0, $0] } ?? []
        case .list(let list) where list.items.count == 2: bounds = list.items.compactMap(Convert.int)
        default: break
        }
        guard bounds.count == 2, 1 <= bounds[0], bounds[0] <= bounds[1], bounds[1] <= 2 else {
            throw HostError("\(op): objects must be 1, 2 or a range [lo, hi] within [1, 2], got \(v.summary)")
        }
        return bounds[0]...bounds[1]
    }

    /// A seed: a non-negative integer.
    static func seed(_ args: BoundArguments, _ op: String) throws -> UInt64 {
        let seed = try args.int("seed")
        guard seed >= 0 else { throw HostError("\(op): seed must be 0 or more, got \(seed)") }
        return UInt64(seed)
    }

    /// A scene as a record: seed, split, caption, image, objects, masks, background.
    static func scene(_ scene: WorldScene) throws -> Value {
        var image = try world("world_scene") { try Image(tensor: scene.image, range: .zeroToOne) }
        image.metadata = [(key: "Description", value: scene.caption),
                          (key: "Source", value: "ShapesWorld seed \(scene.seed) split \(splitName(scene.split))")]
        let objects = scene.objects.map(object)
        return .record([
            ("seed", .number(Double(scene.seed))),
            ("split", .string(splitName(scene.split))),
            ("caption", .string(scene.caption)),
            ("image", .host(ImageValue(image))),
            ("objects", .list(objects)),
            ("masks", .list(scene.objects.map { .tensor($0.maskTensor) })),
            ("background", .string(scene.background.description)),
        ])
    }

    /// An object as a record: shape, color, pattern, size, placement, box, center, mask.
    static func object(_ object: WorldObject) -> Value {
        .record([
            ("shape", .string(object.shape.rawValue)),
            ("color", .string(object.color.rawValue)),
            ("pattern", .string(object.pattern.rawValue)),
            ("size", .string(object.size.rawValue)),
            ("placement", .string(object.placement.rawValue)),
            ("box", box(object.box)),
            ("center", .list([.number(Double(object.center.x)), .number(Double(object.center.y))])),
            ("mask", .tensor(object.maskTensor)),
        ])
    }

    /// A recognizer reading as a record.
    static func recognition(_ r: WorldRecognition) -> Value {
        .record([
            ("shape", .string(r.shape.rawValue)),
            ("color", .string(r.color.rawValue)),
            ("pattern", .string(r.pattern.rawValue)),
            ("confidence", .number(Double(r.confidence))),
            ("box", box(r.box)),
            ("shape_confidence", .number(Double(r.shapeConfidence))),
            ("color_confidence", .number(Double(r.colorConfidence))),
            ("pattern_confidence", .number(Double(r.patternConfidence))),
        ])
    }

    /// A [3, 64, 64] tensor in [0, 1] from an image or a tensor whose values span `range`.
    static func recognizerInput(_ v: Value, range: Value, _ op: String) throws -> Tensor {
        switch v {
        case .host(let h as ImageValue):
            return h.image.rgb.tensor(range: .zeroToOne)
        case .host(let h as TensorValue):
            let (lo, hi) = try ImageBuiltins.rangeBounds(range, op)
            return (h.tensor - Float(lo)) * Float(1 / (hi - lo))
        default:
            throw HostError("\(op): 'image' must be an image or a tensor, got \(v.typeName)")
        }
    }

    /// Runs a ShapesWorld call, turning its errors into script errors.
    static func world<T>(_ op: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as HostError { throw e } catch let e as WorldError {
            throw HostError("\(op): \(e.message)")
        } catch {
            let text = "\(error)"
            throw HostError(text.hasPrefix(op + ":") ? text : "\(op): \(text)")
        }
    }
}

extension BuiltinRegistry {
    /// Registers `world_scene`, `world_batch`, `recognize`, `recognize_all` and `draw_box`.
    func registerWorldBuiltins(_ ws: Workspace) {
        let splitDoc = "\"train\" (no held-out concept), \"held_out\" (the held-out shape \"\(WorldShape.heldOut.rawValue)\" or pattern \"\(WorldPattern.heldOut.rawValue)\"), or \"unseen_pairs\""
        register("world_scene", family: "world",
                 params: [BuiltinParam("seed", .integer, doc: "any integer ≥ 0; the scene is a pure function of seed and split"),
                          BuiltinParam("split", .string, default: .string("train"), doc: splitDoc),
                          BuiltinParam("objects", default: .list([.number(1), .number(2)]), doc: "1, 2, or a range [lo, hi]")],
                 doc: "A ShapesWorld scene (64x64): a record with `image`, `caption`, `objects` (each with shape, color, pattern, size, placement, `box` {x0, y0, x1, y1} and `mask`), `masks`, `seed`, `split` and `background`.",
                 example: "s = world_scene(seed: 7); print(s.caption, s.objects[0].box)") { args, _ in
            let seed = try WorldValues.seed(args, "world_scene")
            let split = try WorldValues.split(args["split"], "world_scene")
            let count = try WorldValues.objectCount(args["objects"], "world_scene")
            return try WorldValues.scene(ShapesWorld.scene(seed: seed, split: split, objects: count))
        }
        register("world_batch", family: "world",
                 params: [BuiltinParam("count", .integer, doc: "1 to 4096 scenes"),
                          BuiltinParam("seed", .integer, doc: "scene i has seed seed + i"),
                          BuiltinParam("split", .string, default: .string("train"), doc: splitDoc),
                          BuiltinParam("objects", default: .list([.number(1), .number(2)]), doc: "1, 2, or a range [lo, hi]")],
                 doc: "A batch of ShapesWorld scenes rendered in parallel: a record with `images` (a [count, 3, 64, 64] tensor in [0, 1]), `captions` and `scenes` (records as world_scene gives).",
                 example: "b = world_batch(count: 8, seed: 100); print(b.images.shape, b.captions[0])") { args, _ in
            let count = try args.int("count")
            guard (1...4096).contains(count) else { throw HostError("world_batch: count must be between 1 and 4096, got \(count)") }
            let seed = try WorldValues.seed(args, "world_batch")
            let split = try WorldValues.split(args["split"], "world_batch")
            let objects = try WorldValues.objectCount(args["objects"], "world_batch")
            let (images, scenes) = ShapesWorld.batch(count: count, seed: seed, split: split, objects: objects)
            return .record([
                ("images", .tensor(images)),
                ("captions", .list(scenes.map { .string($0.caption) })),
                ("scenes", .list(try scenes.map(WorldValues.scene))),
            ])
        }
        let imageDoc = "an image, or a [3, 64, 64] / [1, 3, 64, 64] tensor"
        let rangeParam = BuiltinParam("range", default: .list([.number(0), .number(1)]), doc: "for tensors: the [lo, hi] that maps to black..white")
        register("recognize", family: "world",
                 params: [BuiltinParam("image", .host(["image", "tensor"]), doc: imageDoc),
                          BuiltinParam("box", default: .nil, doc: "{x0, y0, x1, y1} or [x0, y0, x1, y1]: read the largest object inside; default: the largest object of the image"),
                          rangeParam],
                 doc: "Reads a ShapesWorld object's shape, colour and pattern (analytic recognizer): a record with `shape`, `color`, `pattern`, `confidence` (0–1), the object's `box` and per-label confidences; nil when nothing stands out from the background.",
                 example: "s = world_scene(seed: 3); r = recognize(s.image, box: s.objects[0].box); print(r.shape, r.color)") { args, _ in
            let image = try WorldValues.recognizerInput(args["image"], range: args["range"], "recognize")
            let box = args.isNil("box") ? nil : try WorldValues.box(from: args["box"], "recognize")
            let reading = try WorldValues.world("recognize") { try WorldRecognizer.recognize(image, box: box) }
            return reading.map(WorldValues.recognition) ?? .nil
        }
        register("recognize_all", family: "world",
                 params: [BuiltinParam("image", .host(["image", "tensor"]), doc: imageDoc), rangeParam],
                 doc: "Reads every ShapesWorld object of an image, in caption order (left to right, or top to bottom): a list of records as `recognize` gives.",
                 example: "for r in recognize_all(world_scene(seed: 0).image) { print(r.color, r.shape) }") { args, _ in
            let image = try WorldValues.recognizerInput(args["image"], range: args["range"], "recognize_all")
            return .list(try WorldValues.world("recognize_all") { try WorldRecognizer.recognizeAll(image) }.map(WorldValues.recognition))
        }
        register("draw_box", family: "image",
                 params: [BuiltinParam("image", .host(["image"])),
                          BuiltinParam("box", doc: "{x0, y0, x1, y1} or [x0, y0, x1, y1], integer pixels, half-open, inside the image"),
                          BuiltinParam("color", .list, default: .list([.number(1), .number(0), .number(0)]), doc: "[r, g, b] in [0, 1]"),
                          BuiltinParam("width", .integer, default: .number(1), doc: "line width in pixels, drawn inside the box")],
                 doc: "Draws a box's outline on a copy of an image and writes it as a PNG.",
                 example: "s = world_scene(seed: 1); b = draw_box(s.image, s.objects[0].box)") { args, ctx in
            let image = try ImageBuiltins.image(args["image"], "draw_box", "image")
            let box = try WorldValues.box(from: args["box"], "draw_box")
            guard box.x0 >= 0, box.y0 >= 0, box.x1 <= image.width, box.y1 <= image.height else {
                throw HostError("draw_box: \(box) is not inside the \(image.width)x\(image.height) image")
            }
            guard case .list(let colorList) = args["color"], colorList.items.count == 3,
                  case .number(let r) = colorList.items[0], case .number(let g) = colorList.items[1], case .number(let b) = colorList.items[2],
                  [r, g, b].allSatisfy({ (0...1).contains($0) }) else {
                throw HostError("draw_box: color must be [r, g, b] with values in [0, 1], got \(args["color"].summary)")
            }
            let width = try args.int("width")
            guard width >= 1 else { throw HostError("draw_box: width must be at least 1, got \(width)") }
            return try ws.publish(Self.outlined(image, box: box, rgb: [Float(r), Float(g), Float(b)], width: width),
                                  builtin: "draw_box", context: ctx)
        }
    }

    /// `image` (as RGB, or RGBA with opaque lines) with the outline of `box`, `width` pixels thick inside it.
    static func outlined(_ image: Image, box: WorldBox, rgb: [Float], width: Int) -> Image {
        let base = image.hasAlpha ? image.rgba : image.rgb
        var pixels = base.pixels
        let channels = base.channels
        for y in box.y0..<box.y1 {
            for x in box.x0..<box.x1 {
                let edge = x - box.x0 < width || box.x1 - 1 - x < width || y - box.y0 < width || box.y1 - 1 - y < width
                guard edge else { continue }
                let i = (y * base.width + x) * channels
                for c in 0..<3 { pixels[i + c] = rgb[c] }
                if channels == 4 { pixels[i + 3] = 1 }
            }
        }
        return (try? Image(width: base.width, height: base.height, channels: channels, pixels: pixels,
                           metadata: base.metadata)) ?? base
    }
}
