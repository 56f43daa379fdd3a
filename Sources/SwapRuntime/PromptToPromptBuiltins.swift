import SwapEditing
import SwapLang
import SwapModels
import SwapTensor

// The "p2p" family: `p2p` (the Prompt-to-Prompt pair as a process), `p2p_controller` (a
// controller for an existing pair) and `attach` (swap or remove the controller mid-run).

/// A Prompt-to-Prompt controller made for one pair's prompts and step count.
///
/// - Display: `p2p_controller replace  cross 0..0.8  self 0..0.4`.
/// - Fields: `mode`, `cross_steps`, `self_steps`, `weights`, `blend`, `step` (the step of its last UNet call),
///   `cross_window` (the α table, steps+1 rows of 77), `mask` (the local-blend mask at the maps'
///   resolution, [1, 1, r, r], once blending has maps).
public final class ControllerValue: HostValue {
    public let controller: PromptToPromptController
    let settings: PromptToPromptSettings

    init(_ controller: PromptToPromptController, settings: PromptToPromptSettings) {
        self.controller = controller
        self.settings = controller.settings ?? settings
    }

    public var kindName: String { "p2p_controller" }
    public var summary: String {
        "p2p_controller \(settings.mode.rawValue)  cross \(formatNumber(settings.crossSteps.0))..\(formatNumber(settings.crossSteps.1))"
            + "  self \(formatNumber(settings.selfSteps.0))..\(formatNumber(settings.selfSteps.1))"
            + (settings.weights.isEmpty ? "" : "  weights " + settings.weights.map { "\($0.word)=\(formatNumber(Double($0.value)))" }.joined(separator: ","))
            + (settings.blendWords.isEmpty ? "" : "  blend " + settings.blendWords.joined(separator: ","))
    }
    public var fieldNames: [String] { ["mode", "cross_steps", "self_steps", "weights", "blend", "step", "cross_window", "mask"] }

    public func field(_ name: String) throws -> Value? {
        switch name {
        case "mode": return .string(settings.mode.rawValue)
        case "cross_steps": return .list([.number(settings.crossSteps.0), .number(settings.crossSteps.1)])
        case "self_steps": return .list([.number(settings.selfSteps.0), .number(settings.selfSteps.1)])
        case "weights": return .record(settings.weights.map { ($0.word, .number(Double($0.value))) })
        case "blend": return .list(settings.blendWords.map { .string($0) })
        case "step": return .number(Double(controller.step))
        case "cross_window": return .tensor(Tensor(shape: [controller.crossWindow.count, PromptAlignment.tokenCount],
                                                   scalars: controller.crossWindow.flatMap { $0 }))
        case "mask":
            guard let blend = controller.localBlend, !blend.maps.blend.isEmpty else { return .nil }
            let side = try Convert.engine("p2p_controller.mask") { try blend.chosenSide() }
            return .tensor(try Convert.engine("p2p_controller.mask") { try blend.mask(height: side, width: side) })
        default: return nil
        }
    }
}

enum PromptToPromptBuiltins {
    static func pair(_ v: Value, _ op: String) throws -> (PromptToPromptPair, ProcessValue) {
        guard case .host(let h as ProcessValue) = v, let p = h.process as? PromptToPromptPair else {
            throw HostError("\(op): expects a p2p pair (from p2p(...)), got \(v.typeName)")
        }
        return (p, h)
    }

    /// A fraction f (→ 0..f) or a pair [lo, hi].
    static func window(_ v: Value, _ op: String, _ name: String) throws -> (Double, Double) {
        switch v {
        case .number(let f): return (0, f)
        case .list(let box) where box.items.count == 2:
            if case .number(let lo) = box.items[0], case .number(let hi) = box.items[1] { return (lo, hi) }
        default: break
        }
        throw HostError("\(op): \(name) must be a fraction (e.g. 0.8) or [lo, hi], got \(v.summary)")
    }

    /// The controller-related arguments into `settings`.
    static func configure(_ settings: inout PromptToPromptSettings, _ args: BoundArguments, _ op: String) throws {
        guard case .string(let mode) = args["mode"], let m = PromptToPromptMode(rawValue: mode) else {
            throw HostError("\(op): mode must be \"replace\", \"refine\" or \"reweight\", got \(args["mode"].summary)")
        }
        settings.mode = m
        switch args["cross_steps"] {
        case .record(let box):
            settings.crossWordSteps = []
            for key in box.keys {
                let bounds = try window(box.fields[key] ?? .nil, op, "cross_steps.\(key)")
                if key == "default" || key == "default_" { settings.crossSteps = bounds } else { settings.crossWordSteps.append((key, bounds)) }
            }
        case let v: settings.crossSteps = try window(v, op, "cross_steps")
        }
        settings.selfSteps = try window(args["self_steps"], op, "self_steps")
        let selfRes = try args.int("self_res")
        guard [8, 16, 32, 64].contains(selfRes) else { throw HostError("\(op): self_res must be 8, 16, 32 or 64, got \(selfRes)") }
        settings.selfMaxTokens = selfRes * selfRes
        switch args["weights"] {
        case .nil: settings.weights = []
        case .record(let box):
            settings.weights = try box.keys.map { key in
                guard case .number(let w)? = box.fields[key], w.isFinite else { throw HostError("\(op): weights.\(key) must be a number") }
                return (key, Float(w))
            }
        case let v: throw HostError("\(op): weights must be a record {word: factor}, got \(v.typeName)")
        }
        switch args["blend"] {
        case .nil: settings.blendWords = []
        case .string(let w): settings.blendWords = [w]
        case .list(let box):
            settings.blendWords = try box.items.map { item in
                guard case .string(let w) = item else { throw HostError("\(op): blend must be a word or a list of words") }
                return w
            }
        case let v: throw HostError("\(op): blend must be a word or a list of words, got \(v.typeName)")
        }
        let threshold = try args.number("blend_threshold"), start = try args.number("blend_start")
        settings.blendThreshold = Float(threshold)
        settings.blendStart = start
    }

    static let controllerParams: [BuiltinParam] = [
        BuiltinParam("mode", .string, default: .string("replace"), doc: "\"replace\" (word swap; same word count), \"refine\" (added words) or \"reweight\" (same prompt, weights:)"),
        BuiltinParam("cross_steps", default: .number(0.8), doc: "cross-attention injection: a fraction f (steps 0..f), [lo, hi], or {default: 0.8, word: [lo, hi]}"),
        BuiltinParam("self_steps", default: .number(0.4), doc: "self-attention injection: a fraction or [lo, hi]"),
        BuiltinParam("self_res", .integer, default: .number(16), doc: "self-attention is injected at layers up to this resolution (16: P2P notebook, 32: null-text notebook)"),
        BuiltinParam("weights", default: .nil, doc: "reweighting {word: factor} on the target prompt's tokens"),
        BuiltinParam("blend", default: .nil, doc: "local blend word(s), looked up in both prompts"),
        BuiltinParam("blend_threshold", .number, default: .number(0.3), doc: "local blend mask threshold"),
        BuiltinParam("blend_start", .number, default: .number(0), doc: "fraction of the run before blending starts (0.2 in the null-text notebook)"),
    ]

    static func value(_ p: PromptToPromptPair, _ ws: Workspace, _ ctx: CallContext) -> ProcessValue {
        func latent(_ t: Tensor, _ op: String) throws -> Tensor {
            guard t.shape == p.state.source.shape else {
                throw HostError("\(op) must keep shape \(formatShape(p.state.source.shape)), got \(formatShape(t.shape))")
            }
            return t.detached()
        }
        let fields: [ProcessField] = [
            ProcessField("latent", get: { .tensor(p.state.target) }, set: { v in
                p.state.target = try latent(try Convert.tensor(v, "p2p.latent", "latent"), "p2p.latent")
            }),
            ProcessField("source_latent", get: { .tensor(p.state.source) }, set: { v in
                p.state.source = try latent(try Convert.tensor(v, "p2p.source_latent", "latent"), "p2p.source_latent")
            }),
            ProcessField("x0", get: { p.state.x0.map { .tensor($0) } ?? .nil }),
            ProcessField("source", get: { .string(p.settings.source) }),
            ProcessField("target", get: { .string(p.settings.target) }),
            ProcessField("mode", get: { .string(p.settings.mode.rawValue) }),
            ProcessField("controller", get: {
                guard let c = p.state.controller else { return .nil }
                return .host(ControllerValue(c, settings: p.settings))
            }),
            ProcessField("controller_start", get: { .number(Double(p.state.controllerStart)) }),
            ProcessField("seed", get: { .number(Double(p.settings.seed)) }),
            ProcessField("timesteps", get: { .list(p.scheduler.timesteps.map { .number(Double($0)) }) }),
            ProcessField("unet_calls", get: { .number(Double(p.predictor.unetCalls)) }),
        ]
        // The image is the source and the target side by side.
        return ProcessValue(process: p, workspace: ws, location: ctx.location, fields: fields,
                            image: {
                                let both = try p.images().chunked(2, axis: 0)
                                return try Tensor.concat(both, axis: 3)
                            },
                            parameters: { p.parameters })
    }
}

extension BuiltinRegistry {
    /// Registers `p2p`, `p2p_controller` and `attach`.
    func registerPromptToPromptBuiltins(_ ws: Workspace) {
        register("p2p", family: "p2p",
                 params: [BuiltinParam("model", .host(["model"])),
                          BuiltinParam("source", .string, doc: "the source prompt (branch 0)"),
                          BuiltinParam("target", .string, doc: "the edited prompt (branch 1)")]
                    + PromptToPromptBuiltins.controllerParams + [
                          BuiltinParam("steps", .integer, default: .nil, doc: "DDIM steps (1–1000; default 50, or the inversion's count)"),
                          BuiltinParam("seed", .integer, default: .nil, doc: "seed of the shared initial noise (default: the session seed)"),
                          BuiltinParam("guidance", .number, default: .number(7.5), doc: "classifier-free guidance scale"),
                          BuiltinParam("negative", .string, default: .string(""), doc: "negative prompt (replaced by the per-step null-text embeddings of an inversion)"),
                          BuiltinParam("inversion", default: .nil, doc: "a finished invert(...) or null_text_invert(...): start from the real image's z*_T"),
                          BuiltinParam("size", default: .nil, doc: "image size in pixels: n or [height, width] (default: the model's, or the inverted image's)"),
                          BuiltinParam("capture", default: .bool(false), doc: "attention capture (post-edit maps): true, false or {cross_res:, self_res:, layers:, steps:}"),
                 ],
                 doc: "Prompt-to-Prompt (Hertz et al.) as a steppable pair: the source and target prompts are denoised together from the same noise in one batched UNet call per step, and the controller injects the source's attention into the target (replace / refine alignment, reweighting, local blend). Fields: latent (target), source_latent, x0, image (source | target), controller, trace.",
                 example: "p = run(p2p(m, source: \"a cat riding a bike\", target: \"a dog riding a bike\", seed: 1)); p.image") { args, ctx in
            let model = try Convert.model(args["model"], "p2p")
            var settings = PromptToPromptSettings(source: try args.string("source"), target: try args.string("target"))
            try PromptToPromptBuiltins.configure(&settings, args, "p2p")
            let guidance = try args.number("guidance")
            guard guidance.isFinite, abs(guidance) <= 1000 else { throw HostError("p2p: guidance must be a finite number, got \(formatNumber(guidance))") }
            settings.guidance = Float(guidance)
            settings.negative = try args.string("negative")
            if args.isNil("seed") { settings.seed = ws.seed } else {
                let s = try args.int("seed")
                guard s >= 0 else { throw HostError("p2p: seed must be ≥ 0, got \(s)") }
                settings.seed = UInt64(s)
            }
            let inversion = args.isNil("inversion") ? nil : try InversionBuiltins.result(args["inversion"], "p2p")
            settings.steps = args.isNil("steps") ? (inversion?.steps ?? 50) : try args.int("steps")
            if let (h, w) = try SamplerBuiltins.size(args["size"], "p2p") {
                (settings.height, settings.width) = (h, w)
            } else if let z = inversion?.startLatent, z.rank == 4 {
                (settings.height, settings.width) = (z.shape[2] * model.vaeScaleFactor, z.shape[3] * model.vaeScaleFactor)
            }
            let capture = try SamplerBuiltins.capture(args["capture"], "p2p")
            let p = try ProcessBuiltins.drive("p2p") {
                try PromptToPromptPair(model: model, settings: settings, inversion: inversion, capture: capture)
            }
            return .host(PromptToPromptBuiltins.value(p, ws, ctx))
        }
        register("p2p_controller", family: "p2p",
                 params: [BuiltinParam("p", .any, doc: "the p2p pair the controller is for (its prompts and step count)")]
                    + PromptToPromptBuiltins.controllerParams,
                 doc: "A Prompt-to-Prompt controller for a pair's prompts, to attach(p, c, from_step:) in place of the current one.",
                 example: "c = p2p_controller(p, mode: \"replace\", cross_steps: 0.5, weights: {dog: 2}); attach(p, c, from_step: 10)") { args, _ in
            let (p, _) = try PromptToPromptBuiltins.pair(args["p"], "p2p_controller")
            var settings = p.settings
            try PromptToPromptBuiltins.configure(&settings, args, "p2p_controller")
            let c = try ProcessBuiltins.drive("p2p_controller") {
                try PromptToPromptController.make(settings, tokenizer: p.pipeline.model.tokenizer, steps: p.scheduler.stepCount)
            }
            return .host(ControllerValue(c, settings: settings))
        }
        register("attach", family: "p2p",
                 params: [BuiltinParam("p", .any, doc: "a p2p pair"),
                          BuiltinParam("controller", default: .nil, doc: "a p2p_controller, or nil to remove the controller"),
                          BuiltinParam("from_step", .integer, default: .nil, doc: "first step the controller acts on (default: the next step); an earlier step rewinds the pair to it")],
                 doc: "Adds, replaces or removes the attention controller of a p2p pair from a given step on. Rewinding uses the pair's snapshots, so attach(p, c, from_step: k) after running reruns from step k with c.",
                 example: "attach(p, nil); run(p)   # the pair without P2P: two independent samples") { args, _ in
            let (p, value) = try PromptToPromptBuiltins.pair(args["p"], "attach")
            let controller: PromptToPromptController?
            switch args["controller"] {
            case .nil: controller = nil
            case .host(let h as ControllerValue): controller = h.controller
            case let v: throw HostError("attach: controller must be a p2p_controller or nil, got \(v.typeName)")
            }
            let from = args.isNil("from_step") ? nil : try args.int("from_step")
            try ProcessBuiltins.drive("attach") { try p.attach(controller, fromStep: from) }
            return .host(value)
        }
    }
}
