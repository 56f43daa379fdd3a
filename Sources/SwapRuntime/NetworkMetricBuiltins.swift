import Foundation
import SwapIO
import SwapLang
import SwapModels
import SwapTensor

// The network-based metrics: LPIPS (matches richzhang/PerceptualSimilarity lpips.py, v0.1) and
// CLIP scores (CLIPScore as jmhessel/clipscore: 2.5·max(cos, 0); CLIP-T as torchmetrics:
// 100·max(cos, 0); CLIP-I as CustomConcept101 evaluate.py: the mean cosine over all pairs),
// on networks the user supplies as safetensors.

/// A loaded CLIP as the language sees it.
///
/// - Display: `clip ViT 32px/8 (grid 4x4, hidden 32, projection 16)  path`.
/// - Fields: `source`, `image_size`, `patch_size`, `grid` (patches per side), `hidden`,
///   `projection_dim`.
/// - Methods: `patch_features(image, layer: nil)`: the vision tower's per-patch features
///   [grid², hidden] in row-major patch order (nil: the last layer; negative counts from the end).
public final class CLIPValue: HostValue {
    public let model: CLIPModel

    public init(_ model: CLIPModel) { self.model = model }

    public var kindName: String { "clip" }
    public var summary: String {
        let c = model.vision.config
        return "clip ViT \(c.imageSize)px/\(c.patchSize) (grid \(c.gridSize)x\(c.gridSize), hidden \(c.hiddenSize), "
            + "projection \(c.projectionDim))  \(model.source)"
    }
    public var fieldNames: [String] { ["source", "image_size", "patch_size", "grid", "hidden", "projection_dim"] }
    public var methodNames: [String] { ["patch_features"] }

    public func field(_ name: String) throws -> Value? {
        let c = model.vision.config
        switch name {
        case "source": return .string(model.source)
        case "image_size": return .number(Double(c.imageSize))
        case "patch_size": return .number(Double(c.patchSize))
        case "grid": return .number(Double(c.gridSize))
        case "hidden": return .number(Double(c.hiddenSize))
        case "projection_dim": return .number(Double(c.projectionDim))
        default: return nil
        }
    }

    public func callMethod(_ name: String, arguments: Arguments, context: CallContext) throws -> Value? {
        guard name == "patch_features" else { return nil }
        let args = try Signature(name: "patch_features", params: [
            BuiltinParam("image", .host(["image"])),
            BuiltinParam("layer", default: .nil, doc: "hidden state index (nil: last layer; -2: penultimate)"),
        ]).bind(arguments)
        let image = try NetworkMetricBuiltins.image(args["image"], "patch_features")
        let layer = args.isNil("layer") ? nil : try args.int("layer")
        return .tensor(try Convert.inference("patch_features") { try model.patchFeatures(image, layer: layer) })
    }
}

/// Loaded LPIPS weights as the language sees them.
///
/// - Display: `lpips alex v0.1  path`.
/// - Fields: `net` ("alex" or "vgg"), `source`.
public final class LPIPSValue: HostValue {
    public let model: LPIPS
    public let source: String

    public init(_ model: LPIPS, source: String) {
        self.model = model
        self.source = source
    }

    public var kindName: String { "lpips" }
    public var summary: String { "lpips \(model.network.rawValue) v0.1  \(source)" }
    public var fieldNames: [String] { ["net", "source"] }

    public func field(_ name: String) throws -> Value? {
        switch name {
        case "net": return .string(model.network.rawValue)
        case "source": return .string(source)
        default: return nil
        }
    }
}

enum NetworkMetricBuiltins {
    /// An image argument.
    static func image(_ v: Value, _ op: String) throws -> Image {
        guard case .host(let h as ImageValue) = v else { throw HostError("\(op): expected an image, got \(v.typeName)") }
        return h.image
    }

    /// One image or a non-empty list of images.
    static func images(_ v: Value, _ op: String, _ name: String) throws -> [Image] {
        if case .list(let box) = v {
            guard !box.items.isEmpty else { throw HostError("\(op): '\(name)' is an empty list") }
            return try box.items.map { try image($0, op) }
        }
        return [try image(v, op)]
    }

    /// An LPIPS input as [N, 3, H, W]: an image (mapped to [-1, 1], or [0, 1] with `normalize`)
    /// or a [3, H, W] / [N, 3, H, W] tensor.
    static func lpipsInput(_ v: Value, normalize: Bool, _ name: String) throws -> Tensor {
        if case .host(let h as ImageValue) = v {
            return h.image.rgb.tensor(range: normalize ? .zeroToOne : .minusOneToOne)
        }
        let t = try Convert.tensor(v, "lpips", name)
        if t.rank == 3 { return try Convert.engine("lpips") { try t.reshaped([1] + t.shape) } }
        return t
    }

    static func clip(_ v: Value, _ op: String) throws -> CLIPModel {
        guard case .host(let h as CLIPValue) = v else { throw HostError("\(op): expected a clip (from load_clip), got \(v.typeName)") }
        return h.model
    }
}

extension BuiltinRegistry {
    /// Registers `load_clip`, `load_lpips`, `lpips`, `clip_score`, `clip_image_score`.
    func registerNetworkMetricBuiltins(_ ws: Workspace) {
        register("load_clip", family: "metrics", params: [BuiltinParam("path", .string, doc: "a transformers CLIPModel folder (config.json, model.safetensors)")],
                 doc: "Loads a CLIP (both towers and projections) from a transformers CLIPModel folder, e.g. openai/clip-vit-base-patch32 with its model.safetensors. The tokenizer is the folder's vocab.json/merges.txt or the bundled CLIP vocabulary.",
                 example: "clip = load_clip(\"models/clip-vit-base-patch32\")") { args, _ in
            let path = ws.resolveInput(try args.string("path"))
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
                throw HostError("load_clip: no such folder: \(path)")
            }
            return try Convert.inference("load_clip") { .host(CLIPValue(try CLIPModel(directory: path))) }
        }
        register("load_lpips", family: "metrics",
                 params: [BuiltinParam("path", doc: "a .safetensors file, or a list of them (e.g. the trunk and the lin layers)"),
                          BuiltinParam("net", .string, default: .string("alex"), doc: "\"alex\" or \"vgg\"")],
                 doc: "Loads LPIPS v0.1 weights from safetensors: the trunk under torchvision names (features.{i}.weight/bias) and the learned layers lin{k}.model.1.weight [1, C, 1, 1] (converted from lpips' weights/v0.1/*.pth).",
                 example: "net = load_lpips(\"models/lpips_alex.safetensors\", net: \"alex\")") { args, _ in
            let netName = try args.string("net")
            guard let network = LPIPS.Network(rawValue: netName) else {
                throw HostError("load_lpips: net must be \"alex\" or \"vgg\", got \"\(netName)\"")
            }
            let names: [String]
            switch args["path"] {
            case .string(let s): names = [s]
            case .list(let box):
                names = try box.items.map { item in
                    guard case .string(let s) = item else { throw HostError("load_lpips: path list entries must be strings, got \(item.typeName)") }
                    return s
                }
            default: throw HostError("load_lpips: path must be a string or a list of strings, got \(args["path"].typeName)")
            }
            let paths = names.map { ws.resolveInput($0) }
            for p in paths where !FileManager.default.fileExists(atPath: p) { throw HostError("load_lpips: no such file: \(p)") }
            return try Convert.inference("load_lpips") {
                .host(LPIPSValue(try LPIPS(network: network, paths: paths), source: paths.joined(separator: ", ")))
            }
        }
        register("lpips", family: "metrics",
                 params: [BuiltinParam("net", .host(["lpips"])),
                          BuiltinParam("a", .host(["image", "tensor"]), doc: "an image, or a [3, H, W] / [N, 3, H, W] tensor in [-1, 1]"),
                          BuiltinParam("b", .host(["image", "tensor"]), doc: "the same for the other side"),
                          BuiltinParam("normalize", .bool, default: .bool(false), doc: "tensors are in [0, 1] (mapped to [-1, 1])"),
                          BuiltinParam("spatial", .bool, default: .bool(false), doc: "return the [N, 1, H, W] distance map instead")],
                 doc: "LPIPS v0.1 distance (lower is more similar): a number for one pair, a [N] tensor for a batch, or with spatial: true the map (each layer's distances upsampled bilinearly and summed).",
                 example: "d = lpips(net, load_image(\"a.png\"), load_image(\"b.png\"))") { args, _ in
            guard case .host(let h as LPIPSValue) = args["net"] else { throw HostError("lpips: expected weights from load_lpips") }
            let normalize: Bool, spatial: Bool
            if case .bool(let n) = args["normalize"] { normalize = n } else { normalize = false }
            if case .bool(let s) = args["spatial"] { spatial = s } else { spatial = false }
            let a = try NetworkMetricBuiltins.lpipsInput(args["a"], normalize: normalize, "a")
            let b = try NetworkMetricBuiltins.lpipsInput(args["b"], normalize: normalize, "b")
            let result = try Convert.inference("lpips") { try h.model(a, b, normalize: normalize, spatial: spatial) }
            if spatial, let map = result.spatial { return .tensor(map) }
            return result.value.count == 1 ? .number(Convert.number(result.value.scalars[0])) : .tensor(result.value)
        }
        register("clip_score", family: "metrics",
                 params: [BuiltinParam("clip", .host(["clip"])), BuiltinParam("image", .host(["image"])),
                          BuiltinParam("text", .string),
                          BuiltinParam("prefix", .string, default: .string(""), doc: "prepended to the text (Hessel et al. use \"A photo depicts \")"),
                          BuiltinParam("weight", .number, default: .number(2.5), doc: "CLIPScore's w")],
                 doc: "Image-text agreement: a record with `clipscore` (Hessel et al.: w·max(cos, 0)), `clip_t` (torchmetrics' CLIPScore / CLIP-T: 100·max(cos, 0)) and `cosine` (the raw cosine of the projected embeddings).",
                 example: "s = clip_score(clip, img, \"a red circle\").clipscore") { args, _ in
            let model = try NetworkMetricBuiltins.clip(args["clip"], "clip_score")
            let image = try NetworkMetricBuiltins.image(args["image"], "clip_score")
            let text = try args.string("prefix") + args.string("text")
            let weight = try args.number("weight")
            let cosine = try Convert.inference("clip_score") {
                try CLIPModel.cosine(model.imageEmbeddings([image]), model.textEmbeddings([text])).scalars[0]
            }
            let c = Convert.number(cosine)
            return .record([("clipscore", .number(weight * Swift.max(c, 0))), ("clip_t", .number(100 * Swift.max(c, 0))),
                            ("cosine", .number(c))])
        }
        register("clip_image_score", family: "metrics",
                 params: [BuiltinParam("clip", .host(["clip"])),
                          BuiltinParam("a", doc: "an image or a list of images (e.g. generated)"),
                          BuiltinParam("b", doc: "an image or a list of images (e.g. references)")],
                 doc: "CLIP-I: the cosine between the CLIP image embeddings of `a` and `b`; for lists, the mean over all pairs (CustomConcept101 / DreamBooth). Multiply by 100 for the papers' tables.",
                 example: "sim = clip_image_score(clip, edited, [ref1, ref2])") { args, _ in
            let model = try NetworkMetricBuiltins.clip(args["clip"], "clip_image_score")
            let a = try NetworkMetricBuiltins.images(args["a"], "clip_image_score", "a")
            let b = try NetworkMetricBuiltins.images(args["b"], "clip_image_score", "b")
            let mean = try Convert.inference("clip_image_score") { () -> Float in
                let (ea, eb) = (try model.imageEmbeddings(a), try model.imageEmbeddings(b))
                var total: Float = 0
                for i in 0..<a.count {
                    total += try CLIPModel.cosine(ea.sliced(axis: 0, start: i, end: i + 1), eb).sum().item
                }
                return total / Float(a.count * b.count)
            }
            return .number(Convert.number(mean))
        }
    }
}
