import SwapEditing
import SwapIO
import SwapLang
import SwapModels
import SwapPipeline
import SwapTensor

// The "sampling" family: `sample` (text-to-image, diffusers StableDiffusionPipeline) and
// `sdedit` (diffusers StableDiffusionImg2ImgPipeline) as steppable processes.

enum SamplerBuiltins {
    static func scheduler(_ v: Value, _ op: String) throws -> SchedulerChoice {
        switch v {
        case .string("ddim"): return .ddim()
        case .string("euler"): return .eulerDiscrete
        case .string("ddpm"): return .ddpm
        default: throw HostError("\(op): scheduler must be \"ddim\", \"euler\" or \"ddpm\", got \(v.summary)")
        }
    }

    /// The settings shared by `sample` and `sdedit`.
    static func settings(_ args: BoundArguments, _ ws: Workspace, _ op: String) throws -> SamplerSettings {
        let steps = try args.int("steps")
        guard (1...1000).contains(steps) else { throw HostError("\(op): steps must be between 1 and 1000, got \(steps)") }
        let guidance = try args.number("guidance")
        guard guidance.isFinite, abs(guidance) <= 1000 else { throw HostError("\(op): guidance must be a finite number, got \(formatNumber(guidance))") }
        let seed: UInt64
        if args.isNil("seed") { seed = ws.seed } else {
            let s = try args.int("seed")
            guard s >= 0 else { throw HostError("\(op): seed must be ≥ 0, got \(s)") }
            seed = UInt64(s)
        }
        return SamplerSettings(prompt: try args.string("prompt"), negative: try args.string("negative"), guidance: Float(guidance),
                               steps: steps, seed: seed, scheduler: try scheduler(args["scheduler"], op))
    }

    /// Capture settings from `capture: true | false | {cross_res: 32, self_res: 32, layers: [...], steps: a..b}`.
    static func capture(_ v: Value, _ op: String) throws -> AttentionCaptureSettings {
        switch v {
        case .bool(true): return AttentionCaptureSettings()
        case .bool(false): return .off
        case .record(let box):
            var s = AttentionCaptureSettings()
            for (key, value) in box.fields {
                switch key {
                case "cross_res": s.crossMaxResolution = try resolutionLimit(value, op, key)
                case "self_res": s.selfMaxResolution = try resolutionLimit(value, op, key)
                case "layers":
                    guard case .list(let items) = value else { throw HostError("\(op): capture.layers must be a list of layer paths") }
                    s.layers = Set(try items.items.map { item -> String in
                        guard case .string(let path) = item else { throw HostError("\(op): capture.layers must be a list of layer paths") }
                        return path
                    })
                case "steps": s.steps = try AttentionBuiltins.steps(value, op)
                default: throw HostError("\(op): unknown capture setting '\(key)' (cross_res, self_res, layers, steps)")
                }
            }
            return s
        default:
            throw HostError("\(op): capture must be true, false or a record {cross_res:, self_res:, layers:, steps:}, got \(v.typeName)")
        }
    }

    static func resolutionLimit(_ v: Value, _ op: String, _ key: String) throws -> Int {
        guard let r = Convert.int(v), r == 0 || AttentionQuery.resolutions.contains(r) else {
            throw HostError("\(op): capture.\(key) must be 0, 8, 16, 32 or 64, got \(v.summary)")
        }
        return r
    }

    /// `size: 512` or `size: [height, width]`.
    static func size(_ v: Value, _ op: String) throws -> (Int, Int)? {
        if case .nil = v { return nil }
        return try TensorOps.size(v, op)
    }

    /// Wraps a sampler with its fields.
    static func value(_ s: Sampler, _ ws: Workspace, _ ctx: CallContext) -> ProcessValue {
        let op = s.kindName
        func tensorField(_ t: Tensor?) -> Value { t.map { .tensor($0) } ?? .nil }
        let fields: [ProcessField] = [
            ProcessField("latent", get: { .tensor(s.state.latent) }, set: { v in
                let t = try Convert.tensor(v, "\(op).latent", "latent")
                try ProcessBuiltins.drive("\(op).latent") { try s.setLatent(t) }
            }),
            ProcessField("eps", get: { tensorField(s.state.eps) }),
            ProcessField("x0", get: { tensorField(s.state.x0) }),
            ProcessField("prompt", get: { .string(s.state.prompt) }, set: { v in
                guard case .string(let text) = v else { throw HostError("\(op).prompt must be a string, got \(v.typeName)") }
                try ProcessBuiltins.drive("\(op).prompt") { try s.setPrompt(text) }
            }),
            ProcessField("negative", get: { .string(s.state.negative) }, set: { v in
                guard case .string(let text) = v else { throw HostError("\(op).negative must be a string, got \(v.typeName)") }
                try ProcessBuiltins.drive("\(op).negative") { try s.setPrompt(negative: text) }
            }),
            ProcessField("guidance", get: { .number(Double(s.state.guidance)) }, set: { v in
                guard case .number(let g) = v, g.isFinite, abs(g) <= 1000 else {
                    throw HostError("\(op).guidance must be a finite number, got \(v.summary)")
                }
                try ProcessBuiltins.drive("\(op).guidance") { try s.setGuidance(Float(g)) }
            }),
            ProcessField("seed", get: { .number(Double(s.settings.seed)) }),
            ProcessField("scheduler", get: { .string(s.settings.schedulerName) }),
            ProcessField("timesteps", get: { .list(s.scheduler.timesteps.map { .number(Double($0)) }) }),
            ProcessField("start", get: { .number(Double(s.startIndex)) }),
            ProcessField("unet_calls", get: { .number(Double(s.predictor.unetCalls)) }),
            ProcessField("attention_bytes", get: { .number(Double(s.attention?.storedBytes ?? 0)) }),
        ]
        return ProcessValue(process: s, workspace: ws, location: ctx.location, fields: fields,
                            image: { try s.image() }, parameters: { s.parameters })
    }
}

extension BuiltinRegistry {
    /// Registers `sample` and `sdedit`.
    func registerSamplerBuiltins(_ ws: Workspace) {
        let common: [BuiltinParam] = [
            BuiltinParam("steps", .integer, default: .number(50), doc: "inference steps (1–1000)"),
            BuiltinParam("seed", .integer, default: .nil, doc: "torch generator seed for the noise (default: the session seed)"),
            BuiltinParam("guidance", .number, default: .number(7.5), doc: "classifier-free guidance scale (guidance runs when > 1)"),
            BuiltinParam("scheduler", .string, default: .string("ddim"), doc: "\"ddim\", \"euler\" or \"ddpm\" (from the model's scheduler config)"),
            BuiltinParam("negative", .string, default: .string(""), doc: "negative (unconditional) prompt"),
            BuiltinParam("capture", default: .bool(true), doc: "attention capture: true, false, or {cross_res: 32, self_res: 32, layers: [...], steps: a..b}"),
        ]
        register("sample", family: "sampling",
                 params: [BuiltinParam("model", .host(["model"])), BuiltinParam("prompt", .string)] + common
                    + [BuiltinParam("size", default: .nil, doc: "image size in pixels: n or [height, width] (default: the model's)"),
                       BuiltinParam("inversion", default: .nil, doc: "a finished invert(...) or null_text_invert(...): start from its z*_T (with its per-step null-text embeddings)")],
                 doc: "A steppable text-to-image sampler (diffusers StableDiffusionPipeline semantics) positioned before its first step: advance it with step/run, rewind with back. Fields: i, t, latent, eps, x0, image, done, prompt, negative, guidance (settable between steps), trace.",
                 example: "s = sample(m, \"a red circle\", steps: 20, seed: 1); step(s, 5); s.x0") { args, ctx in
            let model = try Convert.model(args["model"], "sample")
            var settings = try SamplerBuiltins.settings(args, ws, "sample")
            if let (h, w) = try SamplerBuiltins.size(args["size"], "sample") { (settings.height, settings.width) = (h, w) }
            let capture = try SamplerBuiltins.capture(args["capture"], "sample")
            let inversion = args.isNil("inversion") ? nil : try InversionBuiltins.result(args["inversion"], "sample")
            let s = try ProcessBuiltins.drive("sample") {
                try inversion.map { try Sampler(model: model, settings: settings, inversion: $0, capture: capture) }
                    ?? Sampler(model: model, settings: settings, capture: capture)
            }
            return .host(SamplerBuiltins.value(s, ws, ctx))
        }
        register("sdedit", family: "sampling",
                 params: [BuiltinParam("model", .host(["model"])),
                          BuiltinParam("image", .host(["image", "tensor"]), doc: "an image, or a [1, 3, H, W] tensor in [-1, 1]"),
                          BuiltinParam("prompt", .string),
                          BuiltinParam("strength", .number, default: .number(0.8), doc: "fraction of the schedule to run, in (0, 1]")] + common,
                 doc: "SDEdit / img2img as a steppable process (diffusers StableDiffusionImg2ImgPipeline): the image's VAE latent is noised to the first of the last ⌊steps·strength⌋ timesteps and denoised with the prompt.",
                 example: "e = run(sdedit(m, img, \"a green square\", strength: 0.6)); e.image") { args, ctx in
            let model = try Convert.model(args["model"], "sdedit")
            let settings = try SamplerBuiltins.settings(args, ws, "sdedit")
            let pixels: Tensor
            switch args["image"] {
            case .host(let h as ImageValue): pixels = h.image.rgb.tensor(range: .minusOneToOne)
            default: pixels = try Convert.tensor(args["image"], "sdedit", "image")
            }
            let strength = try args.number("strength")
            let capture = try SamplerBuiltins.capture(args["capture"], "sdedit")
            let s = try ProcessBuiltins.drive("sdedit") {
                try Sampler.sdedit(model: model, image: pixels, strength: strength, settings: settings, capture: capture)
            }
            return .host(SamplerBuiltins.value(s, ws, ctx))
        }
    }
}
