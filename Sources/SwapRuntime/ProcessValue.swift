import SwapEditing
import SwapIO
import SwapLang
import SwapTensor

/// One named field of a process value: a getter and, when the field may be assigned between
/// steps (`s.latent = ...`), a setter.
public struct ProcessField {
    public let name: String
    public let get: () throws -> Value
    public let set: ((Value) throws -> Void)?

    public init(_ name: String, get: @escaping () throws -> Value, set: ((Value) throws -> Void)? = nil) {
        self.name = name
        self.get = get
        self.set = set
    }
}

/// Any steppable process as the language sees it (samplers, the P2P pair, inversions, score
/// distillation, ...): `step(p)`, `run(p)`, `run(p, until: t)` and `back(p, n)` work on every
/// one of them.
///
/// - Display: the process's progress summary (`sampler step 12/50  t=741`).
/// - Fields every process has: `i` (steps done), `t` (the timestep it is at, or nil), `done`,
///   `steps` (total, or nil), `kind`, `trace` (a record of per-step lists: `t`, `loss`, ...),
///   `history` (how many steps `back` can undo); plus `image` when the process has one, plus
///   the fields its builtin adds (`latent`, `eps`, `x0`, `prompt`, ... for a sampler).
///
/// To expose a new process: conform it to `SwapEditing.Process` and return
/// `ProcessValue(process:, workspace:, fields:, image:, parameters:)` from its builtin.
public final class ProcessValue: HostValue {
    public let process: any Process
    let workspace: Workspace
    let extraFields: [ProcessField]
    let imageSource: (() throws -> Tensor)?
    let parametersSource: () -> [(String, String)]
    /// Where the process was made or last advanced (its images quote that line).
    var location: SourceLocation

    /// - Parameters:
    ///   - fields: the process's own fields (they take precedence over the common ones).
    ///   - image: the process's current image [1, 3, H, W] in [−1, 1], for the `image` field.
    ///   - parameters: `Key: value` pairs describing the run (model, prompt, seed, steps,
    ///     operator settings) for the `parameters` chunk of its images.
    public init(process: any Process, workspace: Workspace, location: SourceLocation, fields: [ProcessField] = [],
                image: (() throws -> Tensor)? = nil, parameters: @escaping () -> [(String, String)] = { [] }) {
        self.process = process
        self.workspace = workspace
        self.location = location
        self.extraFields = fields
        self.imageSource = image
        self.parametersSource = parameters
    }

    public var kindName: String { process.kindName }
    public var summary: String { process.progressSummary }

    static let commonFields = ["i", "t", "done", "steps", "kind", "trace", "history"]

    public var fieldNames: [String] {
        var names = Self.commonFields + (imageSource == nil ? [] : ["image"])
        for f in extraFields where !names.contains(f.name) { names.append(f.name) }
        return names
    }

    public func field(_ name: String) throws -> Value? {
        if let f = extraFields.first(where: { $0.name == name }) { return try f.get() }
        switch name {
        case "i": return .number(Double(process.index))
        case "t": return process.timestep.map { .number($0) } ?? .nil
        case "done": return .bool(process.isDone)
        case "steps": return process.totalSteps.map { .number(Double($0)) } ?? .nil
        case "kind": return .string(process.kindName)
        case "history": return .number(Double(process.history.count))
        case "trace":
            let trace = process.trace
            return .record([("step", .list(trace.steps.map { .number(Double($0)) }))]
                           + trace.columns.map { name in (name, .list((trace.series(name) ?? []).map { .number($0) })) })
        case "image":
            guard imageSource != nil else { return nil }
            return .host(try imageValue())
        default: return nil
        }
    }

    public func setField(_ name: String, to value: Value) throws {
        guard let f = extraFields.first(where: { $0.name == name }) else {
            throw HostError("cannot set field '\(name)' of a \(kindName)" + (fieldNames.contains(name) ? " (it is read-only)" : ""))
        }
        guard let set = f.set else { throw HostError("cannot set field '\(name)' of a \(kindName) (it is read-only)") }
        try set(value)
    }

    /// The process's image as an image value (not written to a file) whose `parameters` text
    /// describes the run; `save_image` keeps it.
    func imageValue() throws -> ImageValue {
        guard let imageSource else { throw HostError("a \(kindName) has no image") }
        let pixels = try Convert.engine("\(kindName).image") { try imageSource() }
        var image = try Convert.engine("\(kindName).image") { try Image(tensor: pixels, range: .minusOneToOne) }
        image = image.mapSamples { x in x.isNaN ? 0 : (Swift.min(Swift.max(x, 0), 1) * 255).rounded() / 255 }
        image.metadata.removeAll { $0.key == "parameters" }
        image.metadata.insert((key: "parameters", value: parameters(for: image)), at: 0)
        return ImageValue(image, madeHere: true)
    }

    /// The `parameters` text of an image made from this process.
    func parameters(for image: Image, builtin: String? = nil) -> String {
        workspace.parameters(builtin: builtin ?? "\(kindName).image", at: location,
                             extra: parametersSource() + [("Size", "\(image.width)x\(image.height)")])
    }

    public func isEqual(to other: any HostValue) -> Bool { self === other }
}
