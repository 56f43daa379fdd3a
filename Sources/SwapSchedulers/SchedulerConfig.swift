import Foundation

/// Which diffusers scheduler class a configuration is read for. The class decides the defaults
/// for keys that `scheduler_config.json` leaves out (diffusers' `__init__` defaults differ per class).
public enum SchedulerKind: String, Sendable, CaseIterable {
    /// `DDIMScheduler` (and `DDIMInverseScheduler`, which shares its defaults).
    case ddim
    /// `DDPMScheduler`.
    case ddpm
    /// `EulerDiscreteScheduler`.
    case eulerDiscrete = "euler_discrete"
}

/// How β₁…β_T are laid out over the training timesteps (`beta_schedule`).
public enum BetaSchedule: String, Sendable, CaseIterable {
    /// `linspace(beta_start, beta_end)`.
    case linear
    /// `linspace(√beta_start, √beta_end)²`: Stable Diffusion 1.x/2.x.
    case scaledLinear = "scaled_linear"
    /// The improved-DDPM cosine schedule (`betas_for_alpha_bar`, cosine, max β 0.999).
    case squaredcosCapV2 = "squaredcos_cap_v2"
}

/// What the denoising model predicts (`prediction_type`).
public enum PredictionType: String, Sendable, CaseIterable {
    /// The added noise ε (SD 1.x, SD 2.x-base).
    case epsilon
    /// The velocity v = √ᾱ·ε − √(1−ᾱ)·x₀ (SD 2.x 768-v).
    case vPrediction = "v_prediction"
    /// The clean sample x₀ directly.
    case sample
}

/// How inference timesteps are picked from the training range (`timestep_spacing`).
public enum TimestepSpacing: String, Sendable, CaseIterable {
    /// `(0, k, 2k, …)` reversed, plus `steps_offset`, with k = T // steps.
    case leading
    /// `round(arange(T, 0, −T/steps)) − 1`: starts at T − 1.
    case trailing
    /// `round(linspace(0, T − 1, steps))` reversed (Euler keeps the unrounded floats).
    case linspace
}

/// The DDPM posterior variance (`variance_type`).
public enum DDPMVarianceType: String, Sendable, CaseIterable {
    /// β̃_t = (1−ᾱ_prev)/(1−ᾱ_t)·β_t, clamped to ≥ 1e-20; std = √β̃_t.
    case fixedSmall = "fixed_small"
    /// std = exp(½·log β̃_t).
    case fixedSmallLog = "fixed_small_log"
    /// std = √β_t.
    case fixedLarge = "fixed_large"
    /// The model's second half of channels is the variance itself.
    case learned
    /// The model's second half of channels v ∈ [−1, 1] interpolates log β̃_t … log β_t.
    case learnedRange = "learned_range"
}

/// The σ appended after the last Euler step (`final_sigmas_type`).
public enum FinalSigmasType: String, Sendable, CaseIterable {
    /// σ = 0: the last step lands on the clean sample.
    case zero
    /// σ = √((1−ᾱ₀)/ᾱ₀).
    case sigmaMin = "sigma_min"
}

/// The parts of a diffusers `scheduler/scheduler_config.json` that DDIM, DDPM and Euler use.
///
/// Read it with ``load(path:kind:)`` or ``parse(_:source:kind:)``. Keys that are absent (or
/// `null`) take the defaults of the diffusers class for `kind` (``defaults(for:)``), which are
/// **not** Stable Diffusion's values: DDIM's own default is linear 1e-4…0.02 with
/// `clip_sample = true` and `set_alpha_to_one = true`. Unknown keys (`_class_name`,
/// `skip_prk_steps`, …) are ignored, as `from_config` does. Keys that would switch on a feature
/// this package lacks (`thresholding`, Karras sigmas, …) are rejected by name rather than ignored.
public struct SchedulerConfig: Sendable, Equatable {
    /// `num_train_timesteps` (T).
    public var numTrainTimesteps: Int
    /// `beta_start`.
    public var betaStart: Double
    /// `beta_end`.
    public var betaEnd: Double
    /// `beta_schedule`.
    public var betaSchedule: BetaSchedule
    /// `trained_betas`: explicit βs that override the schedule (nil when absent).
    public var trainedBetas: [Float]?
    /// `prediction_type`.
    public var predictionType: PredictionType
    /// `timestep_spacing`.
    public var timestepSpacing: TimestepSpacing
    /// `steps_offset`: added to "leading" timesteps (SD: 1).
    public var stepsOffset: Int
    /// `set_alpha_to_one`: ᾱ used past the end of DDIM's schedule; 1 if true, ᾱ₀ if false (SD: false).
    public var setAlphaToOne: Bool
    /// `clip_sample`: clamp x̂₀ to ±`clipSampleRange` (SD: false).
    public var clipSample: Bool
    /// `clip_sample_range`.
    public var clipSampleRange: Float
    /// `rescale_betas_zero_snr`: rescale βs so the last step has zero SNR (Lin et al. 2023).
    public var rescaleBetasZeroSNR: Bool
    /// `variance_type` (DDPM only).
    public var varianceType: DDPMVarianceType
    /// `final_sigmas_type` (Euler only).
    public var finalSigmasType: FinalSigmasType
    /// `_class_name` as written in the file, for messages (nil for built-in defaults).
    public var className: String?

    /// The diffusers `__init__` defaults of the class for `kind`.
    ///
    /// | key | DDIM | DDPM | Euler |
    /// |---|---|---|---|
    /// | num_train_timesteps | 1000 | 1000 | 1000 |
    /// | beta_start / beta_end | 0.0001 / 0.02 | same | same |
    /// | beta_schedule | linear | linear | linear |
    /// | prediction_type | epsilon | epsilon | epsilon |
    /// | timestep_spacing | leading | leading | **linspace** |
    /// | steps_offset | 0 | 0 | 0 |
    /// | set_alpha_to_one | **true** | – | – |
    /// | clip_sample / clip_sample_range | **true** / 1.0 | **true** / 1.0 | – (false) |
    /// | rescale_betas_zero_snr | false | false | false |
    /// | variance_type | – | fixed_small | – |
    /// | final_sigmas_type | – | – | zero |
    public static func defaults(for kind: SchedulerKind) -> SchedulerConfig {
        SchedulerConfig(
            numTrainTimesteps: 1000, betaStart: 0.0001, betaEnd: 0.02, betaSchedule: .linear,
            trainedBetas: nil, predictionType: .epsilon,
            timestepSpacing: kind == .eulerDiscrete ? .linspace : .leading,
            stepsOffset: 0, setAlphaToOne: kind == .ddim, clipSample: kind != .eulerDiscrete,
            clipSampleRange: 1, rescaleBetasZeroSNR: false, varianceType: .fixedSmall,
            finalSigmasType: .zero, className: nil)
    }

    /// The values of Stable Diffusion 1.x's `scheduler_config.json` (PNDM file, rebuilt as `kind`):
    /// scaled_linear 0.00085…0.012, T = 1000, set_alpha_to_one false, steps_offset 1,
    /// clip_sample false, leading spacing, epsilon.
    public static func stableDiffusion(_ kind: SchedulerKind) -> SchedulerConfig {
        var c = defaults(for: kind)
        c.betaStart = 0.00085
        c.betaEnd = 0.012
        c.betaSchedule = .scaledLinear
        c.setAlphaToOne = false
        c.stepsOffset = 1
        c.clipSample = false
        c.timestepSpacing = .leading
        return c
    }

    /// Reads `path` (a diffusers `scheduler_config.json`) for the scheduler class `kind`.
    /// - Throws: ``SchedulerError`` naming the file (and the key, for a bad value).
    public static func load(path: String, kind: SchedulerKind) throws -> SchedulerConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SchedulerError.unreadableConfig(file: path, reason: "cannot be read (\(error.localizedDescription))")
        }
        return try parse(data, source: path, kind: kind)
    }

    /// Parses the JSON text of a scheduler config. `source` names the file in error messages.
    /// - Throws: ``SchedulerError`` naming `source` and the offending key.
    public static func parse(_ data: Data, source: String, kind: SchedulerKind) throws -> SchedulerConfig {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw SchedulerError.unreadableConfig(file: source, reason: "is not valid JSON")
        }
        guard case .object(let dict) = root else {
            throw SchedulerError.unreadableConfig(file: source, reason: "is not a JSON object")
        }
        let reader = ConfigReader(file: source, values: dict)
        var c = defaults(for: kind)
        c.className = try reader.string("_class_name")
        if let v = try reader.int("num_train_timesteps", minimum: 2) { c.numTrainTimesteps = v }
        if let v = try reader.double("beta_start") { c.betaStart = v }
        if let v = try reader.double("beta_end") { c.betaEnd = v }
        if let v: BetaSchedule = try reader.choice("beta_schedule") { c.betaSchedule = v }
        if let v = try reader.floatArray("trained_betas") { c.trainedBetas = v }
        if let v: PredictionType = try reader.choice("prediction_type") { c.predictionType = v }
        if let v: TimestepSpacing = try reader.choice("timestep_spacing") { c.timestepSpacing = v }
        if let v = try reader.int("steps_offset", minimum: 0) { c.stepsOffset = v }
        if let v = try reader.bool("set_alpha_to_one") { c.setAlphaToOne = v }
        if let v = try reader.bool("clip_sample") { c.clipSample = v }
        if let v = try reader.double("clip_sample_range") { c.clipSampleRange = Float(v) }
        if let v = try reader.bool("rescale_betas_zero_snr") { c.rescaleBetasZeroSNR = v }
        if let v: DDPMVarianceType = try reader.choice("variance_type") { c.varianceType = v }
        if let v: FinalSigmasType = try reader.choice("final_sigmas_type") { c.finalSigmasType = v }
        if kind == .eulerDiscrete { c.clipSample = false }   // Euler has no x̂₀ clipping

        // Switches for features this package does not implement: refuse rather than ignore.
        for key in ["thresholding", "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"] {
            if try reader.bool(key) == true {
                throw SchedulerError.unsupportedConfig(file: source, key: key, value: "true")
            }
        }
        if let v = try reader.string("interpolation_type"), v != "linear" {
            throw SchedulerError.unsupportedConfig(file: source, key: "interpolation_type", value: "\"\(v)\"")
        }
        if let v = try reader.string("timestep_type"), v != "discrete" {
            throw SchedulerError.unsupportedConfig(file: source, key: "timestep_type", value: "\"\(v)\"")
        }
        if let betas = c.trainedBetas, betas.count != c.numTrainTimesteps {
            throw SchedulerError.malformedConfig(
                file: source, key: "trained_betas",
                reason: "has \(betas.count) values but num_train_timesteps is \(c.numTrainTimesteps)")
        }
        return c
    }
}

/// A JSON value, decoded without Foundation's number/bool ambiguity (so `1` is never a `true`).
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// A short rendering for error messages.
    var summary: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .number(let d): return String(d)
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "an array of \(a.count)"
        case .object: return "an object"
        }
    }
}

/// Typed access to one config file's keys; every failure names the file and the key.
struct ConfigReader {
    let file: String
    let values: [String: JSONValue]

    private func present(_ key: String) -> JSONValue? {
        guard let v = values[key], v != .null else { return nil }
        return v
    }

    private func bad(_ key: String, _ reason: String) -> SchedulerError {
        .malformedConfig(file: file, key: key, reason: reason)
    }

    func string(_ key: String) throws -> String? {
        guard let v = present(key) else { return nil }
        guard case .string(let s) = v else { throw bad(key, "must be a string, found \(v.summary)") }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = present(key) else { return nil }
        guard case .bool(let b) = v else { throw bad(key, "must be true or false, found \(v.summary)") }
        return b
    }

    func double(_ key: String) throws -> Double? {
        guard let v = present(key) else { return nil }
        guard case .number(let d) = v, d.isFinite else { throw bad(key, "must be a number, found \(v.summary)") }
        return d
    }

    func int(_ key: String, minimum: Int) throws -> Int? {
        guard let d = try double(key) else { return nil }
        guard d == d.rounded(), d >= Double(minimum), d < 1e9 else {
            throw bad(key, "must be an integer ≥ \(minimum), found \(d)")
        }
        return Int(d)
    }

    func floatArray(_ key: String) throws -> [Float]? {
        guard let v = present(key) else { return nil }
        guard case .array(let items) = v else { throw bad(key, "must be an array of numbers, found \(v.summary)") }
        return try items.enumerated().map { i, item in
            guard case .number(let d) = item else { throw bad(key, "element \(i) is \(item.summary), not a number") }
            return Float(d)
        }
    }

    func choice<E: RawRepresentable & CaseIterable>(_ key: String) throws -> E? where E.RawValue == String {
        guard let s = try string(key) else { return nil }
        guard let e = E(rawValue: s) else {
            let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw bad(key, "must be one of \(allowed), found \"\(s)\"")
        }
        return e
    }
}
