import Foundation
import Testing
import SwapIO
import SwapSchedulers
import SwapTensor

/// The diffusers reference values in Fixtures/schedulers.{json,safetensors}, made by
/// `tools/reference/make_scheduler_fixtures.py` (torch 2.13.0+cpu, diffusers 0.42.1).
enum SchedulerFixtures {
    struct Manifest: Decodable {
        struct Schedule: Decodable { let name: String; let config: String }
        struct TimestepList: Decodable {
            let kind: String; let config: String; let steps: Int; let timesteps: [Double]
            let sigmas: [Double]?; let init_noise_sigma: Double?
        }
        struct StepCase: Decodable {
            let name: String; let kind: String; let config: String; let steps: Int; let eta: Double
            let seed: UInt64?; let s_churn: Double; let indices: [Int]; let timesteps: [Double]
            let init_noise_sigma: Double?
        }
        struct AddNoise: Decodable {
            let name: String; let kind: String; let config: String; let steps: Int; let timestep: Double
        }
        struct Guidance: Decodable { let scale: Double; let rescale: Double }
        let generated_by: String
        let versions: [String: String]
        let schedules: [Schedule]
        let timestep_lists: [TimestepList]
        let step_cases: [StepCase]
        let add_noise: [AddNoise]
        let guidance: Guidance
    }

    static let manifest: Manifest? = {
        guard let url = Bundle.module.url(forResource: "schedulers", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(Manifest.self, from: data)
    }()

    static let tensors: [String: Tensor] = {
        guard let url = Bundle.module.url(forResource: "schedulers", withExtension: "safetensors", subdirectory: "Fixtures"),
              let t = try? SafeTensors.load(url.path) else { return [:] }
        return t
    }()

    /// The manifest, or a thrown error that fails the test when the fixture is missing.
    static func load() throws -> Manifest {
        guard let m = manifest, !tensors.isEmpty else {
            throw FixtureError("Fixtures/schedulers.{json,safetensors} missing or unreadable; run tools/reference/make_scheduler_fixtures.py")
        }
        return m
    }

    static func tensor(_ name: String) throws -> Tensor {
        guard let t = tensors[name] else { throw FixtureError("schedulers.safetensors has no tensor \(name)") }
        return t
    }

    /// The fixture's config string parsed by SwapSchedulers, for the class behind `kind`.
    static func config(_ json: String, kind: String, source: String) throws -> SchedulerConfig {
        let k: SchedulerKind = kind == "ddpm" ? .ddpm : (kind == "euler_discrete" ? .eulerDiscrete : .ddim)
        return try SchedulerConfig.parse(Data(json.utf8), source: source, kind: k)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Error statistics of `actual` against `expected`.
struct Deviation: CustomStringConvertible {
    var maxAbs: Float = 0
    /// max over tensors of max|a − e| / max|e|: error relative to each tensor's scale.
    var maxRel: Float = 0
    var description: String { "max|Δ| \(maxAbs), max rel \(maxRel)" }

    mutating func add(_ actual: Tensor, _ expected: Tensor) {
        guard actual.shape == expected.shape else { maxAbs = .infinity; maxRel = .infinity; return }
        var worst: Float = 0, scale: Float = 0
        for (a, e) in zip(actual.scalars, expected.scalars) {
            let d = abs(a - e)
            if d.isNaN { maxAbs = .infinity; maxRel = .infinity; return }
            worst = max(worst, d)
            scale = max(scale, abs(e))
        }
        maxAbs = max(maxAbs, worst)
        maxRel = max(maxRel, scale > 0 ? worst / scale : worst)
    }

    static func of(_ actual: Tensor, _ expected: Tensor) -> Deviation {
        var d = Deviation(); d.add(actual, expected); return d
    }
}

/// Bit patterns of a tensor's elements (for bit-exact comparisons).
func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

/// Indices where two float arrays differ bitwise, for compact failure messages ("" if none).
func bitMismatches(_ actual: [Float], _ expected: [Float]) -> String {
    guard actual.count == expected.count else { return "count \(actual.count) vs \(expected.count)" }
    let bad = actual.indices.filter { actual[$0].bitPattern != expected[$0].bitPattern }
    guard !bad.isEmpty else { return "" }
    let shown = bad.prefix(5).map { "[\($0)] \(actual[$0]) vs \(expected[$0])" }.joined(separator: ", ")
    return "\(bad.count) differ: \(shown)"
}

/// Largest distance in units in the last place between matching elements (Int.max on a count mismatch).
func maxULPDistance(_ actual: [Float], _ expected: [Float]) -> Int {
    guard actual.count == expected.count else { return .max }
    return zip(actual, expected).map { a, e in
        a == e ? 0 : Int(abs(Int64(Int32(bitPattern: a.bitPattern)) - Int64(Int32(bitPattern: e.bitPattern))))
    }.max() ?? 0
}
