import Foundation
import SwapIO

// Result rows of `swapscript bench swap` (one JSON line per swap), merging shards, and the
// table in the form of InstantSwap's Tables 1/2/4/5 (one row per method).

/// One swap's result.
public struct SwapBenchRow: Codable, Sendable, Equatable {
    /// The job's id in the run's job list, and the list's length.
    public var job: Int, jobs: Int
    public var n: Int, m: Int, seed: UInt64
    public var scene: Int, sceneSeed: UInt64, target: Int
    public var method: String
    public var targetConcept: String
    /// "shape" or "pattern"; whether the target is a held-out (customized) concept.
    public var swapped: String
    public var heldOut: Bool
    public var sourcePrompt: String, targetPrompt: String
    /// The ground-truth box [x0, y0, x1, y1] (half-open pixels).
    public var box: [Int]
    /// 1 when the recognizer reads the swapped attribute (shape or pattern) in the box, else 0.
    public var fgAttribute: Int
    /// 1 when it reads the whole target concept (colour, pattern and shape), else 0.
    public var fgFull: Int
    public var readShape: String?, readColor: String?, readPattern: String?
    /// Background metrics outside the box against the source scene (protocol "outside",
    /// SSIM profile wang2004, data range 1).
    public var bgPSNR: Double, bgSSIM: Double, bgMSE: Double
    public var seconds: Double
    public var unetCalls: Int

    enum CodingKeys: String, CodingKey {
        case job, jobs, n, m, seed, scene, target, method, swapped, box, seconds
        case sceneSeed = "scene_seed", targetConcept = "target_concept", heldOut = "held_out"
        case sourcePrompt = "source_prompt", targetPrompt = "target_prompt"
        case fgAttribute = "fg_attribute", fgFull = "fg_full"
        case readShape = "read_shape", readColor = "read_color", readPattern = "read_pattern"
        case bgPSNR = "bg_psnr", bgSSIM = "bg_ssim", bgMSE = "bg_mse", unetCalls = "unet_calls"
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }()

    /// The row as one JSON line (keys sorted; no trailing newline).
    public func jsonLine() throws -> String { String(decoding: try Self.encoder.encode(self), as: UTF8.self) }
}

/// Reading, appending and merging result files.
public enum SwapBenchResults {
    /// The rows of a JSON Lines file (empty lines skipped). Throws `WorldError` naming the line.
    public static func read(_ path: String) throws -> [SwapBenchRow] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw WorldError("bench swap", "cannot read \(path): \(error.localizedDescription)")
        }
        var rows: [SwapBenchRow] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do { rows.append(try SwapBenchRow.decoder.decode(SwapBenchRow.self, from: Data(line.utf8))) } catch {
                throw WorldError("bench swap", "\(path):\(i + 1) is not a bench swap result row (\(error))")
            }
        }
        return rows
    }

    /// Adds a row to a JSON Lines file: the file is rewritten atomically with the row appended,
    /// so an interrupted run leaves every finished row and no partial line.
    public static func append(_ row: SwapBenchRow, to path: String) throws {
        var text = FileManager.default.fileExists(atPath: path) ? (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" : ""
        if !text.isEmpty, !text.hasSuffix("\n") { text += "\n" }
        text += try row.jsonLine() + "\n"
        try AtomicFile.write(Data(text.utf8), to: path)
    }

    /// The rows of several files (shards) as one run: throws when two rows have the same job
    /// or the files come from different runs (n, m, seed, job count); `missing` lists the jobs
    /// no file has.
    public static func merge(_ paths: [String]) throws -> (rows: [SwapBenchRow], missing: [Int]) {
        var byJob: [Int: (SwapBenchRow, String)] = [:]
        var run: (Int, Int, UInt64, Int)?
        for path in paths {
            for row in try read(path) {
                let key = (row.n, row.m, row.seed, row.jobs)
                if let run, run != key {
                    throw WorldError("bench swap", "\(path) holds a run with n=\(row.n) m=\(row.m) seed=\(row.seed) (\(row.jobs) jobs), another file n=\(run.0) m=\(run.1) seed=\(run.2) (\(run.3) jobs)")
                }
                run = key
                if let earlier = byJob[row.job] {
                    throw WorldError("bench swap", "job \(row.job) appears twice (\(earlier.1) and \(path)); shards must not overlap")
                }
                byJob[row.job] = (row, path)
            }
        }
        let rows = byJob.keys.sorted().map { byJob[$0]!.0 }
        let missing = run.map { r in (0..<r.3).filter { byJob[$0] == nil } } ?? []
        return (rows, missing)
    }
}

/// The table: one line per method, in the benchmark's method order.
public struct SwapBenchTable: Equatable {
    public struct Line: Equatable {
        public var method: String
        public var label: String
        public var swaps: Int
        /// Percent of swaps whose swapped attribute / whole concept the recognizer reads.
        public var fgAttribute: Double, fgFull: Double
        /// Means of the per-swap values (PSNR over the swaps with a finite PSNR).
        public var psnr: Double, ssim: Double, mse: Double
        public var seconds: Double
    }
    public var lines: [Line]

    public init(rows: [SwapBenchRow]) {
        let order = SwapBenchMethod.allCases.map(\.rawValue)
        let names = Set(rows.map(\.method)).sorted { (order.firstIndex(of: $0) ?? .max, $0) < (order.firstIndex(of: $1) ?? .max, $1) }
        lines = names.map { name in
            let r = rows.filter { $0.method == name }
            func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
            return Line(method: name, label: SwapBenchMethod(rawValue: name)?.label ?? name, swaps: r.count,
                        fgAttribute: 100 * mean(r.map { Double($0.fgAttribute) }), fgFull: 100 * mean(r.map { Double($0.fgFull) }),
                        psnr: mean(r.map(\.bgPSNR).filter(\.isFinite)), ssim: mean(r.map(\.bgSSIM)), mse: mean(r.map(\.bgMSE)),
                        seconds: mean(r.map(\.seconds)))
        }
    }

    static let headers = ["Method", "Swaps", "FG acc. attr. (%)", "FG acc. full (%)", "BG PSNR (dB)", "BG SSIM ×10²", "BG MSE ×10⁴", "s / swap"]

    func cells(_ l: Line) -> [String] {
        [l.label, "\(l.swaps)", String(format: "%.1f", l.fgAttribute), String(format: "%.1f", l.fgFull),
         String(format: "%.2f", l.psnr), String(format: "%.2f", 100 * l.ssim), String(format: "%.2f", 1e4 * l.mse),
         String(format: "%.2f", l.seconds)]
    }

    /// The table as aligned text columns.
    public var text: String {
        let rows = [Self.headers] + lines.map(cells)
        let widths = Self.headers.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// The table in Markdown.
    public var markdown: String {
        var out = "| " + Self.headers.joined(separator: " | ") + " |\n"
        out += "|" + Self.headers.indices.map { $0 == 0 ? "---|" : "---:|" }.joined() + "\n"
        for l in lines { out += "| " + cells(l).joined(separator: " | ") + " |\n" }
        return out
    }
}
