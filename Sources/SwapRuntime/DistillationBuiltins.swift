import Foundation
import SwapEditing
import SwapIO
import SwapLang
import SwapModels
import SwapTensor

// The "distillation" family: SDS, DDS and CDS as steppable processes (spec
// instantswap-sds-dds-cds.md §1–§3; defaults from the official code), the stepping verbs, and
// `plot` for their traces.

extension BuiltinRegistry {
    /// The options every score-distillation builtin takes, with their defaults (nil: the
    /// method's official default).
    static let distillationOptions: [BuiltinParam] = [
        BuiltinParam("iterations", default: .nil, doc: "iterations (SDS/DDS/CDS 200, InstantSwap 550)"),
        BuiltinParam("ssgu", default: .nil, doc: "SSGU factor k: a fresh gradient every k iterations (1 = off; InstantSwap 5)"),
        BuiltinParam("seed", default: .nil, doc: "seed of the timesteps and the noise (default 0; InstantSwap 42)"),
        BuiltinParam("guidance", .number, default: .number(7.5), doc: "CFG scale of each branch"),
        BuiltinParam("lr", .number, default: .number(0.1), doc: "SGD learning rate; the step is lr·2000/(h·w)·g"),
        BuiltinParam("t_min", default: .nil, doc: "lowest timestep drawn (DDS 50, InstantSwap 100)"),
        BuiltinParam("t_max", default: .nil, doc: "timesteps are drawn below this (DDS 950, InstantSwap 900)"),
        BuiltinParam("sampling", default: .nil, doc: "\"uniform\" (i.i.d., DDS) or \"sorted\" (drawn up front, high to low; InstantSwap)"),
        BuiltinParam("share_noise", .bool, default: .bool(true), doc: "same ε for both branches (the method; false for teaching)"),
        BuiltinParam("share_t", .bool, default: .bool(true), doc: "same t for both branches (the method; false for teaching)"),
        BuiltinParam("sigma_exp", .number, default: .number(0), doc: "w(t) = σ_t^sigma_exp (DreamFusion's weighting: 2)"),
    ]

    /// Applies the common options to `settings`.
    static func applyDistillationOptions(_ args: BoundArguments, to s: inout DistillationSettings, _ op: String) throws {
        func int(_ name: String) throws -> Int? {
            guard !args.isNil(name) else { return nil }
            let v = try args.number(name)
            guard v.isFinite, v == v.rounded(), abs(v) < 1e9 else { throw HostError("\(op): '\(name)' must be an integer, got \(v)") }
            return Int(v)
        }
        if let v = try int("iterations") {
            guard v >= 0 else { throw HostError("\(op): iterations must be ≥ 0, got \(v)") }
            s.iterations = v
        }
        if let v = try int("ssgu") { s.ssgu = v }
        if let v = try int("seed") {
            guard v >= 0 else { throw HostError("\(op): seed must be ≥ 0, got \(v)") }
            s.seed = UInt64(v)
        }
        if let v = try int("t_min") { s.timestepLow = v }
        if let v = try int("t_max") { s.timestepHigh = v }
        if !args.isNil("sampling") {
            let name = try args.string("sampling")
            guard let sampling = TimestepSampling(rawValue: name) else {
                throw HostError("\(op): sampling must be \"uniform\" or \"sorted\", got \"\(name)\"")
            }
            s.sampling = sampling
        }
        s.guidanceScale = Float(try args.number("guidance"))
        s.optimizer.learningRate = Float(try args.number("lr"))
        s.shareNoise = args["share_noise"].equals(.bool(true))
        s.shareTimestep = args["share_t"].equals(.bool(true))
        s.sigmaExponent = Float(try args.number("sigma_exp"))
    }

    /// Registers `sds`, `dds`, `cds` (stepped with the process verbs), `ssgu_probe` and `plot`.
    func registerDistillationBuiltins(_ ws: Workspace) {
        let sharedOptions = Self.distillationOptions

        func make(_ op: String, _ method: DistillationMethod, _ args: BoundArguments, _ ctx: CallContext,
                  configure: (inout DistillationSettings) throws -> Void = { _ in }) throws -> Value {
            let m = try Convert.model(args["model"], op)
            let source = try DistillationSupport.latent(args["source"], model: m, op)
            var settings = DistillationSettings(method: method)
            try Self.applyDistillationOptions(args, to: &settings, op)
            try configure(&settings)
            return try Convert.inference(op) {
                let embed = { (text: String) in try m.textEncoder.promptEmbeddings([m.tokenizer.encode(text)]) }
                let prompts: DistillationPrompts
                let described: [(String, String)]
                if method == .sds {
                    let prompt = try args.string("prompt")
                    prompts = DistillationPrompts(null: try embed(""), source: nil, target: try embed(prompt))
                    described = [("Prompt", prompt)]
                } else {
                    let (sp, tp) = (try args.string("source_prompt"), try args.string("target_prompt"))
                    prompts = DistillationPrompts(null: try embed(""), source: try embed(sp), target: try embed(tp))
                    described = [("Source prompt", sp), ("Target prompt", tp)]
                }
                let process = try ScoreDistillation(predictor: NoisePredictor(model: m), source: source, prompts: prompts, settings: settings)
                return .host(DistillationValue.make(process, model: m, workspace: ws, context: ctx,
                                                    parameters: [("Model", m.source)] + described))
            }
        }

        let head = [BuiltinParam("model", .host(["model"])),
                    BuiltinParam("source", .host(["image", "tensor"]), doc: "the image to edit, or its latent [1, 4, h, w]")]
        register("sds", family: "distillation",
                 params: head + [BuiltinParam("prompt", .string, doc: "the target prompt y")] + sharedOptions,
                 doc: "Score Distillation Sampling as a steppable process over the source's latent: each iteration g = w(t)·(ε̂(z_t; y) − ε), z ← z − lr·2000/(h·w)·g (official editing code: t in 50..949 i.i.d., CFG 7.5, w = 1, 200 iterations). Blurs the whole image — compare with dds.",
                 example: "p = sds(m, source: img, prompt: \"a green square\", iterations: 20); run(p); p.image") { args, ctx in
            try make("sds", .sds, args, ctx)
        }
        let pair = [BuiltinParam("source_prompt", .string, doc: "ỹ, describing the source"),
                    BuiltinParam("target_prompt", .string, doc: "y, describing the edit")]
        register("dds", family: "distillation", params: head + pair + sharedOptions,
                 doc: "Delta Denoising Score as a steppable process: each iteration draws t and ε once for both branches and follows g = ε̂(ẑ_t; y) − ε̂(z̃_t; ỹ) from one UNet call on [src_u, tgt_u, src_c, tgt_c] (official: t 50..949 i.i.d., CFG 7.5, SGD lr 0.1 on 2000·Σ(ẑ⊙g)/(h·w), 200 iterations). `ssgu: k` reuses each gradient for k iterations.",
                 example: "p = dds(m, source: img, source_prompt: \"a red circle\", target_prompt: \"a green square\", ssgu: 5)") { args, ctx in
            try make("dds", .dds, args, ctx)
        }
        register("cds", family: "distillation",
                 params: head + pair + sharedOptions + [
                    BuiltinParam("cut_weight", .number, default: .number(3), doc: "weight of the patch-contrastive term"),
                    BuiltinParam("patches", .integer, default: .number(256), doc: "locations sampled per layer and patch size"),
                    BuiltinParam("early_exit", .bool, default: .bool(true), doc: "stop the gradient pass's UNet forward after the last decoder self-attention (same result; false runs the whole UNet)"),
                 ],
                 doc: "Contrastive Denoising Score: DDS plus a PatchNCE loss between the decoder self-attention features of the source and target branches (patch sizes 1 and 2, τ 0.07), backpropagated through the UNet (2 UNet calls per iteration).",
                 example: "p = cds(m, source: img, source_prompt: \"a cat\", target_prompt: \"a dog\", iterations: 10)") { args, ctx in
            try make("cds", .cds, args, ctx) { s in
                s.cutWeight = Float(try args.number("cut_weight"))
                s.patchCount = try args.int("patches")
                s.earlyExit = args["early_exit"].equals(.bool(true))
            }
        }

        register("ssgu_probe", family: "distillation",
                 params: [BuiltinParam("p", .any, doc: "a score-distillation process (sds, dds, cds, instantswap) after its first step")],
                 doc: "Tests SSGU's premise at the next iteration: computes the fresh gradient there (one extra UNet evaluation, counted in unet_calls; the process does not move) and compares it with the reused one. Returns {t, cosine, relative_error}.",
                 example: "step(p, 3); ssgu_probe(p).cosine") { args, _ in
            guard case .host(let h as ProcessValue) = args["p"], let p = h.process as? ScoreDistillation else {
                throw HostError("ssgu_probe: expects a score-distillation process, got \(args["p"].typeName)")
            }
            let r = try ProcessBuiltins.drive("ssgu_probe") { try GradMode.withoutGradient { try p.probe() } }
            return .record([("t", .number(Double(r.t))), ("cosine", .number(r.cosine)), ("relative_error", .number(r.relativeError))])
        }
        register("grad_heatmap", family: "distillation",
                 params: [BuiltinParam("p", .any, doc: "a score-distillation process (sds, dds, cds, instantswap) after a step"),
                          BuiltinParam("colormap", .string, default: .string("inferno"), doc: Colormap.allCases.map(\.rawValue).joined(separator: ", ")),
                          BuiltinParam("size", default: .nil, doc: "an integer or [height, width] (default: the decoded image's size)")],
                 doc: "A heatmap image of the last gradient's per-pixel magnitude (p.grad_map: ‖g‖ over the latent channels at each latent pixel, min–max normalised, enlarged by nearest neighbour), written as a PNG: where the distillation is editing.",
                 example: "step(p, 5); grad_heatmap(p)") { args, ctx in
            guard case .host(let h as ProcessValue) = args["p"], let p = h.process as? ScoreDistillation else {
                throw HostError("grad_heatmap: expects a score-distillation process, got \(args["p"].typeName)")
            }
            guard let g = p.state.gradient, g.rank == 4 else { throw HostError("grad_heatmap: the process has no gradient yet; step it first") }
            let f = p.predictor.model.vaeScaleFactor
            let size = args.isNil("size") ? (g.shape[2] * f, g.shape[3] * f) : try TensorOps.size(args["size"], "grad_heatmap")
            let cmap = try ImageBuiltins.colormap(args["colormap"], "grad_heatmap")
            let map = try Convert.engine("grad_heatmap") { try Heatmap(tensor: DistillationValue.gradientMagnitude(g)) }
            let image = try ImageBuiltins.colored(map, colormap: cmap, normalize: true, size: size)
            return try ws.publish(image, builtin: "grad_heatmap", context: ctx, extra: [("Iteration", "\(p.index)")])
        }
        register("plot", family: "distillation",
                 params: [BuiltinParam("series", .any, doc: "a list of numbers, or a record of such lists (e.g. p.trace)"),
                          BuiltinParam("title", .string, default: .string(""), doc: "chart title")],
                 doc: "Draws a line chart of one or more numeric series against their index and writes it as a PNG under the output folder.",
                 example: "plot(p.trace.grad_norm, title: \"|g| per iteration\")") { args, ctx in
            var series: [(name: String, values: [Double])] = []
            func numbers(_ v: Value, _ name: String) throws -> [Double] {
                guard case .list(let box) = v else { throw HostError("plot: '\(name)' must be a list of numbers, got \(v.typeName)") }
                return try box.items.map { item in
                    switch item {
                    case .number(let d): return d
                    case .bool(let b): return b ? 1 : 0
                    case .nil: return .nan
                    default: throw HostError("plot: '\(name)' holds a \(item.typeName), expected numbers")
                    }
                }
            }
            switch args["series"] {
            case .list: series = [("series", try numbers(args["series"], "series"))]
            case .record(let box): series = try box.keys.map { ($0, try numbers(box[$0] ?? .nil, $0)) }
            case .host(let h as TensorValue): series = [("series", h.tensor.scalars.map(Double.init))]
            default: throw HostError("plot: 'series' must be a list of numbers or a record of lists, got \(args["series"].typeName)")
            }
            guard series.contains(where: { !$0.values.isEmpty }) else { throw HostError("plot: nothing to plot (empty series)") }
            let chart = LineChart(series: series, title: try args.string("title")).render()
            return try ws.publish(chart, builtin: "plot", context: ctx)
        }
    }
}

/// Helpers shared by the distillation and InstantSwap builtins.
enum DistillationSupport {
    /// The pixels [1, 3, H, W] in [−1, 1] of an image value.
    static func pixels(_ v: Value, model m: StableDiffusion, _ op: String) throws -> Tensor {
        guard case .host(let h as ImageValue) = v else { throw HostError("\(op): expected an image, got \(v.typeName)") }
        let f = m.vaeScaleFactor
        guard h.image.width % f == 0, h.image.height % f == 0 else {
            throw HostError("\(op): the image is \(h.image.width)x\(h.image.height); its sides must be multiples of \(f)")
        }
        return h.image.rgb.tensor(range: .minusOneToOne)
    }

    /// The latent of `source`: an image (VAE posterior mean × scaling factor, as the official
    /// codes encode) or a latent tensor [1, C, h, w].
    static func latent(_ v: Value, model m: StableDiffusion, _ op: String) throws -> Tensor {
        if case .host(let h as TensorValue) = v {
            let z = h.tensor
            guard z.rank == 4, z.shape[0] == 1, z.shape[1] == m.unet.config.inChannels else {
                throw HostError("\(op): source latent has shape \(formatShape(z.shape)), expected [1, \(m.unet.config.inChannels), h, w]")
            }
            return z
        }
        let x = try pixels(v, model: m, op)
        return try Convert.inference(op) { try m.vae.encode(x).mean * m.vae.scalingFactor }
    }
}
