import SwapEditing
import SwapIO
import SwapLang
import SwapModels
import SwapTensor

// The "p3s" family (P3S-Diffusion, spec clic-p3s-metrics.md §4): the point-supervised mask
// with every intermediate map, the timestep weight scheduler and the attention consistency loss.

/// A host value that encodes images into patch features for `point_mask` (a CLIP vision tower
/// conforms to use the paper's encoder; a model value uses its UNet's own features).
protocol PatchFeatureProviding: HostValue {
    var patchFeatureSource: any PatchFeatureSource { get }
}

/// The result of `point_mask`: the mask and each intermediate map as fields.
///
/// - Display: `point_mask 64x64  unet up.2.attn.0.self t=150 samples=8  threshold 0.41  1 of 3 components  area 212 px`.
/// - Fields: `mask` (the final [H, W] 0/1 mask), `positive_similarity`, `negative_similarity`,
///   `combined` (grid maps), `upsampled`, `filtered`, `binary`, `labels` (image-sized maps),
///   `threshold`, `histogram` {counts, centers}, `sigma`, `components`, `kept`,
///   `points_on_mask`, `feature_source`, `grid` [h, w], `positive_cells`, `negative_cells`, `area`.
final class PointMaskValue: HostValue {
    let result: PointMaskResult

    init(_ result: PointMaskResult) { self.result = result }

    var area: Int { result.mask.scalars.reduce(0) { $0 + ($1 > 0 ? 1 : 0) } }

    var kindName: String { "point_mask" }
    var summary: String {
        let r = result
        return "point_mask \(r.mask.shape[1])x\(r.mask.shape[0])  \(r.featureSource)  threshold \(String(format: "%.4g", r.threshold))  "
            + "\(r.keptLabels.count) of \(r.componentCount) component\(r.componentCount == 1 ? "" : "s")  area \(area) px"
            + (r.pointsOnMask ? "" : "  (a positive point fell outside the thresholded map: nearest component kept)")
    }
    var fieldNames: [String] {
        ["mask", "positive_similarity", "negative_similarity", "combined", "upsampled", "filtered", "binary", "labels",
         "threshold", "histogram", "sigma", "components", "kept", "points_on_mask", "feature_source", "grid",
         "positive_cells", "negative_cells", "area"]
    }

    func field(_ name: String) throws -> Value? {
        let r = result
        let cells = { (list: [(gx: Int, gy: Int)]) in Value.list(list.map { .list([.number(Double($0.gx)), .number(Double($0.gy))]) }) }
        switch name {
        case "mask": return .tensor(r.mask)
        case "positive_similarity": return .tensor(r.positiveSimilarity)
        case "negative_similarity": return .tensor(r.negativeSimilarity)
        case "combined": return .tensor(r.combined)
        case "upsampled": return .tensor(r.upsampled)
        case "filtered": return .tensor(r.filtered)
        case "binary": return .tensor(r.binary)
        case "labels": return .tensor(r.labels)
        case "threshold": return .number(r.threshold)
        case "histogram": return .record([("counts", .list(r.histogramCounts.map { .number($0) })),
                                          ("centers", .list(r.histogramCenters.map { .number($0) }))])
        case "sigma": return .number(r.sigma)
        case "components": return .number(Double(r.componentCount))
        case "kept": return .list(r.keptLabels.map { .number(Double($0)) })
        case "points_on_mask": return .bool(r.pointsOnMask)
        case "feature_source": return .string(r.featureSource)
        case "grid": return .list([.number(Double(r.gridHeight)), .number(Double(r.gridWidth))])
        case "positive_cells": return cells(r.positiveCells)
        case "negative_cells": return cells(r.negativeCells)
        case "area": return .number(Double(area))
        default: return nil
        }
    }
}

enum P3SValues {
    /// `[x, y]` or a list of them; `nil` gives no point.
    static func points(_ v: Value, _ op: String, _ name: String) throws -> [ImagePoint] {
        if case .nil = v { return [] }
        guard case .list(let box) = v, !box.items.isEmpty else {
            throw HostError("\(op): \(name) must be a point [x, y] or a list of points, got \(v.summary)")
        }
        func point(_ item: Value) throws -> ImagePoint {
            guard case .list(let xy) = item, xy.items.count == 2, case .number(let x) = xy.items[0], case .number(let y) = xy.items[1],
                  x.isFinite, y.isFinite else {
                throw HostError("\(op): \(name) must be a point [x, y] (pixels) or a list of points, got \(item.summary)")
            }
            return ImagePoint(x: x, y: y)
        }
        if case .number = box.items[0] { return [try point(v)] }
        return try box.items.map(point)
    }
}

extension BuiltinRegistry {
    /// Registers `point_mask`, `p3s_schedule` and `attention_consistency`.
    func registerP3SBuiltins(_ ws: Workspace) {
        register("point_mask", family: "p3s",
                 params: [BuiltinParam("model", doc: "a model (its UNet's features are used) or a patch-feature encoder such as a CLIP vision tower"),
                          BuiltinParam("image", .host(["image"])),
                          BuiltinParam("positive", doc: "the point [x, y] (pixels) on the subject to keep, or a list of points"),
                          BuiltinParam("negative", default: .nil, doc: "a point [x, y] on the similar subject to reject, or a list (default: none)"),
                          BuiltinParam("layer", default: .nil, doc: "UNet features: the attention layer whose input is read (default: the first self-attention of the last up block, at the latent resolution)"),
                          BuiltinParam("t", .integer, default: .number(150), doc: "UNet features: the timestep the latent is noised to"),
                          BuiltinParam("seed", .integer, default: .number(0), doc: "UNet features: the seed of that noise"),
                          BuiltinParam("samples", .integer, default: .number(8), doc: "UNet features: noise draws whose features are averaged"),
                          BuiltinParam("sigma", default: .nil, doc: "σ of the Gaussian filter in pixels (default: one patch)"),
                          BuiltinParam("truncate", .number, default: .number(4), doc: "the filter's radius is int(truncate·σ + 0.5) (scipy)"),
                          BuiltinParam("bins", .integer, default: .number(256), doc: "Otsu's histogram bins (scikit-image)"),
                          BuiltinParam("connectivity", .integer, default: .number(8), doc: "4 or 8")],
                 doc: "P3S-Diffusion's point-supervised mask: cosine similarity of every patch feature to the positive point's patch (M_P) and the negative's (M_N), combined as M_P·(1 − M_N), enlarged bilinearly to the image, Gaussian-filtered (scipy gaussian_filter, reflect), thresholded with Otsu (scikit-image threshold_otsu), and reduced to the 8-connected component(s) holding the positive point(s) (the nearest component when a point falls outside the thresholded map: points_on_mask is then false). The result's fields hold every intermediate map and name the feature source.",
                 example: "pm = point_mask(m, img, positive: [20, 30], negative: [44, 30]); heatmap(pm.filtered); print(pm.threshold, pm.area)") { args, _ in
            let op = "point_mask"
            guard case .host(let imageValue as ImageValue) = args["image"] else { throw HostError("point_mask: expected an image") }
            let source: any PatchFeatureSource
            switch args["model"] {
            case .host(let provider as PatchFeatureProviding):
                if !args.isNil("layer") { throw HostError("point_mask: 'layer' applies to UNet features (a model), not to a \(provider.kindName)") }
                source = provider.patchFeatureSource
            case .host(is ModelValue):
                let m = try Convert.model(args["model"], op)
                let layer = args.isNil("layer") ? nil : try args.string("layer")
                let seed = try args.int("seed")
                guard seed >= 0 else { throw HostError("point_mask: seed must be ≥ 0, got \(seed)") }
                source = try Convert.inference(op) { try UNetPatchFeatures(model: m, layer: layer, timestep: try args.int("t"), seed: UInt64(seed),
                                                                          samples: try args.int("samples")) }
            default:
                throw HostError("point_mask: 'model' must be a model from load_model or a patch-feature encoder, got \(args["model"].typeName)")
            }
            var settings = PointMaskSettings()
            if !args.isNil("sigma") {
                let s = try args.number("sigma")
                guard s.isFinite, s >= 0 else { throw HostError("point_mask: sigma must be ≥ 0, got \(s)") }
                settings.sigma = s
            }
            settings.truncate = try args.number("truncate")
            settings.bins = try args.int("bins")
            let c = try args.int("connectivity")
            guard let connectivity = Connectivity(rawValue: c) else { throw HostError("point_mask: connectivity must be 4 or 8, got \(c)") }
            settings.connectivity = connectivity
            let positive = try P3SValues.points(args["positive"], op, "positive")
            guard !positive.isEmpty else { throw HostError("point_mask: give a positive point [x, y]") }
            let negative = try P3SValues.points(args["negative"], op, "negative")
            let result = try Convert.inference(op) {
                try PointMask.compute(image: imageValue.image, source: source, positive: positive, negative: negative, settings: settings)
            }
            return .host(PointMaskValue(result))
        }

        register("p3s_schedule", family: "p3s",
                 params: [BuiltinParam("alpha", .number, default: .number(0.5), doc: "α, the multiplier"),
                          BuiltinParam("beta", .number, default: .number(0.2), doc: "β, the bias"),
                          BuiltinParam("k", .number, default: .number(2), doc: "k, the exponent"),
                          BuiltinParam("steps", .integer, default: .number(50), doc: "number of steps (leading DDIM spacing) when timesteps is not given"),
                          BuiltinParam("timesteps", default: .nil, doc: "the timesteps to weigh, e.g. a sampler's .timesteps"),
                          BuiltinParam("T", .integer, default: .number(1000), doc: "training timesteps")],
                 doc: "P3S-Diffusion's timestep weight scheduler ε_t = 1 − α·(t/T)^k + β (paper eq 10): low weight early in denoising, rising late. Returns {weights, timesteps, alpha, beta, k, T}; multiply any conditioning strength by weights[i] at step i (a guidance scale, an injection or blend strength).",
                 example: "s = sample(m, \"a red circle\", steps: 20); w = p3s_schedule(timesteps: s.timesteps); for i in 0..<20 { s.guidance = 1 + 6.5 * w.weights[i]; step(s) }") { args, _ in
            let op = "p3s_schedule"
            let schedule = try Convert.engine(op) {
                try TimestepWeightSchedule(alpha: try args.number("alpha"), beta: try args.number("beta"), k: try args.number("k"),
                                           trainSteps: try args.int("T"))
            }
            let timesteps: [Double]
            if args.isNil("timesteps") {
                timesteps = try Convert.engine(op) { try schedule.leadingTimesteps(steps: try args.int("steps")) }
            } else {
                guard case .list(let box) = args["timesteps"] else { throw HostError("p3s_schedule: timesteps must be a list of numbers") }
                timesteps = try box.items.map { item in
                    guard case .number(let t) = item, t.isFinite, t >= 0 else {
                        throw HostError("p3s_schedule: timesteps must be numbers ≥ 0, got \(item.summary)")
                    }
                    return t
                }
            }
            return .record([("weights", .list(schedule.weights(timesteps).map { .number($0) })),
                            ("timesteps", .list(timesteps.map { .number($0) })),
                            ("alpha", .number(schedule.alpha)), ("beta", .number(schedule.beta)), ("k", .number(schedule.k)),
                            ("T", .number(Double(schedule.trainSteps)))])
        }

        register("attention_consistency", family: "p3s",
                 params: [BuiltinParam("map_a", doc: "M_c: an attention map (from attention) or a tensor"),
                          BuiltinParam("map_b", doc: "M_o: a map or tensor of the same shape"),
                          BuiltinParam("normalization", .string, default: .string("paper"), doc: "\"paper\": MSE / ((Sum(M_c) + Sum(M_o))/2); \"none\": the plain MSE")],
                 doc: "P3S-Diffusion's attention consistency loss L_ac = MSE(M_c, M_o) / avg, avg = (Sum(M_c) + Sum(M_o))/2 (paper eqs 11–12), as a scalar tensor; differentiable, so it can serve as a guidance or training loss.",
                 example: "l = attention_consistency(attention(a, word: \"circle\"), attention(b, word: \"circle\")); print(l.item())") { args, _ in
            let op = "attention_consistency"
            let a = try Convert.tensor(args["map_a"], op, "map_a"), b = try Convert.tensor(args["map_b"], op, "map_b")
            let name = try args.string("normalization")
            guard let normalization = AttentionConsistency.Normalization(rawValue: name) else {
                throw HostError("attention_consistency: normalization must be \"paper\" or \"none\", got \"\(name)\"")
            }
            return .tensor(try Convert.engine(op) { try AttentionConsistency.loss(a, b, normalization: normalization) })
        }
    }
}

/// A loaded CLIP model gives `point_mask` the paper's encoder: its vision tower's patch tokens.
extension CLIPValue: PatchFeatureProviding {
    var patchFeatureSource: any PatchFeatureSource { CLIPPatchFeatures(model: model) }
}
