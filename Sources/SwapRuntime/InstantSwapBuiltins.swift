import Foundation
import SwapEditing
import SwapIO
import SwapLang
import SwapModels
import SwapTensor

// The "instantswap" family: the automatic bounding box, integer boxes and their drawing, and the
// full InstantSwap process (spec instantswap-sds-dds-cds.md §4; defaults from
// chenyangzhu1/InstantSwap get_bbox.py and InstantSwap.py).

/// Boxes in the project's form, a record {x0, y0, x1, y1} of integer pixels, half-open (the
/// form `draw_box` and the world builtins use), converted to and from `PixelBox`.
enum BoxRecords {
    static func record(_ b: PixelBox, extra: [(String, Value)] = []) -> Value {
        .record([("x0", .number(Double(b.left))), ("y0", .number(Double(b.top))), ("x1", .number(Double(b.right))),
                 ("y1", .number(Double(b.bottom)))] + extra)
    }

    static func pixelBox(_ v: Value, _ op: String) throws -> PixelBox {
        let b = try WorldValues.box(from: v, op)
        return try Convert.inference(op) { try PixelBox(top: b.y0, left: b.x0, bottom: b.y1, right: b.x1) }
    }
}

extension BuiltinRegistry {
    /// Registers `auto_bbox` and `instantswap`.
    func registerInstantSwapBuiltins(_ ws: Workspace) {
        func imageSize(_ v: Value, _ op: String) throws -> (width: Int, height: Int) {
            guard case .host(let h as ImageValue) = v else { throw HostError("\(op): expected an image, got \(v.typeName)") }
            return (h.image.width, h.image.height)
        }

        register("auto_bbox", family: "instantswap",
                 params: [BuiltinParam("model", .host(["model"]), doc: "the model whose attention is read (officially the vanilla model)"),
                          BuiltinParam("image", .host(["image"])), BuiltinParam("prompt", .string, doc: "a prompt describing the image"),
                          BuiltinParam("word", .string, doc: "the concept word of the prompt (its last token is used)"),
                          BuiltinParam("grid", default: .nil, doc: "attention grid width (default: latent width / 4, 16 at 512²)"),
                          BuiltinParam("exponent", .number, default: .number(2), doc: "τ, the element-wise exponent of the cross-attention"),
                          BuiltinParam("threshold", .number, default: .number(0.5), doc: "λ, on the max-normalised map"),
                          BuiltinParam("timesteps", .list, default: .list(ListBox([.number(500), .number(300), .number(100)])), doc: "one attention pass per timestep"),
                          BuiltinParam("largest_component", .bool, default: .bool(true), doc: "keep the largest 4-connected component of each pass"),
                          BuiltinParam("seed", .integer, default: .number(0), doc: "seed of the passes' noise")],
                 doc: "InstantSwap's automatic bounding box: per pass, noise the image's latent, read the UNet's attention at one grid, form A_s·(A_c)^τ at the word's token, normalise, resize (bicubic) to the image, threshold, keep the largest component; the box bounds the union of the passes. Returns a box record {x0, y0, x1, y1} (integer pixels, half-open; draw it with draw_box) with `maps`, the passes' attention maps as [h, w] tensors.",
                 example: "b = auto_bbox(m, img, \"a red circle on grey\", word: \"circle\")") { args, _ in
            let m = try Convert.model(args["model"], "auto_bbox")
            let size = try imageSize(args["image"], "auto_bbox")
            let prompt = try args.string("prompt"), word = try args.string("word")
            guard let token = m.tokenizer.tokenIndices(of: word, in: prompt).last else {
                throw HostError("auto_bbox: \"\(word)\" is not a word of \"\(prompt)\"")
            }
            var settings = AutoBoxSettings()
            settings.exponent = Float(try args.number("exponent"))
            settings.threshold = Float(try args.number("threshold"))
            settings.largestComponent = args["largest_component"].equals(.bool(true))
            guard case .list(let ts) = args["timesteps"] else { return .nil }
            settings.timesteps = try ts.items.map { item in
                guard case .number(let d) = item, d == d.rounded(), d >= 0, d < 1000 else {
                    throw HostError("auto_bbox: timesteps must be integers in 0..<1000, got \(item.summary)")
                }
                return Int(d)
            }
            let grid = args.isNil("grid") ? nil : try args.int("grid")
            let latent = try DistillationSupport.latent(args["image"], model: m, "auto_bbox")
            let result = try Convert.inference("auto_bbox") {
                try AutoBoundingBox.find(predictor: NoisePredictor(model: m), latent: latent,
                                         prompt: try m.textEncoder.promptEmbeddings([m.tokenizer.encode(prompt)]),
                                         null: try m.textEncoder.promptEmbeddings([m.tokenizer.encode("")]), token: token,
                                         imageHeight: size.height, imageWidth: size.width, grid: grid, settings: settings,
                                         seed: UInt64(try args.int("seed")))
            }
            let maps: [Value] = result.passes.map { .host(TensorValue(Tensor(shape: [$0.map.height, $0.map.width], scalars: $0.map.values))) }
            return BoxRecords.record(result.box, extra: [("maps", .list(maps))])
        }

        register("instantswap", family: "instantswap",
                 params: [BuiltinParam("model", .host(["model"]), doc: "the (DreamBooth) model that knows the target concept"),
                          BuiltinParam("source", .host(["image", "tensor"]), doc: "the image, or a latent (to chain swaps: another swap's .latent)"),
                          BuiltinParam("source_prompt", .string), BuiltinParam("target_prompt", .string, doc: "\"\" removes the concept"),
                          BuiltinParam("source_concept", .string, doc: "SECR's remover prompt, e.g. \"shell\" (\"\" to insert a concept)"),
                          BuiltinParam("target_concept", .string, doc: "SECR's adder prompt, e.g. \"sks flower\" (\"\" to remove)"),
                          BuiltinParam("box", default: .nil, doc: "the concept's box {x0, y0, x1, y1} in the image's pixels (default: auto_bbox of the source concept's last word)"),
                          BuiltinParam("bbox_model", default: .nil, doc: "the model for auto_bbox (officially the vanilla model; default: model)"),
                          BuiltinParam("image_size", default: .nil, doc: "[width, height] of the image a latent source belongs to (default: latent × VAE factor)"),
                          BuiltinParam("bgm", .bool, default: .bool(true), doc: "Background Gradient Masking"),
                          BuiltinParam("secr", .bool, default: .bool(true), doc: "SECR on both branches"),
                          BuiltinParam("secr_source", .bool, default: .bool(true), doc: "SECR on the source branch"),
                          BuiltinParam("secr_target", .bool, default: .bool(true), doc: "SECR on the target branch"),
                          BuiltinParam("secr_outside", .string, default: .string("passthrough"), doc: "\"passthrough\" (official) or \"prompt\" (cross-attention to the full prompt outside the box)"),
                         ] + Self.distillationOptions,
                 doc: "InstantSwap as a steppable process: DDS with BGM (gradient zeroed outside the box), SECR (box queries attend to the concept prompts) and SSGU (k = 5), 550 iterations over sorted timesteps in 100..899, seed 42. Swap several concepts by chaining: source: previous.latent.",
                 example: "p = instantswap(m, source: img, source_prompt: \"a red circle\", target_prompt: \"a green square\", source_concept: \"circle\", target_concept: \"square\"); run(p); draw_box(p.image, p.box)") { args, ctx in
            let m = try Convert.model(args["model"], "instantswap")
            let source = try DistillationSupport.latent(args["source"], model: m, "instantswap")
            let f = m.vaeScaleFactor
            var size = (width: source.shape[3] * f, height: source.shape[2] * f)
            if case .host(let h as ImageValue) = args["source"] { size = (h.image.width, h.image.height) }
            if !args.isNil("image_size") {
                let wh = try Convert.ints(args["image_size"], "instantswap", "image_size")
                guard wh.count == 2 else { throw HostError("instantswap: image_size must be [width, height]") }
                size = (wh[0], wh[1])
            }
            var settings = DistillationSettings(method: .instantswap)
            try Self.applyDistillationOptions(args, to: &settings, "instantswap")
            var parts = InstantSwapParts()
            parts.bgm = args["bgm"].equals(.bool(true))
            let secr = args["secr"].equals(.bool(true))
            parts.secrSource = secr && args["secr_source"].equals(.bool(true))
            parts.secrTarget = secr && args["secr_target"].equals(.bool(true))
            let outside = try args.string("secr_outside")
            guard let mode = SECROutside(rawValue: outside) else {
                throw HostError("instantswap: secr_outside must be \"passthrough\" or \"prompt\", got \"\(outside)\"")
            }
            parts.secrOutside = mode
            let sourcePrompt = try args.string("source_prompt"), sourceConcept = try args.string("source_concept")
            let chosen: PixelBox
            if args.isNil("box") {
                let bboxModel = args.isNil("bbox_model") ? m : try Convert.model(args["bbox_model"], "instantswap")
                let word = sourceConcept.split(separator: " ").last.map(String.init) ?? ""
                guard let token = bboxModel.tokenizer.tokenIndices(of: word, in: sourcePrompt).last else {
                    throw HostError("instantswap: no box given and the source concept's word \"\(word)\" is not in the source prompt \"\(sourcePrompt)\" (give box:)")
                }
                chosen = try Convert.inference("instantswap") {
                    try AutoBoundingBox.find(predictor: NoisePredictor(model: bboxModel), latent: source,
                                             prompt: try bboxModel.textEncoder.promptEmbeddings([bboxModel.tokenizer.encode(sourcePrompt)]),
                                             null: try bboxModel.textEncoder.promptEmbeddings([bboxModel.tokenizer.encode("")]),
                                             token: token, imageHeight: size.height, imageWidth: size.width).box
                }
            } else {
                chosen = try BoxRecords.pixelBox(args["box"], "instantswap")
            }
            return try Convert.inference("instantswap") {
                let embed = { (text: String) in try m.textEncoder.promptEmbeddings([m.tokenizer.encode(text)]) }
                let prompts = InstantSwapPrompts(null: try embed(""), sourcePrompt: try embed(sourcePrompt),
                                                 targetPrompt: try embed(try args.string("target_prompt")),
                                                 sourceConcept: try embed(sourceConcept), targetConcept: try embed(try args.string("target_concept")))
                let process = try InstantSwap.makeProcess(predictor: NoisePredictor(model: m), source: source, imageHeight: size.height,
                                                          imageWidth: size.width, prompts: prompts, box: chosen, parts: parts,
                                                          settings: settings)
                return .host(DistillationValue.make(process, model: m, box: chosen, workspace: ws, context: ctx,
                                                    parameters: [("Model", m.source), ("Source prompt", sourcePrompt),
                                                                 ("Source concept", sourceConcept), ("Box", "\(chosen)")]))
            }
        }
    }
}
