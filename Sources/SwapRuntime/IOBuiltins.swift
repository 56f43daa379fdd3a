import Foundation
import SwapIO
import SwapLang
import SwapModels
import SwapTensor

// The "io" family: images and safetensors files. Input paths are tried relative to the
// script's folder, then the working directory; relative output paths go under the output
// folder. Every write is atomic and prints `wrote PATH`.

extension BuiltinRegistry {
    /// Registers `load_image`, `load_512`, `save_image`, `load_tensors` and `save_tensors`.
    func registerIOBuiltins(_ ws: Workspace) {
        register("load_image", family: "io", params: [BuiltinParam("path", .string)],
                 doc: "Reads a PNG file (any colour type and bit depth); its text chunks become `img.metadata`.",
                 example: "img = load_image(\"photos/cat.png\")") { args, _ in
            let path = ws.resolveInput(try args.string("path"))
            do {
                return .host(ImageValue(try Image.load(path), path: path))
            } catch {
                throw HostError("load_image: \(error)")
            }
        }
        register("load_512", family: "io",
                 params: [BuiltinParam("image", .any, doc: "a PNG path or an image"),
                          BuiltinParam("left", .integer, default: .number(0)), BuiltinParam("right", .integer, default: .number(0)),
                          BuiltinParam("top", .integer, default: .number(0)), BuiltinParam("bottom", .integer, default: .number(0)),
                          BuiltinParam("model", default: .nil, doc: "a model: the output side is its pixel size (sample size × VAE factor)"),
                          BuiltinParam("size", default: .nil, doc: "the output side (default: the model's, else 512)")],
                 doc: "The prompt-to-prompt / DDS / InstantSwap preprocessing `load_512`: RGB as 8 bits, the margins cut, the longer side center-cropped to a square, resized with Pillow's bicubic filter to size×size.",
                 example: "img = load_512(\"photos/cat.png\", model: m)") { args, _ in
            let image: Image
            switch args["image"] {
            case .string(let p):
                do { image = try Image.load(ws.resolveInput(p)) } catch { throw HostError("load_512: \(error)") }
            case .host(let h as ImageValue):
                image = h.image
            case let v:
                throw HostError("load_512: 'image' must be a path or an image, got \(v.typeName)")
            }
            var size = 512
            if !args.isNil("model") {
                let m = try Convert.model(args["model"], "load_512")
                size = m.unet.config.sampleSize * m.vaeScaleFactor
            }
            if !args.isNil("size") { size = try args.int("size") }
            do {
                let cropped = try image.squareCropped(left: try args.int("left"), right: try args.int("right"), top: try args.int("top"),
                                                      bottom: try args.int("bottom"), size: size)
                return .host(ImageValue(cropped))
            } catch let e as ImageError {
                throw HostError("load_512: \(e)")
            }
        }
        register("save_image", family: "io",
                 params: [BuiltinParam("image", .host(["image", "tensor"]), doc: "an image, or a tensor as accepted by to_image"),
                          BuiltinParam("path", .string, doc: "a .png path; relative paths go under the output folder"),
                          BuiltinParam("range", default: .list([.number(0), .number(1)]), doc: "for tensors: [lo, hi] or \"auto\"")],
                 doc: "Writes an image (or tensor) as a PNG, atomically, with a `parameters` text chunk saying how it was made.",
                 example: "save_image(overlay_img, \"figures/overlay.png\")") { args, ctx in
            let requested = try args.string("path")
            guard requested.lowercased().hasSuffix(".png") else {
                throw HostError("save_image: only PNG is supported; the path must end in .png, got \"\(requested)\"")
            }
            var image: Image
            var madeHere = false
            switch args["image"] {
            case .host(let h as ImageValue):
                image = h.image
                madeHere = h.madeHere
            case .host(let h as TensorValue):
                image = try ImageBuiltins.image(fromTensor: h.tensor, range: args["range"], "save_image")
            default:
                throw HostError("save_image: 'image' must be an image or a tensor, got \(args["image"].typeName)")
            }
            if !madeHere {
                image.metadata.removeAll { $0.key == "parameters" }
                let text = ws.parameters(builtin: "save_image", at: ctx.location,
                                         extra: [("Size", "\(image.width)x\(image.height)")])
                image.metadata.insert((key: "parameters", value: text), at: 0)
            }
            let path = try ws.resolveOutput(requested, "save_image")
            try ws.writePNG(image, to: path, "save_image", context: ctx)
            return .nil
        }
        register("load_tensors", family: "io", params: [BuiltinParam("path", .string)],
                 doc: "Reads a safetensors file into a record of tensors (converted to float32), in file order.",
                 example: "w = load_tensors(\"weights.safetensors\"); w.bias") { args, _ in
            let path = ws.resolveInput(try args.string("path"))
            do {
                let file = try SafeTensorsFile(path: path)
                var fields: [(String, Value)] = []
                for entry in file.entries {
                    guard entry.count <= TensorLimits.maxElements else {
                        throw HostError("load_tensors: tensor '\(entry.name)' has \(entry.count) elements, above the limit")
                    }
                    fields.append((entry.name, .tensor(try file.tensor(entry.name))))
                }
                return .record(fields)
            } catch let e as HostError {
                throw e
            } catch {
                throw HostError("load_tensors: \(error)")
            }
        }
        register("save_tensors", family: "io",
                 params: [BuiltinParam("tensors", .record, doc: "a record whose fields are tensors"),
                          BuiltinParam("path", .string, doc: "relative paths go under the output folder"),
                          BuiltinParam("dtype", .string, default: .string("F32"), doc: "F32, F16 or BF16")],
                 doc: "Writes a record of tensors as a safetensors file, atomically; `__metadata__` holds `parameters` (how it was made).",
                 example: "save_tensors({noise: noise, mask: mask}, \"run.safetensors\")") { args, ctx in
            guard case .record(let box) = args["tensors"] else { return .nil }
            guard !box.keys.isEmpty else { throw HostError("save_tensors: the record has no fields") }
            let pairs = try box.keys.map { key -> (String, Tensor) in
                (key, try Convert.tensor(box[key] ?? .nil, "save_tensors", key))
            }
            let dtypeName = try args.string("dtype")
            guard let dtype = SafeTensorsDtype(rawValue: dtypeName), SafeTensors.writableDtypes.contains(dtype) else {
                throw HostError("save_tensors: dtype must be F32, F16 or BF16, got \"\(dtypeName)\"")
            }
            let path = try ws.resolveOutput(try args.string("path"), "save_tensors")
            let text = ws.parameters(builtin: "save_tensors", at: ctx.location)
            do {
                try SafeTensors.write(pairs, metadata: ["parameters": text], to: path, dtype: dtype)
            } catch {
                throw HostError("save_tensors: \(error)")
            }
            ws.noteWritten(path, context: ctx)
            return .nil
        }
    }
}
