import SwapEditing
import SwapIO
import SwapLang
import SwapModels
import SwapTensor

// The "baret" family: `ttis` (target-text inversion), `transition` (progressive transition,
// BARET's or Imagic's interpolation), `baret` (three branches with balanced attention) and
// `masactrl` (mutual self-attention control), as processes.

enum BaretBuiltins {
    static func tensorList(_ ts: [Tensor]) -> Value { .list(ts.map { .tensor($0) }) }
    static func numbers<T: BinaryFloatingPoint>(_ xs: [T]) -> Value { .list(xs.map { .number(Double($0)) }) }

    /// A finished `ttis(...)` process.
    static func ttis(_ v: Value, _ op: String) throws -> TargetTextInversion {
        guard case .host(let h as ProcessValue) = v, let p = h.process as? TargetTextInversion else {
            throw HostError("\(op): inversion must come from ttis(...), got \(v.typeName)")
        }
        guard p.isDone else { throw HostError("\(op): the target-text inversion is not finished (\(p.index)/\(p.setup.scheduler.stepCount) steps); run it first") }
        return p
    }

    static func choice<T: RawRepresentable>(_ args: BoundArguments, _ name: String, _ op: String, _ all: [T]) throws -> T where T.RawValue == String {
        let text = try args.string(name)
        guard let value = T(rawValue: text) else {
            throw HostError("\(op): \(name) must be " + all.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") + ", got \"\(text)\"")
        }
        return value
    }

    /// masactrl's variant, its masks and its mask_auto settings.
    static func masactrlVariant(_ args: BoundArguments, _ settings: inout MasaCtrlEditSettings) throws {
        let op = "masactrl"
        settings.control.variant = try choice(args, "variant", op, MasaCtrlVariant.allCases)
        func mask(_ name: String) throws -> AttentionMask? {
            guard let t = try Convert.optionalTensor(args[name], op, name) else { return nil }
            let shape = Array(t.shape.drop { $0 == 1 }.prefix(t.rank))
            guard shape.count == 2 || (shape.isEmpty && t.count == 1) else {
                throw HostError("\(op): \(name) must be an [H, W] tensor, got \(formatShape(t.shape))")
            }
            return try AttentionMask(height: shape.first ?? 1, width: shape.last ?? 1, values: t.scalars)
        }
        let (source, target) = (try mask("source_mask"), try mask("target_mask"))
        switch (settings.control.variant, source, target) {
        case (.mask, let s?, let t?): settings.masks = MasaCtrlMasks(source: s, target: t)
        case (.mask, _, _): throw HostError("\(op): variant \"mask\" needs source_mask and target_mask")
        case (_, nil, nil): break
        default: throw HostError("\(op): source_mask and target_mask are for variant \"mask\" only")
        }
        settings.control.sourceTokens = try Convert.ints(args["source_tokens"], op, "source_tokens")
        settings.control.targetTokens = try Convert.ints(args["target_tokens"], op, "target_tokens")
        let threshold = try args.number("mask_threshold")
        guard threshold.isFinite else { throw HostError("\(op): mask_threshold must be finite") }
        settings.control.autoMaskThreshold = Float(threshold)
        settings.control.autoMaskResolution = try args.int("mask_resolution")
        guard settings.control.autoMaskResolution > 0 else { throw HostError("\(op): mask_resolution must be positive") }
    }

    static func fraction(_ args: BoundArguments, _ name: String, _ op: String) throws -> Double {
        let f = try args.number(name)
        guard f.isFinite, f >= 0, f <= 1 else { throw HostError("\(op): \(name) must be a fraction in [0, 1], got \(formatNumber(f))") }
        return f
    }

    /// `lambda:` as a number (constant) or [start, end].
    static func lambda(_ v: Value, _ op: String) throws -> (Float, Float) {
        switch v {
        case .number(let x) where x.isFinite: return (Float(x), Float(x))
        case .list(let box) where box.items.count == 2:
            if case .number(let a) = box.items[0], case .number(let b) = box.items[1], a.isFinite, b.isFinite { return (Float(a), Float(b)) }
        default: break
        }
        throw HostError("\(op): lambda must be a number or [start, end] (e.g. [0.8, 0.1]), got \(v.summary)")
    }

    static let transitionParams: [BuiltinParam] = [
        BuiltinParam("lambda", default: .list([.number(0.8), .number(0.1)]), doc: "λ from start to end over the steps, [start, end] or one number: ê_i = λ_i·C_i + (1 − λ_i)·e_tgt"),
        BuiltinParam("curve", .string, default: .string("linear"), doc: "how λ moves: \"linear\" in the step index, or \"cosine\""),
        BuiltinParam("interpolation", .string, default: .string("baret"), doc: "\"baret\" (per-step C_i), or \"imagic\": ē = eta·e_tgt + (1 − eta)·e_opt for every step"),
        BuiltinParam("eta", .number, default: .number(0.7), doc: "Imagic's η (weights the target: the opposite polarity of λ)"),
        BuiltinParam("imagic_iterations", .integer, default: .number(0), doc: "Imagic stage A: Adam steps optimising e_opt from e_tgt on the image (0: e_opt = the last C_i)"),
        BuiltinParam("imagic_lr", .number, default: .number(1e-3), doc: "Imagic stage A learning rate"),
    ]

    /// The transition schedule and Imagic's e_opt (stage A run here when asked).
    static func transition(_ args: BoundArguments, _ p: TargetTextInversion, _ ws: Workspace, _ ctx: CallContext, _ op: String) throws -> (TransitionSchedule, Tensor?) {
        let (start, end) = try lambda(args["lambda"], op)
        var schedule = TransitionSchedule(start: start, end: end, curve: try choice(args, "curve", op, TransitionCurve.allCases))
        let kind = try args.string("interpolation")
        switch kind {
        case "baret": return (schedule, nil)
        case "imagic":
            let eta = try args.number("eta")
            schedule.interpolation = .imagic(eta: Float(eta))
            let iterations = try args.int("imagic_iterations")
            guard (0...100_000).contains(iterations) else { throw HostError("\(op): imagic_iterations must be between 0 and 100000, got \(iterations)") }
            guard iterations > 0 else { return (schedule, nil) }
            let stage = ImagicEmbeddingOptimization(iterations: iterations, learningRate: Float(try args.number("imagic_lr")), seed: ws.seed)
            let e = try ProcessBuiltins.drive(op) {
                try stage.run(model: p.setup.pipeline.model, encodedLatent: p.pivot.encodedLatent, target: p.setup.conditional,
                              schedule: p.setup.scheduler.schedule, context: ProcessBuiltins.context(ws, ctx)).embedding
            }
            return (schedule, e)
        default:
            throw HostError("\(op): interpolation must be \"baret\" or \"imagic\", got \"\(kind)\"")
        }
    }

    static let ttisParams: [BuiltinParam] = [
        BuiltinParam("steps", .integer, default: .number(50), doc: "DDIM steps (1–1000)"),
        BuiltinParam("iters_per_step", .integer, default: .number(5), doc: "Adam iterations per step at most (0: no tuning, the paper's I_init)"),
        BuiltinParam("lr", .number, default: .number(1e-3), doc: "Adam learning rate"),
        BuiltinParam("lr_decay", .number, default: .number(0), doc: "[I] step i uses lr·(1 − i·lr_decay) (null-text inversion: 0.01)"),
        BuiltinParam("guidance", .number, default: .number(7.5), doc: "classifier-free guidance of the reconstruction"),
        BuiltinParam("epsilon", .number, default: .number(1e-5), doc: "[I] early stop when loss < epsilon + i·threshold_slope"),
        BuiltinParam("threshold_slope", .number, default: .number(2e-5), doc: "[I] growth of the early-stop threshold per step"),
        BuiltinParam("early_stop", .string, default: .string("after"), doc: "[I] test the loss \"after\" the Adam update (as null-text inversion) or \"before\" it"),
        BuiltinParam("reset_optimizer", .bool, default: .bool(true), doc: "[I] a fresh Adam every step (false: moments carried across steps)"),
        BuiltinParam("warm_start", .bool, default: .bool(true), doc: "[I] start step i from C_{i-1} (false: from e_tgt)"),
        BuiltinParam("inversion_guidance", .number, default: .number(1), doc: "[I] guidance of the DDIM inversion with e_tgt"),
        BuiltinParam("offset", .integer, default: .nil, doc: "steps_offset of the grid (default: the model's scheduler config)"),
    ]

    /// DDIM inversion with the target text, then a TTIS process positioned before its first step.
    static func makeTTIS(_ args: BoundArguments, model: StableDiffusion, image: Value, prompt: String, _ ws: Workspace, _ ctx: CallContext, _ op: String) throws -> TargetTextInversion {
        let pixels = try InversionBuiltins.pixels(image, op)
        var settings = TargetTextInversionSettings(iterationsPerStep: try args.int("iters_per_step"), learningRate: Float(try args.number("lr")),
                                                   guidance: Float(try args.number("guidance")))
        settings.learningRateDecay = Float(try args.number("lr_decay"))
        settings.epsilon = Float(try args.number("epsilon"))
        settings.thresholdSlope = Float(try args.number("threshold_slope"))
        settings.earlyStop = try choice(args, "early_stop", op, EarlyStopCheck.allCases)
        guard case .bool(let reset) = args["reset_optimizer"], case .bool(let warm) = args["warm_start"] else {
            throw HostError("\(op): reset_optimizer and warm_start must be true or false")
        }
        (settings.resetOptimizer, settings.warmStart) = (reset, warm)
        guard (0...10_000).contains(settings.iterationsPerStep) else { throw HostError("\(op): iters_per_step must be between 0 and 10000, got \(settings.iterationsPerStep)") }
        let inversionGuidance = try args.number("inversion_guidance")
        guard inversionGuidance.isFinite, abs(inversionGuidance) <= 1000, settings.guidance.isFinite, abs(settings.guidance) <= 1000 else {
            throw HostError("\(op): guidance and inversion_guidance must be finite numbers")
        }
        let run = ProcessBuiltins.context(ws, ctx)
        return try ProcessBuiltins.drive(op) { () throws -> TargetTextInversion in
            let setup = try GradMode.withoutGradient {
                try InversionSetup(model: model, image: pixels, prompt: prompt, steps: try InversionBuiltins.steps(args, op),
                                   stepsOffset: try InversionBuiltins.offset(args, op), op: op)
            }
            let ddim = try DDIMInversion(setup: setup, guidance: Float(inversionGuidance))
            try ddim.run(run)
            return try TargetTextInversion(setup: setup, pivot: ddim.result, settings: settings)
        }
    }

    /// MSE against z*₀ of plain DDIM sampling from z*_T with e_tgt (I_init; what TTIS improves on).
    static func ddimError(_ p: TargetTextInversion) throws -> Float {
        let s = try TargetTextInversion(setup: p.setup, pivot: p.pivot, settings: TargetTextInversionSettings(iterationsPerStep: 0, guidance: p.settings.guidance))
        try s.run(.detached)
        return try s.reconstructionError()
    }

    static func value(_ p: TargetTextInversion, _ ws: Workspace, _ ctx: CallContext) -> ProcessValue {
        let fields: [ProcessField] = [
            ProcessField("latent", get: { .tensor(p.state.latent) }),
            ProcessField("embedding", get: { .tensor(p.state.embedding) }),
            ProcessField("embeddings", get: { tensorList(p.state.embeddings) }),
            ProcessField("target_embedding", get: { .tensor(p.setup.conditional) }),
            ProcessField("loss", get: { p.state.losses.last?.last.map { .number(Double($0)) } ?? .nil }),
            ProcessField("losses", get: { .list(p.state.losses.map { numbers($0) }) }),
            ProcessField("iterations", get: { .list(p.iterations.map { .number(Double($0)) }) }),
            ProcessField("total_iterations", get: { .number(Double(p.iterations.reduce(0, +))) }),
            ProcessField("threshold", get: { p.isDone ? .nil : .number(Double(p.settings.threshold(step: p.index))) }),
            ProcessField("pivot_errors", get: { numbers(p.pivotErrors) }),
            ProcessField("pivot", get: { tensorList(p.pivot.latents) }),
            ProcessField("z0", get: { .tensor(p.pivot.encodedLatent) }),
            ProcessField("error", get: { p.isDone ? .number(Double(try p.reconstructionError())) : .nil }),
            ProcessField("ddim_error", get: { .number(Double(try Convert.engine("ttis.ddim_error") { try ddimError(p) })) }),
            ProcessField("prompt", get: { .string(p.setup.prompt) }),
            ProcessField("guidance", get: { .number(Double(p.settings.guidance)) }),
            ProcessField("iters_per_step", get: { .number(Double(p.settings.iterationsPerStep)) }, set: { v in
                guard let n = Convert.int(v), (0...10_000).contains(n) else { throw HostError("ttis.iters_per_step must be an integer in 0...10000, got \(v.summary)") }
                p.settings.iterationsPerStep = n
            }),
            ProcessField("lr", get: { .number(Double(p.settings.learningRate)) }, set: { v in
                guard case .number(let x) = v, x.isFinite, x > 0 else { throw HostError("ttis.lr must be a positive number, got \(v.summary)") }
                p.settings.learningRate = Float(x)
            }),
            ProcessField("epsilon", get: { .number(Double(p.settings.epsilon)) }, set: { v in
                guard case .number(let x) = v, x.isFinite, x >= 0 else { throw HostError("ttis.epsilon must be a number ≥ 0, got \(v.summary)") }
                p.settings.epsilon = Float(x)
            }),
        ]
        return ProcessValue(process: p, workspace: ws, location: ctx.location, fields: fields,
                            image: { try p.setup.pipeline.decode(p.state.latent) },
                            parameters: { InversionBuiltins.parameters(p.setup, [("Inversion", "TTIS"), ("Iterations per step", "\(p.settings.iterationsPerStep)"),
                                                                                 ("CFG scale", formatNumber(Double(p.settings.guidance))),
                                                                                 ("Iterations used", "\(p.iterations.reduce(0, +))")]) })
    }

    static func value(_ p: ProgressiveTransition, _ ws: Workspace, _ ctx: CallContext) -> ProcessValue {
        let fields: [ProcessField] = [
            ProcessField("latent", get: { .tensor(p.state.latent) }),
            ProcessField("x0", get: { p.state.x0.map { .tensor($0) } ?? .nil }),
            ProcessField("embedding", get: { p.state.embedding.map { .tensor($0) } ?? .nil }),
            ProcessField("embeddings", get: { tensorList(try Convert.engine("transition.embeddings") { try p.embeddings() }) }),
            ProcessField("lambdas", get: { numbers(p.lambdas) }),
            ProcessField("lambda", get: { p.isDone ? .nil : .number(Double(p.schedule.lambda(step: p.index, of: p.scheduler.stepCount))) }),
            ProcessField("prompt", get: { .string(p.inversion.prompt) }),
        ]
        return ProcessValue(process: p, workspace: ws, location: ctx.location, fields: fields, image: { try p.image() },
                            parameters: { [("Model", modelName(p.pipeline.model)), ("Prompt", p.inversion.prompt),
                                           ("Steps", "\(p.scheduler.stepCount)"), ("Lambda", "\(p.schedule.start)..\(p.schedule.end)")] })
    }

    static func value(_ p: BaretEdit, _ ws: Workspace, _ ctx: CallContext) -> ProcessValue {
        func branchImage(_ b: BaretBranch) throws -> Tensor { try p.images().chunked(3, axis: 0)[b.rawValue] }
        var fields: [ProcessField] = [
            ProcessField("latent", get: { .tensor(p.state.latents[BaretBranch.editing.rawValue]) }),
            ProcessField("latents", get: { tensorList(p.state.latents) }),
            ProcessField("x0", get: { p.state.x0.map { .tensor($0) } ?? .nil }),
            ProcessField("branches", get: { .list(BaretBranch.allCases.map { .string($0.name) }) }),
            ProcessField("lambdas", get: { numbers((0..<p.scheduler.stepCount).map { p.settings.transition.lambda(step: $0, of: p.scheduler.stepCount) }) }),
            ProcessField("gates", get: {
                let latent = p.state.latents[0]
                let sides = AttentionCaptureSettings.unetLayers(config: p.pipeline.model.unet.config, latentSide: max(latent.shape[2], latent.shape[3]))
                let sideByOrder = Dictionary(uniqueKeysWithValues: sides.map { ($0.info.order, $0.side) })
                let g = p.controller.gates(layers: sides.map(\.info), side: { sideByOrder[$0.order] ?? 0 })
                return .record([("self", .list(g.selfLayers.map { .string($0) })), ("cross", .list(g.crossLayers.map { .string($0) }))])
            }),
            ProcessField("prompt", get: { .string(p.inversion.prompt) }),
            ProcessField("unet_calls", get: { .number(Double(p.predictor.unetCalls)) }),
        ]
        for b in BaretBranch.allCases {
            fields.append(ProcessField("\(b.name)_latent", get: { .tensor(p.state.latents[b.rawValue]) }))
            fields.append(ProcessField("\(b.name)_image", get: {
                let image = try Convert.engine("baret.\(b.name)_image") { try Image(tensor: try branchImage(b), range: .minusOneToOne) }
                return .host(ImageValue(image.mapSamples { x in x.isNaN ? 0 : (Swift.min(Swift.max(x, 0), 1) * 255).rounded() / 255 }, madeHere: true))
            }))
        }
        // The image is the three branches side by side: reconstruction | transition | editing.
        return ProcessValue(process: p, workspace: ws, location: ctx.location, fields: fields,
                            image: { try Tensor.concat(try p.images().chunked(3, axis: 0), axis: 3) }, parameters: { p.parameters })
    }

    static func value(_ p: MasaCtrlEdit, _ ws: Workspace, _ ctx: CallContext) -> ProcessValue {
        let fields: [ProcessField] = [
            ProcessField("latent", get: { .tensor(p.state.target) }),
            ProcessField("source_latent", get: { .tensor(p.state.source) }),
            ProcessField("x0", get: { p.state.x0.map { .tensor($0) } ?? .nil }),
            ProcessField("prompt", get: { .string(p.settings.target) }),
            ProcessField("source_prompt", get: { .string(p.sourcePrompt) }),
            ProcessField("gate", get: {
                let layers = p.pipeline.model.unet.attentionLayers
                return .list(p.controller.gateTable(steps: p.scheduler.stepCount, layers: layers).map { row in
                    .list(Array(Set(row)).sorted().map { .number(Double($0)) })
                })
            }),
            ProcessField("unet_calls", get: { .number(Double(p.predictor.unetCalls)) }),
            ProcessField("variant", get: { .string(p.settings.control.variant.rawValue) }),
            ProcessField("auto_masks", get: {
                guard let m = p.controller.lastAutoMasks else { return .nil }
                func tensor(_ a: AttentionMask) -> Value { .tensor(Tensor(shape: [a.height, a.width], scalars: a.floats)) }
                return .record([("source", tensor(m.source)), ("target", tensor(m.target))])
            }),
        ]
        return ProcessValue(process: p, workspace: ws, location: ctx.location, fields: fields,
                            image: { try Tensor.concat(try p.images().chunked(2, axis: 0), axis: 3) }, parameters: { p.parameters })
    }
}

extension BuiltinRegistry {
    /// Registers `ttis`, `transition`, `baret` and `masactrl`.
    func registerBaretBuiltins(_ ws: Workspace) {
        register("ttis", family: "baret",
                 params: [BuiltinParam("model", .host(["model"])),
                          BuiltinParam("image", .host(["image", "tensor"]), doc: "an image, or a [1, 3, H, W] tensor in [-1, 1]"),
                          BuiltinParam("target_prompt", .string, doc: "the target text (BARET needs no caption)")] + BaretBuiltins.ttisParams,
                 doc: "BARET's target-text inversion schedule: DDIM-inverts the image with the target text, then returns a steppable process whose step i tunes the conditional embedding C_i (from e_tgt, Adam, gradients through the UNet's cross-attention) so guided DDIM sampling follows the inversion; ∅ stays encode(\"\"). Fields: loss, losses, iterations, total_iterations, threshold, pivot_errors, embeddings (C_i), embedding, latent, z0, error, ddim_error (the same steps without tuning), iters_per_step / lr / epsilon (settable between steps), trace (t, loss, inner_iterations, threshold, lr, embedding_drift, pivot_error). [I] marks reconstructed choices.",
                 example: "r = run(ttis(m, img, \"a dog lying down\", steps: 50)); r.total_iterations; b = baret(m, r, \"a dog lying down\")") { args, ctx in
            let model = try Convert.model(args["model"], "ttis")
            let p = try BaretBuiltins.makeTTIS(args, model: model, image: args["image"], prompt: try args.string("target_prompt"), ws, ctx, "ttis")
            return .host(BaretBuiltins.value(p, ws, ctx))
        }
        register("transition", family: "baret",
                 params: [BuiltinParam("model", .host(["model"])),
                          BuiltinParam("inversion", doc: "a finished ttis(...)"),
                          BuiltinParam("target_prompt", .string, doc: "the target text (must be the one ttis inverted with)")] + BaretBuiltins.transitionParams,
                 doc: "BARET's progressive transition alone: guided DDIM from z*_T with the interpolated embedding ê_i of each step (Fig. 2's I_trans); the image (x̂₀ preview) is available at any step. interpolation: \"imagic\" uses Imagic's ē = η·e_tgt + (1 − η)·e_opt instead. Fields: lambdas, lambda, embedding, embeddings, latent, x0.",
                 example: "tr = run(transition(m, r, \"a dog lying down\", lambda: [0.8, 0.1])); tr.image") { args, ctx in
            let model = try Convert.model(args["model"], "transition")
            let p = try BaretBuiltins.ttis(args["inversion"], "transition")
            let prompt = try args.string("target_prompt")
            guard prompt == p.setup.prompt else {
                throw HostError("transition: target_prompt \"\(prompt)\" differs from the one ttis inverted with (\"\(p.setup.prompt)\")")
            }
            let (schedule, optimized) = try BaretBuiltins.transition(args, p, ws, ctx, "transition")
            let t = try ProcessBuiltins.drive("transition") {
                try ProgressiveTransition(model: model, inversion: p.result, schedule: schedule, optimized: optimized)
            }
            return .host(BaretBuiltins.value(t, ws, ctx))
        }
        register("baret", family: "baret",
                 params: [BuiltinParam("model", .host(["model"])),
                          BuiltinParam("image", doc: "an image or [1, 3, H, W] tensor (TTIS runs first), or a finished ttis(...)"),
                          BuiltinParam("target_prompt", .string, doc: "the target text")] + BaretBuiltins.transitionParams + [
                          BuiltinParam("rigid", .bool, default: .bool(false), doc: "λ ≡ 1 (the paper's setting for rigid edits: style, foreground/background)"),
                          BuiltinParam("self_inject", .number, default: .number(0.3), doc: "τ_SA: fraction of the first steps whose editing self-attention uses the reconstruction's K, V"),
                          BuiltinParam("cross_inject", .number, default: .number(0.6), doc: "τ_CA: fraction of the first steps whose editing cross-attention map is the transition's"),
                          BuiltinParam("self_layers", .string, default: .string("all"), doc: "[I] self-attention layers injected: \"all\", \"masactrl\" (index ≥ 10), \"p2p16\" (≤ 16² queries), \"p2p32\""),
                          BuiltinParam("self_mode", .string, default: .string("kv"), doc: "[I] \"kv\": keys and values of the reconstruction; \"map\": its attention map"),
                          BuiltinParam("self_halves", .string, default: .string("both"), doc: "[I] CFG halves of the self injection: \"both\" or \"conditional\""),
                          BuiltinParam("cross_halves", .string, default: .string("conditional"), doc: "[I] CFG halves of the cross injection: \"conditional\" or \"both\""),
                          BuiltinParam("edit_condition", .string, default: .string("target"), doc: "[I] the text of the editing process: \"target\" (e_tgt, the spec's reading) or \"transition\" (ê_i, with e_tgt entering only through equation 5's values inside the cross window; λ ≡ 1 with no injection then reproduces the reconstruction)"),
                          BuiltinParam("capture", default: .bool(false), doc: "attention capture of all three branches (branch 0 reconstruction, 1 transition, 2 editing)"),
                 ] + BaretBuiltins.ttisParams,
                 doc: "BARET (Qiao et al., rebuilt from the paper; [I] marks reconstructed choices): after target-text inversion, three branches start from z*_T and are denoised together in one batched UNet call per step: reconstruction (C_i), transition (ê_i = λ_i·C_i + (1 − λ_i)·e_tgt) and editing (e_tgt), whose self-attention reads the reconstruction's K, V and whose cross-attention map is the transition's for the first τ_SA / τ_CA of the steps. Fields: latent (editing), latents, x0, reconstruction_image / transition_image / editing_image (any step), image (the three side by side), lambdas, gates, trace; attention(b, word, branch: 2) with capture.",
                 example: "b = run(baret(m, img, \"a cat standing\", steps: 50)); save_image(b.image, \"baret.png\")") { args, ctx in
            let model = try Convert.model(args["model"], "baret")
            let prompt = try args.string("target_prompt")
            let inversion: TargetTextInversion
            if case .host(let h as ProcessValue) = args["image"], h.process is TargetTextInversion {
                inversion = try BaretBuiltins.ttis(args["image"], "baret")
                guard prompt == inversion.setup.prompt else {
                    throw HostError("baret: target_prompt \"\(prompt)\" differs from the one ttis inverted with (\"\(inversion.setup.prompt)\")")
                }
            } else {
                inversion = try BaretBuiltins.makeTTIS(args, model: model, image: args["image"], prompt: prompt, ws, ctx, "baret")
                _ = try ProcessBuiltins.drive("baret") { try inversion.run(ProcessBuiltins.context(ws, ctx)) }
            }
            var (schedule, optimized) = try BaretBuiltins.transition(args, inversion, ws, ctx, "baret")
            guard case .bool(let rigid) = args["rigid"] else { throw HostError("baret: rigid must be true or false") }
            if rigid { schedule = .rigid }
            var attention = BalancedAttentionSettings(selfInject: try BaretBuiltins.fraction(args, "self_inject", "baret"),
                                                      crossInject: try BaretBuiltins.fraction(args, "cross_inject", "baret"))
            attention.selfLayers = try BaretBuiltins.choice(args, "self_layers", "baret", BaretLayerPreset.allCases)
            attention.selfMode = try BaretBuiltins.choice(args, "self_mode", "baret", BaretSelfAttentionMode.allCases)
            attention.selfHalves = try BaretBuiltins.choice(args, "self_halves", "baret", GuidanceHalves.allCases)
            attention.crossHalves = try BaretBuiltins.choice(args, "cross_halves", "baret", GuidanceHalves.allCases)
            attention.editCondition = try BaretBuiltins.choice(args, "edit_condition", "baret", BaretEditCondition.allCases)
            var settings = BaretSettings(transition: schedule, attention: attention)
            settings.optimizedEmbedding = optimized
            let capture = try SamplerBuiltins.capture(args["capture"], "baret")
            let p = try ProcessBuiltins.drive("baret") {
                try BaretEdit(model: model, inversion: inversion.result, settings: settings, capture: capture)
            }
            return .host(BaretBuiltins.value(p, ws, ctx))
        }
        register("masactrl", family: "baret",
                 params: [BuiltinParam("model", .host(["model"])),
                          BuiltinParam("source", doc: "the source: a prompt (generated from seed:), or a finished invert(...) / null_text_invert(...) of a real image"),
                          BuiltinParam("target_prompt", .string, doc: "the target prompt"),
                          BuiltinParam("start_step", .integer, default: .number(4), doc: "first controlled step (official default 4)"),
                          BuiltinParam("start_layer", .integer, default: .number(10), doc: "first controlled layer, counted as attention call order / 2 (official default 10)"),
                          BuiltinParam("halves", .string, default: .string("both"), doc: "CFG halves controlled: \"both\" (official) or \"conditional\""),
                          BuiltinParam("source_prompt", .string, default: .nil, doc: "prompt of the source branch of an inverted image (default: the inversion's prompt)"),
                          BuiltinParam("reference_latents", .bool, default: .bool(false), doc: "pin the source branch to the inversion trajectory after every step (ref_intermediate_latents)"),
                          BuiltinParam("steps", .integer, default: .nil, doc: "DDIM steps (default 50, or the inversion's count)"),
                          BuiltinParam("seed", .integer, default: .nil, doc: "seed of the shared initial noise of a generated source (default: the session seed)"),
                          BuiltinParam("guidance", .number, default: .number(7.5), doc: "classifier-free guidance scale"),
                          BuiltinParam("size", default: .nil, doc: "image size of a generated source: n or [height, width]"),
                          BuiltinParam("capture", default: .bool(false), doc: "attention capture (branch 0 source, 1 target)"),
                          BuiltinParam("variant", .string, default: .string("replace"), doc: "\"replace\" (K, V of the source), \"union\" (source and own K, V together), \"mask\" (foreground/background attention from source_mask and target_mask) or \"mask_auto\" (masks from the step's cross-attention)"),
                          BuiltinParam("source_mask", default: .nil, doc: "mask variant: the source's foreground, an [H, W] tensor (> 0.5 is foreground), any resolution"),
                          BuiltinParam("target_mask", default: .nil, doc: "mask variant: the target's foreground, an [H, W] tensor"),
                          BuiltinParam("source_tokens", default: .list([.number(1)]), doc: "mask_auto: token indices of the source prompt whose cross-attention makes the source mask"),
                          BuiltinParam("target_tokens", default: .list([.number(1)]), doc: "mask_auto: token indices of the target prompt for the target mask"),
                          BuiltinParam("mask_threshold", .number, default: .number(0.1), doc: "mask_auto: threshold of the min-max normalised cross-attention"),
                          BuiltinParam("mask_resolution", .integer, default: .number(16), doc: "mask_auto: side of the cross-attention maps read (16 for SD 1.x at 512²)")],
                 doc: "MasaCtrl (Cao et al.): the source and the target are denoised together from one latent, and from start_step on, at layers ≥ start_layer, the target's self-attention queries the source's keys and values (both CFG halves), so the target keeps the source's content while following the target prompt. Fields: latent (target), source_latent, x0, gate (controlled layer indices per step), image (source | target), variant, auto_masks (mask_auto: the source and target masks of the last controlled call).",
                 example: "e = run(masactrl(m, source: \"a photo of a running dog\", target_prompt: \"a photo of a sitting dog\", seed: 3)); e.image") { args, ctx in
            let model = try Convert.model(args["model"], "masactrl")
            var settings = MasaCtrlEditSettings(target: try args.string("target_prompt"))
            settings.control = MasaCtrlSettings(startStep: try args.int("start_step"), startLayer: try args.int("start_layer"))
            settings.control.halves = try BaretBuiltins.choice(args, "halves", "masactrl", GuidanceHalves.allCases)
            try BaretBuiltins.masactrlVariant(args, &settings)
            let guidance = try args.number("guidance")
            guard guidance.isFinite, abs(guidance) <= 1000 else { throw HostError("masactrl: guidance must be a finite number, got \(formatNumber(guidance))") }
            settings.guidance = Float(guidance)
            guard case .bool(let pinned) = args["reference_latents"] else { throw HostError("masactrl: reference_latents must be true or false") }
            settings.referenceLatents = pinned
            let source: MasaCtrlSource
            switch args["source"] {
            case .string(let prompt):
                let seed = args.isNil("seed") ? ws.seed : UInt64(max(try args.int("seed"), 0))
                source = .generated(prompt: prompt, seed: seed)
                settings.steps = args.isNil("steps") ? 50 : try args.int("steps")
                if let (h, w) = try SamplerBuiltins.size(args["size"], "masactrl") { (settings.height, settings.width) = (h, w) }
            case .host(let h as ProcessValue):
                let inversion = try InversionBuiltins.result(.host(h), "masactrl")
                source = .inverted(inversion, prompt: args.isNil("source_prompt") ? inversion.prompt : try args.string("source_prompt"))
                settings.steps = args.isNil("steps") ? inversion.steps : try args.int("steps")
            case let v:
                throw HostError("masactrl: source must be a prompt or a finished invert(...) / null_text_invert(...), got \(v.typeName)")
            }
            let capture = try SamplerBuiltins.capture(args["capture"], "masactrl")
            let p = try ProcessBuiltins.drive("masactrl") { try MasaCtrlEdit(model: model, source: source, settings: settings, capture: capture) }
            return .host(BaretBuiltins.value(p, ws, ctx))
        }
    }
}
