import Foundation
import Testing
import SwapEditing
import SwapTensor
@testable import SwapWorld

/// `swapscript bench swap` in miniature: N = 1, M = 1 (the held-out "cross", so the customized
/// concept is learned), every method with 2 iterations / 2 DDIM steps on the default model.
@Suite(.serialized) struct SwapBenchTests {
    static func tinyConfig() -> SwapBenchConfig {
        var c = SwapBenchConfig(scenes: 1, targets: 1, seed: 3)
        c.iterations = 2
        c.p2pSteps = 2
        c.ntiInner = 1
        c.conceptSteps = 2
        c.conceptImages = 1
        return c
    }

    @Test func shardsPartitionTheJobs() throws {
        var config = SwapBenchConfig(scenes: 3, targets: 4, seed: 0)
        config.methods = SwapBenchMethod.allCases
        let all = config.jobs
        #expect(all.count == 3 * 4 * SwapBenchMethod.allCases.count)
        #expect(all.map(\.id) == Array(0..<all.count))
        for count in [1, 2, 3, 7, 200] {
            var seen: [Int] = []
            for i in 0..<count { seen += try config.jobs(shard: i, of: count).map(\.id) }
            #expect(seen.sorted() == all.map(\.id), "shards of \(count)")
        }
        #expect(throws: WorldError.self) { try config.jobs(shard: 2, of: 2) }
        #expect(throws: WorldError.self) { try SwapBenchConfig(scenes: 1, targets: 99, seed: 0).validate() }
    }

    @Test func targetsKeepTheOtherAttributes() throws {
        let config = SwapBenchConfig(scenes: 4, targets: 4, seed: 0)
        for s in 0..<4 {
            let o = try #require(config.scene(s).objects.first)
            #expect(config.scene(s).objects.count == 1)
            for t in SwapBenchTarget.candidates {
                let c = t.concept(replacing: o)
                #expect(c.color == o.color)
                #expect(c.shape != o.shape || c.pattern != o.pattern, "a swap changes something")
                #expect((t.attribute == .shape ? c.pattern == o.pattern : c.shape == o.shape))
            }
        }
        #expect(SwapBenchTarget.candidates.prefix(3).filter(\.isHeldOut).count == 2)
    }

    @Test func tinyRunShardsAndMerge() throws {
        let config = Self.tinyConfig()
        let runner = try SwapBenchRunner(model: try DefaultModel.load(), config: config)
        try runner.learnConcepts()
        let (swap, _, _) = try runner.swap(for: config.jobs[0])
        #expect(swap.targetConcept.contains("<cross>"))
        #expect(runner.model.tokenizer.encode(swap.targetPrompt) != runner.base.tokenizer.encode(swap.targetPrompt))

        let folder = NSTemporaryDirectory() + "swapbench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var rows: [SwapBenchRow] = []
        for shard in 0..<3 {
            for job in try config.jobs(shard: shard, of: 3) {
                let row = try runner.run(job)
                try SwapBenchResults.append(row, to: "\(folder)/shard\(shard).jsonl")
                rows.append(row)
            }
        }
        #expect(rows.count == SwapBenchMethod.allCases.count)
        for row in rows {
            #expect(row.bgMSE > 0 && row.bgMSE < 1 && row.bgPSNR.isFinite, "\(row.method)")
            #expect(row.bgSSIM > -1 && row.bgSSIM < 1, "\(row.method)")
            #expect([0, 1].contains(row.fgAttribute) && [0, 1].contains(row.fgFull) && row.fgFull <= row.fgAttribute)
            #expect(row.seconds > 0 && row.unetCalls > 0 && row.heldOut && row.targetConcept.hasSuffix("cross"))
        }
        // SSGU: with 2 iterations k = 1 evaluates the gradient twice, k = 2 and k = 10 once.
        let calls = Dictionary(uniqueKeysWithValues: rows.map { ($0.method, $0.unetCalls) })
        #expect(calls["instantswap_k1"]! == 2 * calls["instantswap_k10"]! && calls["instantswap_k2"] == calls["instantswap_k10"])
        // BGM keeps the latent outside the box: the background is closer to the source with it.
        let bg = Dictionary(uniqueKeysWithValues: rows.map { ($0.method, $0.bgMSE) })
        #expect(bg["instantswap"]! <= bg["instantswap_no_bgm"]!)

        let files = (0..<3).map { "\(folder)/shard\($0).jsonl" }
        let (merged, missing) = try SwapBenchResults.merge(files)
        #expect(missing.isEmpty)
        #expect(merged == rows.sorted { $0.job < $1.job })
        let table = SwapBenchTable(rows: merged)
        #expect(table == SwapBenchTable(rows: rows))
        #expect(table.lines.map(\.method) == SwapBenchMethod.allCases.map(\.rawValue))
        #expect(table.text.split(separator: "\n").count == 1 + SwapBenchMethod.allCases.count)
        #expect(table.markdown.contains("| InstantSwap w/o BGM | 1 |"))
        // A partial merge reports the missing jobs; overlapping shards are refused.
        #expect(try SwapBenchResults.merge(Array(files.prefix(2))).missing == (try config.jobs(shard: 2, of: 3)).map(\.id))
        #expect(throws: WorldError.self) { try SwapBenchResults.merge([files[0], files[0]]) }

        // Same job, same result (the seconds aside).
        let first = try #require(rows.first { $0.job == 1 })
        var again = try runner.run(config.jobs[1])
        again.seconds = first.seconds
        #expect(again == first)
    }
}
