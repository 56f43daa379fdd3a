import SwapEditing
import SwapLang
import SwapModels
import SwapTensor

/// A score-distillation process (SDS, DDS, CDS, InstantSwap) as a `ProcessValue`: the common
/// process fields (`i`, `done`, `steps`, `kind`, `trace`, `history`, `image`) plus
/// `t` (the timestep drawn by the last iteration), `latent`, `grad`, `grad_norm`, `anchor` (the
/// last iteration called the UNet), `unet_calls`, `anchors` (the SSGU anchor iterations of the
/// whole run), `iterations`, `ssgu`, `method`, `source` (z_src), `box` (InstantSwap: {x0, y0, x1, y1}), and from
/// the last anchor: `noise` (ε), `eps_target`, `eps_source` (guided ε̂ per branch), `x0` (the
/// target's predicted clean latent) and `bias` (‖ε̂_src − ε‖, the bias DDS subtracts);
/// `grad_map` is the per-latent-pixel gradient magnitude [h, w] (‖g[:, :, y, x]‖ over the
/// channels; `grad_heatmap(p)` draws it at image size). The
/// trace has the columns `t`, `grad_norm`, `latent_change`, `anchor` and `unet_calls`.
enum DistillationValue {
    static func make(_ p: ScoreDistillation, model m: StableDiffusion, box: PixelBox? = nil, workspace ws: Workspace,
                     context ctx: CallContext, parameters: [(String, String)]) -> ProcessValue {
        let fields = [
            ProcessField("t", get: { p.state.t.map { .number(Double($0)) } ?? .nil }),
            ProcessField("latent", get: { .host(TensorValue(p.state.latent)) }),
            ProcessField("grad", get: { p.state.gradient.map { .host(TensorValue($0)) } ?? .nil }),
            ProcessField("grad_norm", get: { p.state.gradientNorm.isFinite ? .number(p.state.gradientNorm) : .nil }),
            ProcessField("grad_map", get: { p.state.gradient.map { .host(TensorValue(gradientMagnitude($0))) } ?? .nil }),
            ProcessField("anchor", get: { .bool(p.state.anchor) }),
            ProcessField("unet_calls", get: { .number(Double(p.predictor.unetCalls)) }),
            ProcessField("anchors", get: { .list(p.schedule.anchors.map { .number(Double($0)) }) }),
            ProcessField("iterations", get: { .number(Double(p.settings.iterations)) }),
            ProcessField("ssgu", get: { .number(Double(p.settings.ssgu)) }),
            ProcessField("method", get: { .string(p.settings.method.rawValue) }),
            ProcessField("source", get: { .host(TensorValue(p.source)) }),
            ProcessField("box", get: { box.map { BoxRecords.record($0) } ?? .nil }),
            ProcessField("noise", get: { p.state.lastAnchor.map { .host(TensorValue($0.noise)) } ?? .nil }),
            ProcessField("eps_target", get: { p.state.lastAnchor.map { .host(TensorValue($0.epsTarget)) } ?? .nil }),
            ProcessField("eps_source", get: { p.state.lastAnchor?.epsSource.map { .host(TensorValue($0)) } ?? .nil }),
            ProcessField("x0", get: { try Convert.engine("x0") { try p.predictedClean() }.map { .host(TensorValue($0)) } ?? .nil }),
            ProcessField("bias", get: {
                guard let a = p.state.lastAnchor, let src = a.epsSource else { return .nil }
                return .number(Double(try Convert.engine("bias") { try (src - a.noise).squared().sum() }.item).squareRoot())
            }),
        ]
        let settings = p.settings
        let described = parameters + [("Method", settings.method.rawValue), ("Iterations", "\(settings.iterations)"),
                                      ("SSGU", "\(settings.ssgu)"), ("Seed", "\(settings.seed)"),
                                      ("Guidance", "\(settings.guidanceScale)")]
        return ProcessValue(process: p, workspace: ws, location: ctx.location, fields: fields,
                            image: { try m.vae.decode(p.state.latent * (1 / m.vae.scalingFactor)) },
                            parameters: { described + [("Iteration", "\(p.index)")] })
    }

    /// ‖g[b, :, y, x]‖₂ over the channels of a [B, C, h, w] gradient, summed in a fixed order
    /// (squares of the batch rows added): [h, w].
    static func gradientMagnitude(_ g: Tensor) -> Tensor {
        guard g.rank == 4 else { return g }
        let (b, c, h, w) = (g.shape[0], g.shape[1], g.shape[2], g.shape[3])
        let values = g.scalars
        var out = [Float](repeating: 0, count: h * w)
        for i in 0..<(h * w) {
            var sum: Float = 0
            for r in 0..<b { for k in 0..<c { let v = values[(r * c + k) * h * w + i]; sum += v * v } }
            out[i] = sum.squareRoot()
        }
        return Tensor(shape: [h, w], scalars: out)
    }
}
