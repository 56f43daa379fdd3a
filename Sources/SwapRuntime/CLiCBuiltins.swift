import Foundation
import SwapEditing
import SwapLang
import SwapModels
import SwapTensor

// The "clic" family: CLiC (Safaee et al. 2024) concept learning in context, transfer by blended
// editing with cross-attention guidance, RoI matching, and the concept file (spec
// clic-p3s-metrics.md §1–§3). `variant: "code"` (default) follows the official code,
// `"paper"` the paper's equations.

/// A learned CLiC concept together with the model it was applied to.
public final class CLiCConceptValue: HostValue {
    public let concept: CLiCConcept
    /// The base model the concept belongs to, and that model with the concept applied.
    public let base: StableDiffusion
    public let model: StableDiffusion

    public init(_ concept: CLiCConcept, base: StableDiffusion) throws {
        self.concept = concept
        self.base = base
        model = try concept.applied(to: base)
    }

    public var kindName: String { "clic_concept" }
    public var summary: String {
        "clic_concept \(concept.token) on \"\(concept.baseObject)\"  (\(concept.parameters.count) tuned tensors)"
    }
    public var fieldNames: [String] { ["token", "base_object", "embedding", "parameters", "model", "source_image", "source_mask"] }

    public func field(_ name: String) throws -> Value? {
        switch name {
        case "token": return .string(concept.token)
        case "base_object": return .string(concept.baseObject)
        case "embedding": return .tensor(concept.embedding)
        case "parameters": return .list(concept.parameters.keys.sorted().map { .string($0) })
        case "model": return .host(ModelValue(model))
        case "source_image": return concept.sourceImage.map { .tensor($0) } ?? .nil
        case "source_mask": return concept.sourceMask.map { .tensor($0) } ?? .nil
        default: return nil
        }
    }
}

enum CLiCBuiltins {
    static func variant(_ args: BoundArguments, _ op: String) throws -> CLiCVariant {
        let name = try args.string("variant")
        guard let v = CLiCVariant(rawValue: name) else { throw HostError("\(op): variant must be \"code\" or \"paper\", got \"\(name)\"") }
        return v
    }

    /// A pixel mask [H, W] in [0, 1] from a tensor ([H, W], [1, H, W], [1, 1, H, W]) or an image
    /// (the channel mean, as learning.py converts masks to grey).
    static func mask(_ v: Value, _ op: String) throws -> Tensor {
        switch v {
        case .host(let h as ImageValue):
            let t = h.image.rgb.tensor(range: .zeroToOne)   // [1, 3, H, W]
            return try Convert.engine(op) { try t.mean(axes: [1]).reshaped([t.shape[2], t.shape[3]]) }
        case .host(let h as TensorValue):
            let t = h.tensor
            let spatial = t.shape.drop { $0 == 1 }
            guard t.rank >= 2, t.rank <= 4, spatial.count == 2 || t.rank == 2 else {
                throw HostError("\(op): mask has shape \(formatShape(t.shape)), expected [H, W] (or [1, H, W], [1, 1, H, W])")
            }
            let (h, w) = (t.shape[t.rank - 2], t.shape[t.rank - 1])
            return try Convert.engine(op) { try t.reshaped([h, w]).clamped(min: 0, max: 1) }
        default:
            throw HostError("\(op): mask must be a tensor or an image, got \(v.typeName)")
        }
    }

    static func seed(_ args: BoundArguments, _ op: String) throws -> UInt64 {
        let s = try args.int("seed")
        guard s >= 0 else { throw HostError("\(op): seed must be ≥ 0, got \(s)") }
        return UInt64(s)
    }

    static func positive(_ args: BoundArguments, _ name: String, _ op: String) throws -> Float? {
        guard !args.isNil(name) else { return nil }
        let v = try args.number(name)
        guard v.isFinite, v > 0 else { throw HostError("\(op): \(name) must be a positive number, got \(formatNumber(v))") }
        return Float(v)
    }

    static func optionalInt(_ args: BoundArguments, _ name: String, _ op: String) throws -> Int? {
        guard !args.isNil(name) else { return nil }
        let v = try args.int(name)
        guard v >= 0 else { throw HostError("\(op): \(name) must be ≥ 0, got \(v)") }
        return v
    }

    /// The learning process as a `ProcessValue`.
    static func learningValue(_ p: CLiCLearning, workspace ws: Workspace, context ctx: CallContext) -> ProcessValue {
        func map(_ t: Tensor?) -> Value {
            guard let t else { return .nil }
            return (try? t.reshaped([t.shape[2], t.shape[3]])).map { .tensor($0) } ?? .nil
        }
        func number(_ d: Double) -> Value { d.isFinite ? .number(d) : .nil }
        let fields = [
            ProcessField("l_att", get: { number(p.state.attentionLoss) }),
            ProcessField("l_con", get: { number(p.state.contextLoss) }),
            ProcessField("l_roi", get: { number(p.state.roiLoss) }),
            ProcessField("loss", get: { number(p.state.loss) }),
            ProcessField("grad_norm", get: { number(p.state.gradientNorm) }),
            ProcessField("attention", get: { map(p.state.normalizedMap) }),
            ProcessField("attention_raw", get: { map(p.state.attentionMap) }),
            ProcessField("att_mask", get: { map(p.attentionMask) }),
            ProcessField("context_mask", get: { map(p.contextMask) }),
            ProcessField("token", get: { .string(p.token) }),
            ProcessField("prompt", get: { .string(p.prompt) }),
            ProcessField("parameters", get: { .list(p.parameterNames.map { .string($0) }) }),
            ProcessField("embedding", get: { .tensor(p.state.embedding) }),
            ProcessField("concept", get: { .host(try Convert.engine("concept") { try CLiCConceptValue(p.concept(), base: p.base) }) }),
            ProcessField("model", get: { .host(ModelValue(try Convert.engine("model") { try p.concept().applied(to: p.base) })) }),
        ]
        let s = p.settings
        let described: [(String, String)] = [("Model", p.base.source), ("Prompt", p.prompt), ("Token", p.token),
                                              ("Steps", "\(s.steps)"), ("Seed", "\(s.seed)"), ("Learning rate", "\(s.learningRate)"),
                                              ("Weights", "att \(s.attentionWeight), con \(s.contextWeight), roi \(s.roiWeight)")]
        return ProcessValue(process: p, workspace: ws, location: ctx.location, fields: fields,
                            parameters: { described + [("Step", "\(p.index)")] })
    }

    /// The transfer process as a `ProcessValue`.
    static func transferValue(_ p: CLiCTransfer, workspace ws: Workspace, context ctx: CallContext) -> ProcessValue {
        func tensor(_ t: Tensor?) -> Value { t.map { .tensor($0) } ?? .nil }
        func number(_ d: Double) -> Value { d.isFinite ? .number(d) : .nil }
        let fields = [
            ProcessField("latent", get: { .tensor(p.state.latent) }),
            ProcessField("background", get: { tensor(p.state.background) }),
            ProcessField("blended", get: { tensor(p.state.blended) }),
            ProcessField("guided", get: { tensor(p.state.guided) }),
            ProcessField("x0", get: { tensor(p.state.predictedClean) }),
            ProcessField("guidance_loss", get: { number(p.state.guidanceLoss) }),
            ProcessField("grad_norm", get: { number(p.state.gradientNorm) }),
            ProcessField("map", get: { (try p.state.map.map { try $0.reshaped([$0.shape[2], $0.shape[3]]) }).map { .tensor($0) } ?? .nil }),
            ProcessField("mask", get: { .tensor(try p.latentMask.reshaped([p.latentMask.shape[2], p.latentMask.shape[3]])) }),
            ProcessField("target", get: { .tensor(p.targetLatent) }),
            ProcessField("prompt", get: { .string(p.prompt) }),
        ]
        let s = p.settings
        let described: [(String, String)] = [("Model", p.model.source), ("Prompt", p.prompt), ("Steps", "\(s.steps)"),
                                              ("Seed", "\(s.seed)"), ("Guidance", "\(s.guidance)"), ("t_start", "\(s.tStart)"),
                                              ("Attention guidance", "\(s.update.rawValue) lr \(s.guidanceRate), \(s.guidanceSteps) steps, target \(s.targetOnes ? "ones" : "mask")")]
        return ProcessValue(process: p, workspace: ws, location: ctx.location, fields: fields,
                            image: { try p.image() }, parameters: { described + [("Step", "\(p.index)")] })
    }
}

extension BuiltinRegistry {
    /// Registers `clic_learn`, `clic_transfer`, `roi_match`, `save_concept` and `load_concept`.
    func registerCLiCBuiltins(_ ws: Workspace) {
        let variantParam = BuiltinParam("variant", .string, default: .string("code"),
                                        doc: "\"code\" (the official code's choices) or \"paper\" (the paper's equations)")
        register("clic_learn", family: "clic",
                 params: [BuiltinParam("model", .host(["model"])),
                          BuiltinParam("image", .host(["image"]), doc: "the source image (sides multiples of the VAE factor)"),
                          BuiltinParam("mask", .any, doc: "the concept's region: a [H, W] tensor in [0, 1] or a grey image"),
                          BuiltinParam("token", .string, doc: "the new token, e.g. \"<x>\""),
                          BuiltinParam("base_object", .string, doc: "the object the concept sits on, e.g. \"square\""),
                          BuiltinParam("steps", .integer, default: .number(500), doc: "optimisation steps"),
                          BuiltinParam("prompt", default: .nil, doc: "the main prompt with {token} and {object} (default \"a {object} with {token} style\")"),
                          BuiltinParam("init", default: .nil, doc: "a one-token word that starts the token (default: base_object)"),
                          BuiltinParam("lr", default: .nil, doc: "AdamW learning rate (default 1e-5)"),
                          BuiltinParam("weights", default: .nil, doc: "[λ_att, λ_con, λ_roi] (code 0.25/0.5/0.25, paper 0.5/1/0.5)"),
                          BuiltinParam("t_range", default: .nil, doc: "[lo, hi): timesteps drawn uniformly (code 0..1000)"),
                          BuiltinParam("augment", default: .nil, doc: "flip + brightness jitter (code true, paper false)"),
                          BuiltinParam("trained", default: .nil, doc: "\"all\" (q, k, v, out; code), \"kv\" (paper / Custom Diffusion) or \"none\""),
                          BuiltinParam("seed", .integer, default: .number(0), doc: "seed of t, ε, the augmentation and the RoI prompt"),
                          variantParam],
                 doc: "CLiC concept learning in context as a steppable process: learns a token and the cross-attention projections from one image and mask with l_att (token attention vs mask over the up-block layers), the soft-mask context loss and l_RoI. Each step reports l_att, l_con, l_roi, loss, t and grad_norm (fields and trace); `p.concept` is the learned concept.",
                 example: "p = clic_learn(m, img, mask, token: \"<x>\", base_object: \"square\", steps: 50); run(p); plot(p.trace)") { args, ctx in
            let op = "clic_learn"
            let m = try Convert.model(args["model"], op)
            let image = try DistillationSupport.pixels(args["image"], model: m, op)
            let mask = try CLiCBuiltins.mask(args["mask"], op)
            var s = CLiCLearningSettings(variant: try CLiCBuiltins.variant(args, op))
            s.steps = try args.int("steps")
            guard s.steps >= 0 else { throw HostError("\(op): steps must be ≥ 0") }
            s.seed = try CLiCBuiltins.seed(args, op)
            if let lr = try CLiCBuiltins.positive(args, "lr", op) { s.learningRate = lr }
            if !args.isNil("weights") {
                let w = try Convert.tensor(fromNested: args["weights"], op).scalars
                guard w.count == 3, w.allSatisfy({ $0.isFinite && $0 >= 0 }), w.contains(where: { $0 > 0 }) else {
                    throw HostError("\(op): weights must be [λ_att, λ_con, λ_roi], each ≥ 0, not all 0")
                }
                (s.attentionWeight, s.contextWeight, s.roiWeight) = (w[0], w[1], w[2])
            }
            if !args.isNil("t_range") {
                let r = try Convert.tensor(fromNested: args["t_range"], op).scalars
                guard r.count == 2, r[0] >= 0, r[0] < r[1], r[0] == r[0].rounded(), r[1] == r[1].rounded() else {
                    throw HostError("\(op): t_range must be [lo, hi) with integers 0 ≤ lo < hi")
                }
                s.timestepRange = Int(r[0])..<Int(r[1])
            }
            if !args.isNil("augment") {
                guard case .bool(let b) = args["augment"] else { throw HostError("\(op): augment must be true or false") }
                s.augment = b
            }
            if !args.isNil("trained") {
                let name = try args.string("trained")
                guard let t = CLiCTrainedProjections(rawValue: name) else { throw HostError("\(op): trained must be \"all\", \"kv\" or \"none\", got \"\(name)\"") }
                s.trained = t
            }
            if !args.isNil("prompt") { s.prompt = try args.string("prompt") }
            let initWord = args.isNil("init") ? nil : try args.string("init")
            let process = try Convert.inference(op) {
                try CLiCLearning(model: m, image: image, mask: mask, token: try args.string("token"),
                                 baseObject: try args.string("base_object"), initializer: initWord, settings: s)
            }
            return .host(CLiCBuiltins.learningValue(process, workspace: ws, context: ctx))
        }
        register("clic_transfer", family: "clic",
                 params: [BuiltinParam("model", .host(["model", "clic_concept"]), doc: "a concept (or a model that knows the token; then pass token:)"),
                          BuiltinParam("target_image", .host(["image"])),
                          BuiltinParam("mask", .any, doc: "where the concept goes: [H, W] tensor in [0, 1] or a grey image (kept soft)"),
                          BuiltinParam("prompt", .string, doc: "the edit prompt, containing the token, e.g. \"a circle with <x> style\""),
                          BuiltinParam("t_start", default: .nil, doc: "steps before t_start start from the noised target (code 15 of 50, paper 10; scaled to steps)"),
                          BuiltinParam("guidance", .number, default: .number(7.5), doc: "CFG scale"),
                          BuiltinParam("steps", .integer, default: .number(50), doc: "DDIM steps"),
                          BuiltinParam("guidance_steps", default: .nil, doc: "attention guidance at steps i < this (code 30 of 50, scaled)"),
                          BuiltinParam("blend_end", default: .nil, doc: "blending at steps i ≤ this (code 45 of 50, scaled; paper: every step)"),
                          BuiltinParam("lr", default: .nil, doc: "guidance rate (code 0.01, a fresh Adam step; paper η = 1 on the gradient)"),
                          BuiltinParam("eta", .number, default: .number(1), doc: "DDIM η (code 1)"),
                          BuiltinParam("token", default: .nil, doc: "the token to guide when `model` is a model"),
                          BuiltinParam("seed", .integer, default: .number(0)),
                          variantParam],
                 doc: "CLiC transfer as a steppable process: DDIM from noise with Blended-Latent-Diffusion blending (the noised target outside the soft mask, before each step) and Attend-and-Excite-style guidance of the latent toward the token's up-block cross-attention (code: target all ones, a signed Adam step; paper: target the mask, x − η·∇).",
                 example: "e = clic_transfer(c, scene.image, mask, \"a circle with <x> style\", t_start: 3, steps: 10); run(e); e.image") { args, ctx in
            let op = "clic_transfer"
            let m: StableDiffusion, token: String?
            switch args["model"] {
            case .host(let c as CLiCConceptValue): (m, token) = (c.model, args.isNil("token") ? c.concept.token : try args.string("token"))
            default: (m, token) = (try Convert.model(args["model"], op), args.isNil("token") ? nil : try args.string("token"))
            }
            let image = try DistillationSupport.pixels(args["target_image"], model: m, op)
            let mask = try CLiCBuiltins.mask(args["mask"], op)
            var s = CLiCTransferSettings(variant: try CLiCBuiltins.variant(args, op))
            let steps = try args.int("steps")
            guard (1...1000).contains(steps) else { throw HostError("\(op): steps must be between 1 and 1000, got \(steps)") }
            s.rescaleWindows(toSteps: steps)
            if let v = try CLiCBuiltins.optionalInt(args, "t_start", op) { s.tStart = v }
            if let v = try CLiCBuiltins.optionalInt(args, "guidance_steps", op) { s.guidanceSteps = v }
            if let v = try CLiCBuiltins.optionalInt(args, "blend_end", op) { s.blendEnd = v }
            if let v = try CLiCBuiltins.positive(args, "lr", op) { s.guidanceRate = v }
            s.guidance = Float(try args.number("guidance"))
            s.eta = Float(try args.number("eta"))
            s.seed = try CLiCBuiltins.seed(args, op)
            let prompt = try args.string("prompt")
            let process = try Convert.inference(op) { try CLiCTransfer(model: m, image: image, mask: mask, prompt: prompt, token: token, settings: s) }
            return .host(CLiCBuiltins.transferValue(process, workspace: ws, context: ctx))
        }
        register("roi_match", family: "clic",
                 params: [BuiltinParam("model", .host(["model"]), doc: "the base model the concept was learned on"),
                          BuiltinParam("concept", .host(["clic_concept"])),
                          BuiltinParam("target_image", .host(["image"])),
                          BuiltinParam("base_object", .string, doc: "the target's object, e.g. \"circle\""),
                          BuiltinParam("steps", .integer, default: .number(500), doc: "training steps of the region token (l_att only)"),
                          BuiltinParam("lr", default: .nil, doc: "its learning rate (default 1e-5)"),
                          BuiltinParam("extraction_steps", .integer, default: .number(50), doc: "DDIM timesteps averaged"),
                          BuiltinParam("kernel", default: .nil, doc: "opening kernel side (default 5·H/512)"),
                          BuiltinParam("threshold", .number, default: .number(100.0 / 255.0), doc: "binary threshold on the [0, 1] map"),
                          BuiltinParam("seed", .integer, default: .number(0)),
                          variantParam],
                 doc: "CLiC RoI matching: learns a region token w* from the concept's token on its source image with l_att only (\"a w* region of a OBJECT\"; code also tunes cross-attention, paper the token alone), averages w*'s cross-attention on the noised target over the DDIM timesteps, normalises, opens and thresholds. Returns {mask, map, token, prompt, trace}.",
                 example: "r = roi_match(m, p.concept, target.image, base_object: \"circle\", steps: 20); heatmap(r.map)") { args, ctx in
            let op = "roi_match"
            let m = try Convert.model(args["model"], op)
            guard case .host(let c as CLiCConceptValue) = args["concept"] else { throw HostError("\(op): concept must be a clic_concept") }
            let image = try DistillationSupport.pixels(args["target_image"], model: m, op)
            var s = CLiCRoIMatchSettings()
            s.variant = try CLiCBuiltins.variant(args, op)
            s.learningSteps = try args.int("steps")
            guard s.learningSteps >= 0 else { throw HostError("\(op): steps must be ≥ 0") }
            if let lr = try CLiCBuiltins.positive(args, "lr", op) { s.learningRate = lr }
            s.extractionSteps = try args.int("extraction_steps")
            guard (1...1000).contains(s.extractionSteps) else { throw HostError("\(op): extraction_steps must be between 1 and 1000") }
            if let k = try CLiCBuiltins.optionalInt(args, "kernel", op) {
                guard k >= 1 else { throw HostError("\(op): kernel must be ≥ 1") }
                s.kernel = k
            }
            s.threshold = Float(try args.number("threshold"))
            s.seed = try CLiCBuiltins.seed(args, op)
            let baseObject = try args.string("base_object")
            let r = try ProcessBuiltins.drive(op) {
                try Convert.engine(op) {
                    try CLiCRoIMatching.match(model: m, concept: c.concept, target: image, baseObject: baseObject, settings: s,
                                              context: ProcessBuiltins.context(ws, ctx))
                }
            }
            return .record([("mask", .tensor(r.mask)), ("map", .tensor(r.map)), ("token", .string(r.regionToken)),
                            ("prompt", .string(r.prompt)),
                            ("trace", .record([("l_att", .list((r.learning.trace.series("l_att") ?? []).map { .number($0) }))]))])
        }
        register("save_concept", family: "clic",
                 params: [BuiltinParam("concept", .any, doc: "a clic_concept or a clic_learn process"),
                          BuiltinParam("path", .string, doc: "a .safetensors path; relative paths go under the output folder")],
                 doc: "Writes a CLiC concept as one safetensors file: the token's embedding under the token, each tuned projection under its diffusers name (full weights), the source image and mask, and metadata (token, base_object, trained_parameters).",
                 example: "save_concept(p, \"striped.safetensors\")") { args, ctx in
            let concept: CLiCConcept
            switch args["concept"] {
            case .host(let c as CLiCConceptValue): concept = c.concept
            case .host(let h as ProcessValue):
                guard let p = h.process as? CLiCLearning else { throw HostError("save_concept: expects a clic_concept or a clic_learn process, got a \(h.kindName)") }
                concept = p.concept()
            default: throw HostError("save_concept: expects a clic_concept or a clic_learn process, got \(args["concept"].typeName)")
            }
            let path = try ws.resolveOutput(try args.string("path"), "save_concept")
            try Convert.engine("save_concept") { try concept.save(to: path) }
            ws.noteWritten(path, context: ctx)
            return .nil
        }
        register("load_concept", family: "clic",
                 params: [BuiltinParam("model", .host(["model"]), doc: "the base model the concept was learned on"),
                          BuiltinParam("path", .string, doc: "a file written by save_concept")],
                 doc: "Reads a CLiC concept file and applies it to the model: a clic_concept whose `model` field knows the token.",
                 example: "c = load_concept(m, \"striped.safetensors\"); clic_transfer(c, img, mask, \"a circle with <x> style\")") { args, _ in
            let m = try Convert.model(args["model"], "load_concept")
            let path = ws.resolveInput(try args.string("path"))
            return .host(try Convert.inference("load_concept") { try CLiCConceptValue(CLiCConcept(contentsOf: path), base: m) })
        }
    }
}
