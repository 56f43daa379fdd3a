import Foundation
import Testing
import SwapSchedulers

/// `scheduler_config.json` parsing: SD's real file, class defaults for missing keys, and errors
/// that name the file and the key. Hand-written JSON, no fixture file.
@Suite struct ConfigTests {
    /// Stable Diffusion 1.5's scheduler/scheduler_config.json (PNDM), as published.
    static let sd15 = """
    {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
     "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
     "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1,
     "trained_betas": null, "clip_sample": false}
    """

    static func parse(_ json: String, _ kind: SchedulerKind = .ddim, file: String = "scheduler_config.json") throws -> SchedulerConfig {
        try SchedulerConfig.parse(Data(json.utf8), source: file, kind: kind)
    }

    /// The error `body` throws, or nil.
    static func error(_ body: () throws -> SchedulerConfig) -> SchedulerError? {
        do { _ = try body(); return nil } catch let e as SchedulerError { return e } catch { return nil }
    }

    @Test func sd15FileGivesTheStableDiffusionValues() throws {
        let c = try Self.parse(Self.sd15)
        var expected = SchedulerConfig.stableDiffusion(.ddim)
        expected.className = "PNDMScheduler"
        #expect(c == expected)
        #expect(c.clipSample == false && c.setAlphaToOne == false && c.stepsOffset == 1)
        // Read for Euler, keys the file lacks take Euler's defaults: SD1.5's file has no
        // timestep_spacing, so Euler built from it uses linspace (as diffusers' from_config does).
        let e = try Self.parse(Self.sd15, .eulerDiscrete)
        #expect(e.timestepSpacing == .linspace && e.betaSchedule == .scaledLinear)
    }

    @Test func missingKeysTakeTheClassDefaults() throws {
        let ddim = try Self.parse("{}")
        #expect(ddim == SchedulerConfig.defaults(for: .ddim))
        #expect(ddim.numTrainTimesteps == 1000 && ddim.betaStart == 0.0001 && ddim.betaEnd == 0.02)
        #expect(ddim.betaSchedule == .linear && ddim.clipSample && ddim.setAlphaToOne && ddim.stepsOffset == 0)
        #expect(ddim.predictionType == .epsilon && ddim.timestepSpacing == .leading)
        let euler = try Self.parse("{\"prediction_type\": \"v_prediction\"}", .eulerDiscrete)
        #expect(euler.timestepSpacing == .linspace && euler.predictionType == .vPrediction && !euler.clipSample)
        let ddpm = try Self.parse("{\"variance_type\": null}", .ddpm)
        #expect(ddpm.varianceType == .fixedSmall && ddpm.clipSample && !ddpm.setAlphaToOne)
    }

    @Test func malformedValuesNameFileAndKey() {
        let cases: [(String, String)] = [
            ("{\"beta_start\": \"abc\"}", "beta_start"),
            ("{\"beta_schedule\": \"cosine\"}", "beta_schedule"),
            ("{\"steps_offset\": 1.5}", "steps_offset"),
            ("{\"num_train_timesteps\": -3}", "num_train_timesteps"),
            ("{\"clip_sample\": 1}", "clip_sample"),
            ("{\"prediction_type\": 3}", "prediction_type"),
            ("{\"trained_betas\": [0.1, \"x\"]}", "trained_betas"),
            ("{\"num_train_timesteps\": 3, \"trained_betas\": [0.1, 0.2]}", "trained_betas"),
        ]
        for (json, key) in cases {
            let e = Self.error { try Self.parse(json, file: "/ckpt/scheduler/scheduler_config.json") }
            guard case .malformedConfig(let file, let k, _)? = e else {
                Issue.record("\(json): expected malformedConfig, got \(String(describing: e))")
                continue
            }
            #expect(file == "/ckpt/scheduler/scheduler_config.json" && k == key)
            let text = e.map { String(describing: $0) } ?? ""
            #expect(text.contains("/ckpt/scheduler/scheduler_config.json") && text.contains("\"\(key)\""), "\(text)")
        }
    }

    @Test func unsupportedFeaturesAreRefusedByName() {
        for (json, key) in [("{\"thresholding\": true}", "thresholding"),
                            ("{\"use_karras_sigmas\": true}", "use_karras_sigmas"),
                            ("{\"interpolation_type\": \"log_linear\"}", "interpolation_type")] {
            let e = Self.error { try Self.parse(json, .eulerDiscrete, file: "s.json") }
            guard case .unsupportedConfig(let file, let k, _)? = e else {
                Issue.record("\(json): expected unsupportedConfig, got \(String(describing: e))")
                continue
            }
            #expect(file == "s.json" && k == key)
        }
        // Off switches are fine.
        #expect(Self.error { try Self.parse("{\"thresholding\": false, \"use_karras_sigmas\": false}") } == nil)
    }

    @Test func unreadableFilesNameTheFile() throws {
        #expect(Self.error { try Self.parse("[1, 2]", file: "a.json") } == .unreadableConfig(file: "a.json", reason: "is not a JSON object"))
        #expect(Self.error { try Self.parse("{\"beta_start\": ", file: "b.json") } == .unreadableConfig(file: "b.json", reason: "is not valid JSON"))
        let missing = "/nonexistent/scheduler_config.json"
        let e = Self.error { try SchedulerConfig.load(path: missing, kind: .ddim) }
        guard case .unreadableConfig(let file, _)? = e else { Issue.record("expected unreadableConfig, got \(String(describing: e))"); return }
        #expect(file == missing)
        // A real file on disk round-trips through load(path:).
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swapsched-\(UUID().uuidString).json")
        try Data(Self.sd15.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try SchedulerConfig.load(path: url.path, kind: .ddim).betaSchedule == .scaledLinear)
    }
}
