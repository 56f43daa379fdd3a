import ArgumentParser
import Foundation
import SwapModels
import SwapTensor
import SwapWorld

/// `swapscript bench swap`: the SwapBench-style benchmark on ShapesWorld (issue 9; protocol in
/// docs/benchmarks.md). Runs its shard of the (scene, target, method) jobs on the default
/// model, appending one JSON line per swap to --out, and prints the table; with --merge it only
/// reads result files and prints their table.
struct BenchSwap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swap",
        abstract: "Swap benchmark on ShapesWorld: foreground accuracy, background PSNR/SSIM/MSE, seconds per swap.")

    @Option(help: "Source scenes N.") var n: Int = 20
    @Option(help: "Target concepts M (the first M of: cross*, square, checkered*, star, striped, ring; * held out).") var m: Int = 4
    @Option(help: "Seed of the first scene.") var seed: Int = 0
    @Option(help: "This process's part of the jobs, i/n (jobs whose id ≡ i mod n).") var shard: String = "0/1"
    @Option(help: "Result file (JSON Lines, one row per swap, appended atomically).") var out: String?
    @Flag(help: "Skip the jobs --out already holds (resume an interrupted shard).") var resume = false
    @Option(help: "Methods, comma-separated, or \"all\": sds, dds, cds, p2p_nti, instantswap, instantswap_no_bgm, instantswap_no_secr, instantswap_k1, instantswap_k2, instantswap_k10.")
    var methods: String = "all"
    @Option(help: "Iterations of every score-distillation method (default: each method's official count).") var iterations: Int?
    @Option(name: .customLong("p2p-steps"), help: "DDIM steps of null-text inversion and P2P (default 50).") var p2pSteps: Int?
    @Option(name: .customLong("nti-inner"), help: "Null-text inner iterations (default 10).") var ntiInner: Int?
    @Option(name: .customLong("concept-steps"), help: "Textual-inversion steps per held-out concept.") var conceptSteps: Int = 400
    @Option(help: "A diffusers folder to use instead of the embedded default model.") var model: String?
    @Option(help: "Threads for the kernels (default 2).") var threads: Int = 2
    @Flag(help: "Print the table in Markdown.") var markdown = false
    @Flag(help: "Merge result files (the arguments) and print their table; runs nothing.") var merge = false
    @Argument(help: "Result files to merge (with --merge).") var files: [String] = []

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)   // one line per swap, also into a log file
        if merge {
            guard !files.isEmpty else { throw ValidationError("--merge needs result files") }
            let (rows, missing) = try SwapBenchResults.merge(files)
            print(rows.first.map { "swapscript bench swap  n=\($0.n) m=\($0.m) seed=\($0.seed)  \(rows.count)/\($0.jobs) swaps from \(files.count) file(s)" } ?? "no rows")
            if !missing.isEmpty { print("missing \(missing.count) job(s): \(missing.prefix(20).map(String.init).joined(separator: ", "))\(missing.count > 20 ? ", …" : "")") }
            let table = SwapBenchTable(rows: rows)
            print(markdown ? table.markdown : table.text, terminator: "")
            return
        }
        guard files.isEmpty else { throw ValidationError("result files are read only with --merge") }
        let parts = shard.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2 else { throw ValidationError("--shard must be i/n, e.g. 0/4") }
        guard seed >= 0 else { throw ValidationError("--seed must be ≥ 0") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
        Parallel.threadCount = threads
        var config = SwapBenchConfig(scenes: n, targets: m, seed: UInt64(seed))
        config.methods = try SwapBenchMethod.parseList(methods)
        config.iterations = iterations
        config.p2pSteps = p2pSteps
        config.ntiInner = ntiInner
        config.conceptSteps = conceptSteps
        let jobs = try config.jobs(shard: parts[0], of: parts[1])
        var done = Set<Int>()
        if resume, let out, FileManager.default.fileExists(atPath: out) { done = Set(try SwapBenchResults.read(out).map(\.job)) }
        if let out, !resume, FileManager.default.fileExists(atPath: out) {
            throw ValidationError("\(out) exists; remove it, choose another --out, or pass --resume")
        }
        let sd = try model.map { try StableDiffusion(directory: $0) } ?? DefaultModel.load()
        let runner = try SwapBenchRunner(model: sd, config: config)
        print("swapscript bench swap  n=\(n) m=\(m) seed=\(seed)  shard \(shard): \(jobs.count) of \(config.jobs.count) jobs  threads \(threads)")
        if jobs.contains(where: { SwapBenchTarget.candidates[$0.target].isHeldOut && !done.contains($0.id) }) {
            try runner.learnConcepts { print($0) }
            print(String(format: "customized concepts learned in %.1f s", runner.conceptSeconds))
        }
        var rows: [SwapBenchRow] = []
        for job in jobs where !done.contains(job.id) {
            let row = try runner.run(job)
            rows.append(row)
            if let out { try SwapBenchResults.append(row, to: out) }
            print(String(format: "job %d  scene %d  %@ → %@  %@  fg %d/%d  psnr %.2f  ssim %.4f  mse %.5f  %.2f s",
                         row.job, row.scene, row.sourcePrompt, row.targetPrompt, row.method, row.fgAttribute, row.fgFull,
                         row.bgPSNR, row.bgSSIM, row.bgMSE, row.seconds))
        }
        let all = out.map { try? SwapBenchResults.read($0) }.flatMap { $0 } ?? rows
        let table = SwapBenchTable(rows: all)
        print(markdown ? table.markdown : table.text, terminator: "")
    }
}
