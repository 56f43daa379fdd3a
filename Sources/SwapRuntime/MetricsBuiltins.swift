import Foundation
import SwapEditing
import SwapIO
import SwapLang
import SwapTensor
import SwapWorld

// The "metrics" family (issue 9; spec clic-p3s-metrics.md §6.1, §6.2, §6.7): MSE, PSNR, SSIM with
// the common libraries' profiles, background metrics outside a box, ShapesWorld foreground
// accuracy, and result rows written as JSON Lines or CSV.

enum MetricValues {
    /// An image (read in [0, 1], alpha dropped) or a tensor [H, W], [C, H, W] or [1, C, H, W].
    static func image(_ v: Value, _ op: String, _ name: String) throws -> MetricImage {
        switch v {
        case .host(let h as ImageValue):
            let image = h.image.hasAlpha ? h.image.rgb : h.image
            return try metrics(op) { try MetricImage(image.tensor(range: .zeroToOne), op) }
        case .host(let h as TensorValue):
            return try metrics(op) { try MetricImage(h.tensor, op) }
        default:
            throw HostError("\(op): '\(name)' must be an image or a tensor, got \(v.typeName)")
        }
    }

    static func profile(_ v: Value, _ op: String) throws -> SSIMProfile {
        guard case .string(let name) = v, let p = SSIMProfile(scriptName: name) else {
            throw HostError("\(op): profile must be one of \(SSIMProfile.allCases.map { "\"\($0.scriptName)\"" }.joined(separator: ", ")), got \(v.summary)")
        }
        return p
    }

    static func dataRange(_ args: BoundArguments, _ op: String) throws -> Double {
        let r = try args.number("data_range")
        guard r > 0, r.isFinite else { throw HostError("\(op): data_range must be positive, got \(r)") }
        return r
    }

    /// A result row from a record: numbers, strings, booleans, nil, lists and records of them;
    /// a tensor becomes a nested list (at most 4096 values).
    static func row(_ v: Value, _ op: String) throws -> [ResultField] {
        guard case .record(let r) = v else { throw HostError("\(op): each row must be a record, got \(v.typeName)") }
        return try r.keys.map { ResultField($0, try cell(r[$0] ?? .nil, op, $0)) }
    }

    static func cell(_ v: Value, _ op: String, _ name: String) throws -> ResultCell {
        switch v {
        case .number(let d): return .number(d)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .nil: return .null
        case .list(let l): return .list(try l.items.map { try cell($0, op, name) })
        case .record: return .record(try row(v, op))
        case .host(let t as TensorValue):
            guard t.tensor.count <= 4096 else {
                throw HostError("\(op): field '\(name)' is a tensor of \(t.tensor.count) values; rows hold at most 4096 (save it with save_tensors)")
            }
            return try cell(Convert.list(t.tensor), op, name)
        default:
            throw HostError("\(op): field '\(name)' is a \(v.typeName), which a result file cannot hold (numbers, strings, booleans, nil, lists, records, small tensors)")
        }
    }

    static func rows(_ v: Value, _ op: String) throws -> [[ResultField]] {
        switch v {
        case .list(let l): return try l.items.map { try row($0, op) }
        case .record: return [try row(v, op)]
        default: throw HostError("\(op): rows must be a list of records (or one record), got \(v.typeName)")
        }
    }

    static func metrics<T>(_ op: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as EditingError {
            throw HostError(e.message.hasPrefix(op + ":") ? e.message : "\(op): \(e.message)")
        }
    }
}

extension BuiltinRegistry {
    /// Registers `mse`, `psnr`, `ssim`, `bg_metrics`, `fg_accuracy`, `write_jsonl` and `write_csv`.
    func registerMetricsBuiltins(_ ws: Workspace) {
        let pair = [BuiltinParam("a", .host(["image", "tensor"]), doc: "an image (read in [0, 1]) or a tensor [H, W], [C, H, W] or [1, C, H, W]"),
                    BuiltinParam("b", .host(["image", "tensor"]), doc: "the same size as a")]
        let rangeParam = BuiltinParam("data_range", .number, default: .number(1), doc: "L, the span of pixel values (1 for images and [0, 1] tensors, 255 for 0..255)")
        let profileParam = BuiltinParam("profile", .string, default: .string("wang2004"),
                                        doc: "\"wang2004\" (11x11 Gaussian σ 1.5, population moments, valid region), \"skimage_default\" (7x7 uniform, sample covariance), \"torchmetrics_pre15\" (Gaussian, clamped variances, border cropped), \"torchmetrics15\" (mean over the reflect-padded full image)")

        register("mse", family: "metrics", params: pair,
                 doc: "Mean squared error over every pixel and channel.",
                 example: "print(mse(a, b))") { args, _ in
            let a = try MetricValues.image(args["a"], "mse", "a"), b = try MetricValues.image(args["b"], "mse", "b")
            return .number(try MetricValues.metrics("mse") { try PixelError.mse(a, b) })
        }
        register("psnr", family: "metrics", params: pair + [rangeParam],
                 doc: "Peak signal-to-noise ratio in dB, 10·log10(L²/MSE) of this one pair (for a set of images, average the per-image values); inf for equal images.",
                 example: "print(psnr(edited.image, source.image))") { args, _ in
            let a = try MetricValues.image(args["a"], "psnr", "a"), b = try MetricValues.image(args["b"], "psnr", "b")
            let range = try MetricValues.dataRange(args, "psnr")
            return .number(try MetricValues.metrics("psnr") { try PixelError.psnr(a, b, dataRange: range) })
        }
        register("ssim", family: "metrics", params: pair + [profileParam, rangeParam],
                 doc: "Structural similarity (Wang et al. 2004) under a library's conventions: a record with `mean` (multichannel: the mean of per-channel SSIMs), `channels` (per-channel means), `map` (the SSIM at every pixel, a [C, H, W] tensor) and `profile`.",
                 example: "s = ssim(a, b, profile: \"skimage_default\"); print(s.mean); h = heatmap(s.map[0])") { args, _ in
            let a = try MetricValues.image(args["a"], "ssim", "a"), b = try MetricValues.image(args["b"], "ssim", "b")
            let profile = try MetricValues.profile(args["profile"], "ssim")
            let range = try MetricValues.dataRange(args, "ssim")
            let r = try MetricValues.metrics("ssim") { try StructuralSimilarity.ssim(a, b, dataRange: range, profile: profile) }
            return .record([("mean", .number(r.mean)), ("channels", .list(r.channelMeans.map { .number($0) })),
                            ("map", .tensor(Tensor(shape: [r.channels, r.height, r.width], scalars: r.map.map { Float($0) }))),
                            ("profile", .string(profile.scriptName))])
        }
        register("bg_metrics", family: "metrics",
                 params: pair + [BuiltinParam("box", doc: "{x0, y0, x1, y1} or [x0, y0, x1, y1], integer pixels, half-open: the edited region"),
                                 BuiltinParam("protocol", .string, default: .string("outside"),
                                              doc: "\"outside\": MSE/PSNR over the pixels outside the box, the SSIM map averaged over them; \"zero_fill\": both images zeroed inside the box, then full-image metrics (PnPInversion / PIE-Bench)"),
                                 profileParam, rangeParam],
                 doc: "Background metrics of a (edited) against b (source) outside a box (InstantSwap's background PSNR, SSIM and MSE): a record with `psnr`, `ssim`, `mse`, `pixels` (outside the box), `protocol` and `profile`.",
                 example: "s = world_scene(seed: 1); m = bg_metrics(edited, s.image, s.objects[0].box); print(m.psnr, m.ssim)") { args, _ in
            let a = try MetricValues.image(args["a"], "bg_metrics", "a"), b = try MetricValues.image(args["b"], "bg_metrics", "b")
            let box = try BoxRecords.pixelBox(args["box"], "bg_metrics")
            let protocolName = try args.string("protocol")
            guard let proto = BackgroundProtocol(rawValue: protocolName) else {
                throw HostError("bg_metrics: protocol must be \"outside\" or \"zero_fill\", got \"\(protocolName)\"")
            }
            let profile = try MetricValues.profile(args["profile"], "bg_metrics")
            let range = try MetricValues.dataRange(args, "bg_metrics")
            let s = try MetricValues.metrics("bg_metrics") {
                try BackgroundMetrics.compute(a, b, box: box, dataRange: range, profile: profile, backgroundProtocol: proto)
            }
            return .record([("psnr", .number(s.psnr)), ("ssim", .number(s.ssim)), ("mse", .number(s.mse)),
                            ("pixels", .number(Double(s.pixels))), ("protocol", .string(proto.rawValue)),
                            ("profile", .string(profile.scriptName))])
        }
        register("fg_accuracy", family: "metrics",
                 params: [BuiltinParam("image", .host(["image", "tensor"]), doc: "a 64x64 ShapesWorld image, or a [3, 64, 64] / [1, 3, 64, 64] tensor in [0, 1]"),
                          BuiltinParam("box", doc: "{x0, y0, x1, y1} or [x0, y0, x1, y1]: where the concept should be"),
                          BuiltinParam("concept", .string, doc: "ShapesWorld words: any of a colour, a pattern and a shape, e.g. \"cross\" or \"green checkered square\"")],
                 doc: "Foreground accuracy by the ShapesWorld recognizer: reads the largest object in the box and checks every attribute the concept names. A record with `correct` (bool), `accuracy` (1 or 0), `concept`, per-attribute `shape_ok`/`color_ok`/`pattern_ok` (nil when not named) and `reading` (recognize's record, or nil when nothing stands out).",
                 example: "s = world_scene(seed: 3); r = fg_accuracy(s.image, s.objects[0].box, s.objects[0].shape); print(r.correct)") { args, _ in
            let image = try WorldValues.recognizerInput(args["image"], range: .list([.number(0), .number(1)]), "fg_accuracy")
            let box = try WorldValues.box(from: args["box"], "fg_accuracy")
            let check = try WorldValues.world("fg_accuracy") {
                try WorldRecognizer.check(image, box: box, concept: try WorldConcept(parsing: try args.string("concept")))
            }
            func flag(_ b: Bool?) -> Value { b.map { .bool($0) } ?? .nil }
            return .record([("correct", .bool(check.correct)), ("accuracy", .number(check.correct ? 1 : 0)),
                            ("concept", .string(check.concept.description)),
                            ("shape_ok", flag(check.shapeMatches)), ("color_ok", flag(check.colorMatches)),
                            ("pattern_ok", flag(check.patternMatches)),
                            ("reading", check.reading.map(WorldValues.recognition) ?? .nil)])
        }
        register("write_jsonl", family: "metrics",
                 params: [BuiltinParam("path", .string, doc: "relative paths go under the output folder"),
                          BuiltinParam("rows", doc: "a list of records (or one record) of numbers, strings, booleans, nil, lists, records, small tensors"),
                          BuiltinParam("append", .bool, default: .bool(false), doc: "keep the file's existing lines and add these after them")],
                 doc: "Writes result rows as JSON Lines (one object per line, fields in record order), atomically; non-finite numbers become null.",
                 example: "write_jsonl(\"results.jsonl\", [{method: \"dds\", psnr: 24.1}], append: true)") { args, ctx in
            let rows = try MetricValues.rows(args["rows"], "write_jsonl")
            let path = try ws.resolveOutput(try args.string("path"), "write_jsonl")
            do { try ResultFiles.writeJSONLines(rows, to: path, append: args["append"].equals(.bool(true))) } catch {
                throw HostError("write_jsonl: \(error)")
            }
            ws.noteWritten(path, context: ctx)
            return .nil
        }
        register("write_csv", family: "metrics",
                 params: [BuiltinParam("path", .string, doc: "relative paths go under the output folder"),
                          BuiltinParam("rows", doc: "a list of records (or one record); the header is every field name in order of first appearance")],
                 doc: "Writes result rows as CSV (RFC 4180 quoting; lists and records as JSON text, nil as an empty cell), atomically.",
                 example: "write_csv(\"results.csv\", [{method: \"dds\", psnr: 24.1}, {method: \"sds\", psnr: 21.7}])") { args, ctx in
            let rows = try MetricValues.rows(args["rows"], "write_csv")
            guard !rows.isEmpty else { throw HostError("write_csv: no rows to write") }
            let path = try ws.resolveOutput(try args.string("path"), "write_csv")
            do { try ResultFiles.writeCSV(rows, to: path) } catch { throw HostError("write_csv: \(error)") }
            ws.noteWritten(path, context: ctx)
            return .nil
        }
    }
}
