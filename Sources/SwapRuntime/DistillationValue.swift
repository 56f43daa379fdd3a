import SwapEditing
import SwapIO
import SwapLang
import SwapModels
import SwapTensor

/// A score-distillation process (SDS, DDS, CDS, InstantSwap) as the language sees it.
///
/// - Display: `dds step 12/200  t=741  |g|=0.1234  unet calls 12`.
/// - Fields: `latent`, `image` (decoded on first read after each step), `i` (iterations done),
///   `t` (the timestep drawn by the last iteration), `grad`, `grad_norm`, `anchor` (the last
///   iteration called the UNet), `trace` (a record of per-iteration lists: `t`, `grad_norm`,
///   `latent_change`, `anchor`, `unet_calls`), `unet_calls`, `anchors` (the SSGU anchor
///   iterations of the whole run), `iterations`, `ssgu`, `method`, `source` (z_src), `box`
///   (InstantSwap), `done`.
public final class DistillationValue: HostValue {
    public let process: ScoreDistillation
    let model: StableDiffusion
    /// The InstantSwap box, when there is one.
    public let box: BoxValue?
    private var decoded: (index: Int, image: ImageValue)?

    init(_ process: ScoreDistillation, model: StableDiffusion, box: BoxValue? = nil) {
        self.process = process
        self.model = model
        self.box = box
    }

    public var kindName: String { "distillation" }
    public var summary: String { process.progressSummary }
    public var fieldNames: [String] {
        ["latent", "image", "i", "t", "grad", "grad_norm", "anchor", "trace", "unet_calls", "anchors", "iterations", "ssgu",
         "method", "source", "box", "done"]
    }

    public func field(_ name: String) throws -> Value? {
        let s = process.state
        switch name {
        case "latent": return .host(TensorValue(s.latent))
        case "image": return .host(try image())
        case "i": return .number(Double(s.index))
        case "t": return s.t.map { .number(Double($0)) } ?? .nil
        case "grad": return s.gradient.map { .host(TensorValue($0)) } ?? .nil
        case "grad_norm": return s.gradientNorm.isFinite ? .number(s.gradientNorm) : .nil
        case "anchor": return .bool(s.anchor)
        case "trace": return Self.record(process.trace)
        case "unet_calls": return .number(Double(process.predictor.unetCalls))
        case "anchors": return .list(ListBox(process.schedule.anchors.map { .number(Double($0)) }))
        case "iterations": return .number(Double(process.settings.iterations))
        case "ssgu": return .number(Double(process.settings.ssgu))
        case "method": return .string(process.settings.method.rawValue)
        case "source": return .host(TensorValue(process.source))
        case "box": return box.map { .host($0) } ?? .nil
        case "done": return .bool(process.isDone)
        default: return nil
        }
    }

    /// The decoded latent, cached per iteration index (iterations are deterministic, so a
    /// step after `back` gives the same latent again).
    func image() throws -> ImageValue {
        if let decoded, decoded.index == process.index { return decoded.image }
        let latent = process.state.latent
        let pixels = try GradMode.withoutGradient { try model.vae.decode(latent * (1 / model.vae.scalingFactor)) }
        let value = ImageValue(try Image(tensor: pixels, range: .minusOneToOne))
        decoded = (process.index, value)
        return value
    }

    /// A trace as a record of numeric lists, one per column.
    static func record(_ trace: ProcessTrace) -> Value {
        .record(RecordBox(trace.columns.map { name in
            (name, .list(ListBox((trace.series(name) ?? []).map { .number($0) })))
        }))
    }
}
