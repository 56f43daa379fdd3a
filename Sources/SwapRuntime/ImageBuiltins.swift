import Foundation
import SwapIO
import SwapLang
import SwapTensor

// The "image" family: tensors to pictures, heatmaps, overlays and captioned grids. Every image
// these builtins make is written as a PNG under the output folder (see `Workspace.publish`).

/// Argument helpers for the image builtins.
enum ImageBuiltins {
    /// `[lo, hi]` from a range argument; throws unless both are finite and lo < hi.
    static func rangeBounds(_ v: Value, _ op: String) throws -> (Double, Double) {
        guard case .list(let box) = v, box.items.count == 2,
              case .number(let lo) = box.items[0], case .number(let hi) = box.items[1],
              lo.isFinite, hi.isFinite, lo < hi else {
            throw HostError("\(op): range must be [lo, hi] with lo < hi, or \"auto\"; got \(v.summary)")
        }
        return (lo, hi)
    }

    /// A colormap by name.
    static func colormap(_ v: Value, _ op: String) throws -> Colormap {
        guard case .string(let name) = v, let map = Colormap(rawValue: name) else {
            let names = Colormap.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw HostError("\(op): unknown colormap \(v.summary) (choose one of \(names))")
        }
        return map
    }

    /// A 2-D map from [H, W] or a tensor with leading 1s ([1, H, W], [1, 1, H, W]).
    static func heatmap(_ v: Value, _ op: String, _ name: String) throws -> Heatmap {
        let t = try Convert.tensor(v, op, name)
        var shape = t.shape
        while shape.count > 2, shape.first == 1 { shape.removeFirst() }
        guard shape.count == 2, shape[0] >= 1, shape[1] >= 1 else {
            throw HostError("\(op): '\(name)' must be a 2-D map [H, W] (or [1, 1, H, W]), got \(formatShape(t.shape))")
        }
        do {
            return try Heatmap(width: shape[1], height: shape[0], values: t.scalars)
        } catch {
            throw HostError("\(op): '\(name)' must be a 2-D map [H, W] (or [1, 1, H, W]), got \(formatShape(t.shape))")
        }
    }

    /// The attention map inside a value, if it is one.
    static func attentionMap(_ v: Value) -> AttentionMapValue? {
        if case .host(let h as AttentionMapValue) = v { return h }
        return nil
    }

    /// The image inside an image value.
    static func image(_ v: Value, _ op: String, _ name: String) throws -> Image {
        if case .host(let h) = v, let i = h as? ImageValue { return i.image }
        if case .host(let h) = v, h is TensorValue {
            throw HostError("\(op): '\(name)' is a tensor; convert it first with to_image(x)")
        }
        throw HostError("\(op): '\(name)' must be an image, got \(v.typeName)")
    }

    /// An image from a tensor [H, W], [C, H, W] or [1, C, H, W] with C in 1...4; `range` is
    /// `[lo, hi]` (mapped to black..white) or "auto" (the tensor's own min..max).
    static func image(fromTensor t: Tensor, range: Value, _ op: String) throws -> Image {
        var planes = t
        if t.rank == 2 { planes = try Convert.engine(op) { try t.reshaped([1] + t.shape) } }
        let dims = planes.rank == 4 && planes.shape[0] == 1 ? Array(planes.shape.dropFirst()) : planes.shape
        guard dims.count == 3, (1...4).contains(dims[0]), dims[1] >= 1, dims[2] >= 1 else {
            throw HostError("\(op): expects [H, W], [C, H, W] or [1, C, H, W] with 1 to 4 channels, got \(formatShape(t.shape))")
        }
        let lo: Double, hi: Double
        if case .string("auto") = range {
            let s = t.summary
            lo = s.min.isFinite ? Double(s.min) : 0
            hi = s.max.isFinite && s.max > s.min ? Double(s.max) : lo + 1
        } else {
            (lo, hi) = try rangeBounds(range, op)
        }
        let unit = (planes - Float(lo)) * Float(1 / (hi - lo))
        do {
            return try Image(tensor: unit, range: .zeroToOne)
        } catch {
            throw HostError("\(op): \(error)")
        }
    }

    /// Colours a normalised heatmap, optionally enlarged (nearest neighbour) to `size`.
    static func colored(_ map: Heatmap, colormap: Colormap, normalize: Bool, size: (Int, Int)?) throws -> Image {
        let levels = normalize ? map.normalized() : map
        let (h, w) = size ?? (map.height, map.width)
        var pixels = [Float](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            let sy = Swift.min(y * map.height / h, map.height - 1)
            for x in 0..<w {
                let sx = Swift.min(x * map.width / w, map.width - 1)
                var v = levels[x: sx, y: sy]
                if !normalize { v = v.isNaN ? 0 : Swift.min(Swift.max(v, 0), 1) }
                let c = colormap.color(v)
                for k in 0..<3 { pixels[(y * w + x) * 3 + k] = c[k] }
            }
        }
        return try Image(width: w, height: h, channels: 3, pixels: pixels)
    }
}

extension BuiltinRegistry {
    /// Registers `to_image`, `heatmap`, `overlay` and `grid`.
    func registerImageBuiltins(_ ws: Workspace) {
        let t = ParamKind.host(["tensor"])
        let mapKinds = ParamKind.host(["tensor", "attention"])
        register("to_image", family: "image",
                 params: [BuiltinParam("x", t, doc: "[H, W] (gray), [C, H, W] or [1, C, H, W], C = 1...4"),
                          BuiltinParam("range", default: .list([.number(0), .number(1)]),
                                       doc: "[lo, hi] mapped to black..white, or \"auto\" for the tensor's min..max")],
                 doc: "Turns a tensor into an image (values clamped to the range, 8-bit rounded) and writes it as a PNG.",
                 example: "img = to_image(latent[0, 0:3], range: [-1, 1])") { args, ctx in
            let x = try Convert.tensor(args["x"], "to_image", "x")
            let image = try ImageBuiltins.image(fromTensor: x, range: args["range"], "to_image")
            return try ws.publish(image, builtin: "to_image", context: ctx)
        }
        register("heatmap", family: "image",
                 params: [BuiltinParam("map", mapKinds, doc: "[H, W] or [1, 1, H, W], or an attention map"),
                          BuiltinParam("colormap", .string, default: .string("viridis"),
                                       doc: Colormap.allCases.map(\.rawValue).joined(separator: ", ")),
                          BuiltinParam("size", default: .nil, doc: "enlarge (nearest neighbour) to an integer or [height, width] (attention maps: 256 by default)"),
                          BuiltinParam("normalize", .bool, default: .bool(true), doc: "min–max normalise first; else clamp to [0, 1]")],
                 doc: "A colour image of a 2-D map (attention, saliency), min–max normalised, and written as a PNG.",
                 example: "h = heatmap(probs[:, 0].reshape([8, 8]), size: 128)") { args, ctx in
            let map = try ImageBuiltins.heatmap(args["map"], "heatmap", "map")
            let cmap = try ImageBuiltins.colormap(args["colormap"], "heatmap")
            let attention = ImageBuiltins.attentionMap(args["map"])
            let size = args.isNil("size") ? (attention == nil ? nil : (256, 256)) : try TensorOps.size(args["size"], "heatmap")
            let normalize = args["normalize"].equals(.bool(true))
            let image = try ImageBuiltins.colored(map, colormap: cmap, normalize: normalize, size: size)
            return try ws.publish(image, builtin: "heatmap", context: ctx, extra: attention?.parameters ?? [])
        }
        register("overlay", family: "image",
                 params: [BuiltinParam("image", doc: "an image (from to_image, load_image, ...)"),
                          BuiltinParam("map", mapKinds, doc: "[H, W] or [1, 1, H, W], or an attention map"),
                          BuiltinParam("alpha", .number, default: .number(0.5), doc: "weight of the colour, 0...1"),
                          BuiltinParam("colormap", .string, default: .string("jet"))],
                 doc: "Blends a colour-mapped 2-D map over an image (the map is normalised and resized bilinearly to the image), and writes it as a PNG.",
                 example: "o = overlay(img, attn_map, alpha: 0.6)") { args, ctx in
            let image = try ImageBuiltins.image(args["image"], "overlay", "image")
            let map = try ImageBuiltins.heatmap(args["map"], "overlay", "map")
            let cmap = try ImageBuiltins.colormap(args["colormap"], "overlay")
            let alpha = try args.number("alpha")
            guard (0...1).contains(alpha) else { throw HostError("overlay: alpha must be between 0 and 1, got \(formatNumber(alpha))") }
            let blended: Image
            do {
                blended = try overlay(image, heatmap: map, alpha: Float(alpha), colormap: cmap)
            } catch {
                throw HostError("overlay: \(error)")
            }
            return try ws.publish(blended, builtin: "overlay", context: ctx,
                                  extra: ImageBuiltins.attentionMap(args["map"])?.parameters ?? [])
        }
        register("grid", family: "image",
                 params: [BuiltinParam("images", .list, doc: "a list of images"),
                          BuiltinParam("columns", .integer, default: .nil, doc: "tiles per row (default: all in one row)"),
                          BuiltinParam("captions", .list, default: .nil, doc: "one string per image"),
                          BuiltinParam("padding", .integer, default: .number(4))],
                 doc: "Arranges images in a grid with optional captions under each tile, and writes it as a PNG.",
                 example: "g = grid([img, red, blue], captions: [\"scene\", \"red\", \"blue\"])") { args, ctx in
            guard case .list(let box) = args["images"], !box.items.isEmpty else {
                throw HostError("grid: needs a non-empty list of images")
            }
            guard box.items.count <= 4096 else { throw HostError("grid: at most 4096 images, got \(box.items.count)") }
            let images = try box.items.enumerated().map { i, v in try ImageBuiltins.image(v, "grid", "images[\(i)]") }
            let columns = args.isNil("columns") ? images.count : try args.int("columns")
            guard columns >= 1 else { throw HostError("grid: columns must be at least 1, got \(columns)") }
            var captions: [String]? = nil
            if case .list(let c) = args["captions"] {
                guard c.items.count == images.count else {
                    throw HostError("grid: \(images.count) images but \(c.items.count) captions")
                }
                captions = c.items.map(\.text)
            }
            let made: Image
            do {
                made = try grid(images, columns: columns, captions: captions, padding: try args.int("padding"))
            } catch {
                throw HostError("grid: \(error)")
            }
            return try ws.publish(made, builtin: "grid", context: ctx)
        }
    }
}
