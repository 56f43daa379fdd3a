import SwapEditing
import SwapLang
import SwapModels
import SwapTensor

// The "inversion" family: `invert` (DDIM inversion, diffusers DDIMInverseScheduler) and
// `null_text_invert` (Mokady et al.'s null-text inversion) as processes whose results `sample`
// and `p2p` accept through `inversion:`.

enum InversionBuiltins {
    /// [1, 3, H, W] in [−1, 1] from an image value or a tensor.
    static func pixels(_ v: Value, _ op: String) throws -> Tensor {
        switch v {
        case .host(let h as ImageValue): return h.image.rgb.tensor(range: .minusOneToOne)
        default: return try Convert.tensor(v, op, "image")
        }
    }

    static func steps(_ args: BoundArguments, _ op: String) throws -> Int {
        let steps = try args.int("steps")
        guard (1...1000).contains(steps) else { throw HostError("\(op): steps must be between 1 and 1000, got \(steps)") }
        return steps
    }

    static func offset(_ args: BoundArguments, _ op: String) throws -> Int? {
        args.isNil("offset") ? nil : try args.int("offset")
    }

    /// The inversion result inside `v`: a finished `invert` or `null_text_invert` process.
    static func result(_ v: Value, _ op: String) throws -> InversionResult {
        guard case .host(let h as ProcessValue) = v else {
            throw HostError("\(op): inversion must come from invert(...) or null_text_invert(...), got \(v.typeName)")
        }
        switch h.process {
        case let p as DDIMInversion:
            guard p.isDone else { throw HostError("\(op): the inversion is not finished (\(p.index)/\(p.setup.scheduler.stepCount) steps); run it first") }
            return p.result
        case let p as NullTextInversion:
            guard p.isDone else { throw HostError("\(op): the null-text inversion is not finished (\(p.index)/\(p.setup.scheduler.stepCount) steps); run it first") }
            return p.result
        default:
            throw HostError("\(op): inversion must come from invert(...) or null_text_invert(...), got a \(h.kindName)")
        }
    }

    static func tensorList(_ ts: [Tensor]) -> Value { .list(ts.map { .tensor($0) }) }

    static func value(_ p: DDIMInversion, _ ws: Workspace, _ ctx: CallContext) -> ProcessValue {
        let fields: [ProcessField] = [
            ProcessField("latent", get: { .tensor(p.state.latents[p.state.latents.count - 1]) }),
            ProcessField("trajectory", get: { tensorList(p.state.latents) }),
            ProcessField("timesteps", get: { .list(p.setup.scheduler.inversionTimesteps.map { .number(Double($0)) }) }),
            ProcessField("z0", get: { .tensor(p.setup.encodedLatent) }),
            ProcessField("eps", get: { p.state.eps.map { .tensor($0) } ?? .nil }),
            ProcessField("x0", get: { p.state.x0.map { .tensor($0) } ?? .nil }),
            ProcessField("prompt", get: { .string(p.setup.prompt) }),
            ProcessField("offset", get: { .number(Double(p.setup.scheduler.config.stepsOffset)) }),
            ProcessField("guidance", get: { .number(Double(p.guidance)) }),
        ]
        return ProcessValue(process: p, workspace: ws, location: ctx.location, fields: fields,
                            image: { try p.setup.pipeline.decode(p.state.x0 ?? p.setup.encodedLatent) },
                            parameters: { parameters(p.setup, [("Inversion", "DDIM"), ("Inversion guidance", formatNumber(Double(p.guidance)))]) })
    }

    static func value(_ p: NullTextInversion, _ ws: Workspace, _ ctx: CallContext) -> ProcessValue {
        let fields: [ProcessField] = [
            ProcessField("latent", get: { .tensor(p.state.latent) }),
            ProcessField("null", get: { .tensor(p.state.null) }),
            ProcessField("embeddings", get: { tensorList(p.state.embeddings) }),
            ProcessField("loss", get: { p.state.losses.last?.last.map { .number(Double($0)) } ?? .nil }),
            ProcessField("losses", get: { .list(p.state.losses.map { .list($0.map { .number(Double($0)) }) }) }),
            ProcessField("iterations", get: { .list(p.iterations.map { .number(Double($0)) }) }),
            ProcessField("total_iterations", get: { .number(Double(p.iterations.reduce(0, +))) }),
            ProcessField("pivot", get: { tensorList(p.pivot.latents) }),
            ProcessField("z0", get: { .tensor(p.pivot.encodedLatent) }),
            ProcessField("error", get: { p.isDone ? .number(Double(try p.reconstructionError())) : .nil }),
            ProcessField("ddim_error", get: { .number(Double(try ddimError(p))) }),
            ProcessField("prompt", get: { .string(p.setup.prompt) }),
            ProcessField("inner", get: { .number(Double(p.settings.inner)) }, set: { v in
                guard let n = Convert.int(v), (1...10_000).contains(n) else { throw HostError("null_text_invert.inner must be an integer in 1...10000, got \(v.summary)") }
                p.settings.inner = n
            }),
            ProcessField("lr", get: { .number(Double(p.settings.learningRate)) }, set: { v in
                guard case .number(let x) = v, x.isFinite, x > 0 else { throw HostError("null_text_invert.lr must be a positive number, got \(v.summary)") }
                p.settings.learningRate = Float(x)
            }),
            ProcessField("epsilon", get: { .number(Double(p.settings.epsilon)) }, set: { v in
                guard case .number(let x) = v, x.isFinite, x >= 0 else { throw HostError("null_text_invert.epsilon must be a number ≥ 0, got \(v.summary)") }
                p.settings.epsilon = Float(x)
            }),
            ProcessField("guidance", get: { .number(Double(p.settings.guidance)) }),
        ]
        return ProcessValue(process: p, workspace: ws, location: ctx.location, fields: fields,
                            image: { try p.setup.pipeline.decode(p.state.latent) },
                            parameters: { parameters(p.setup, [("Inversion", "null-text"), ("Inner iterations", "\(p.settings.inner)"),
                                                               ("CFG scale", formatNumber(Double(p.settings.guidance))),
                                                               ("Iterations used", "\(p.iterations.reduce(0, +))")]) })
    }

    /// MSE against z*₀ of plain DDIM sampling from z*_T at the null-text guidance (what
    /// null-text inversion improves on), computed on request.
    static func ddimError(_ p: NullTextInversion) throws -> Float {
        let settings = SamplerSettings(prompt: p.setup.prompt, guidance: p.settings.guidance, steps: p.setup.scheduler.stepCount)
        var plain = p.pivot
        plain.nullEmbeddings = nil
        let s = try Sampler(model: p.setup.pipeline.model, settings: settings, inversion: plain, capture: .off)
        try s.run(.detached)
        return try (s.state.latent - p.pivot.encodedLatent).squared().mean().item
    }

    static func parameters(_ setup: InversionSetup, _ extra: [(String, String)]) -> [(String, String)] {
        [("Model", modelName(setup.pipeline.model)), ("Prompt", setup.prompt), ("Steps", "\(setup.scheduler.stepCount)"),
         ("Steps offset", "\(setup.scheduler.config.stepsOffset)")] + extra
    }
}

extension BuiltinRegistry {
    /// Registers `invert` and `null_text_invert`.
    func registerInversionBuiltins(_ ws: Workspace) {
        let common: [BuiltinParam] = [
            BuiltinParam("model", .host(["model"])),
            BuiltinParam("image", .host(["image", "tensor"]), doc: "an image, or a [1, 3, H, W] tensor in [-1, 1]; H and W multiples of the VAE factor"),
            BuiltinParam("prompt", .string, doc: "the caption the inversion conditions on"),
            BuiltinParam("steps", .integer, default: .number(50), doc: "DDIM steps (1–1000); sampling from the result must use the same count"),
            BuiltinParam("offset", .integer, default: .nil, doc: "steps_offset of the grid (default: the model's scheduler config, 1 for SD; 0 is the null-text notebook's grid)"),
        ]
        register("invert", family: "inversion",
                 params: common + [BuiltinParam("guidance", .number, default: .number(1), doc: "1: the caption alone (null-text inversion's choice); > 1 adds the \"\" row and guides")],
                 doc: "DDIM inversion (diffusers DDIMInverseScheduler): encodes the image (posterior mean) and runs it up the timestep grid, returning the finished process. Fields: trajectory (z*_0 … z*_T), timesteps, latent (z*_T), z0, eps, x0. Pass it to sample(..., inversion:) or p2p(..., inversion:).",
                 example: "inv = invert(m, load_image(\"cat.png\"), \"a cat\", steps: 50); r = run(sample(m, \"a cat\", inversion: inv, guidance: 1))") { args, ctx in
            let model = try Convert.model(args["model"], "invert")
            let pixels = try InversionBuiltins.pixels(args["image"], "invert")
            let guidance = try args.number("guidance")
            let p = try ProcessBuiltins.drive("invert") { () throws -> DDIMInversion in
                let setup = try GradMode.withoutGradient {
                    try InversionSetup(model: model, image: pixels, prompt: try args.string("prompt"),
                                       steps: try InversionBuiltins.steps(args, "invert"), stepsOffset: try InversionBuiltins.offset(args, "invert"), op: "invert")
                }
                return try DDIMInversion(setup: setup, guidance: Float(guidance))
            }
            let value = InversionBuiltins.value(p, ws, ctx)
            _ = try ProcessBuiltins.drive("invert") { try p.run(ProcessBuiltins.context(ws, ctx)) }
            return .host(value)
        }
        register("null_text_invert", family: "inversion",
                 params: common + [
                    BuiltinParam("inner", .integer, default: .number(10), doc: "Adam iterations per step at most (N_inner)"),
                    BuiltinParam("guidance", .number, default: .number(7.5), doc: "classifier-free guidance the reconstruction uses"),
                    BuiltinParam("epsilon", .number, default: .number(1e-5), doc: "early stop when loss < epsilon + i·2e-5"),
                    BuiltinParam("lr", .number, default: .number(1e-2), doc: "Adam learning rate at step 0 (decays as lr·(1 − i/100))"),
                 ],
                 doc: "Null-text inversion (Mokady et al.): runs DDIM inversion with the caption, then returns a steppable process whose step i optimises the unconditional embedding ∅_i (Adam, gradients through the UNet) so guided DDIM sampling follows the inversion. Fields: loss, losses, iterations, total_iterations, latent, null, embeddings, error (reconstruction MSE vs z0 when done), ddim_error (plain DDIM at the same guidance), inner / lr / epsilon (settable between steps: back(n, 1) then step(n) re-runs a step with new values), trace (t, loss, inner_iterations, lr, threshold, null_drift, pivot_error).",
                 example: "n = run(null_text_invert(m, img, \"a cat\", steps: 50)); n.error; p = p2p(m, source: \"a cat\", target: \"a dog\", inversion: n)") { args, ctx in
            let model = try Convert.model(args["model"], "null_text_invert")
            let pixels = try InversionBuiltins.pixels(args["image"], "null_text_invert")
            let inner = try args.int("inner")
            let (guidance, epsilon, lr) = (try args.number("guidance"), try args.number("epsilon"), try args.number("lr"))
            guard (1...10_000).contains(inner) else { throw HostError("null_text_invert: inner must be between 1 and 10000, got \(inner)") }
            guard guidance.isFinite, abs(guidance) <= 1000, epsilon.isFinite, epsilon >= 0, lr.isFinite, lr > 0 else {
                throw HostError("null_text_invert: guidance must be finite, epsilon ≥ 0 and lr > 0")
            }
            let run = ProcessBuiltins.context(ws, ctx)
            let p = try ProcessBuiltins.drive("null_text_invert") { () throws -> NullTextInversion in
                let setup = try GradMode.withoutGradient {
                    try InversionSetup(model: model, image: pixels, prompt: try args.string("prompt"), steps: try InversionBuiltins.steps(args, "null_text_invert"),
                                       stepsOffset: try InversionBuiltins.offset(args, "null_text_invert"), op: "null_text_invert")
                }
                let ddim = try DDIMInversion(setup: setup)
                try ddim.run(run)
                var settings = NullTextSettings(inner: inner, epsilon: Float(epsilon), guidance: Float(guidance))
                settings.learningRate = Float(lr)
                return try NullTextInversion(setup: setup, pivot: ddim.result, settings: settings)
            }
            return .host(InversionBuiltins.value(p, ws, ctx))
        }
    }
}
