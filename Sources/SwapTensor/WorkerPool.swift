import Foundation
import Synchronization

/// The threads behind `Parallel.forEach`: `workers` persistent threads that spin briefly
/// between jobs, so the small kernels of small models (the default model's UNet runs hundreds of
/// them per call, most of a few microseconds) do not pay a sleeping thread's wake-up for each.
///
/// A job is `pieces` fixed ranges of `0..<count`; the caller and the workers claim pieces from a
/// shared counter, and the caller returns once every worker has acknowledged the job. Which
/// thread runs a piece never changes what the piece computes, so results stay bit-identical
/// for any thread count (see `Parallel`).
final class WorkerPool: @unchecked Sendable {
    let workers: Int
    /// Bumped once per job; a worker runs each generation exactly once.
    private let generation = Atomic<Int>(0)
    private let nextPiece = Atomic<Int>(0)
    /// Workers done with the current generation.
    private let acknowledged = Atomic<Int>(0)
    /// Workers blocked on `wake` rather than spinning.
    private let sleeping = Atomic<Int>(0)
    /// Set while a job runs; a nested or concurrent call runs inline instead.
    private let busy = Atomic<Bool>(false)
    private let wake = NSCondition()
    // The job, written by the caller before it bumps `generation` and read by workers after.
    private nonisolated(unsafe) var body: ((Range<Int>) -> Void)?
    private nonisolated(unsafe) var count = 0
    private nonisolated(unsafe) var pieces = 0

    /// Spins (each a relaxed load) before a worker yields, and yields before it sleeps: about a
    /// millisecond of polling in all, longer than the gaps between a model's kernels.
    static let spinsBeforeYield = 2_000, yieldsBeforeSleep = 200

    init(workers: Int) {
        self.workers = workers
        for index in 0..<workers {
            let thread = Thread { [unowned self] in self.workerLoop() }
            thread.name = "swapscript.worker.\(index + 1)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Runs `body` over the `pieces` ranges `count·p/pieces ..< count·(p+1)/pieces`.
    /// Returns false (having run nothing) when the pool is already running a job.
    func run(count: Int, pieces: Int, _ body: (Range<Int>) -> Void) -> Bool {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.count = count
            self.pieces = pieces
            nextPiece.store(0, ordering: .relaxed)
            acknowledged.store(0, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
                wake.lock()
                wake.broadcast()
                wake.unlock()
            }
            drain()
            var spins = 0
            while acknowledged.load(ordering: .acquiring) < workers {
                spins += 1
                if spins > Self.spinsBeforeYield { sched_yield() }
            }
            self.body = nil
        }
        return true
    }

    /// Claims and runs pieces of the current job until none is left.
    private func drain() {
        guard let body else { return }
        let (count, pieces) = (self.count, self.pieces)
        while true {
            let p = nextPiece.add(1, ordering: .relaxed).oldValue
            if p >= pieces { return }
            let start = count * p / pieces, end = count * (p + 1) / pieces
            if start < end { body(start..<end) }
        }
    }

    private func workerLoop() {
        var seen = 0
        while true {
            var spins = 0, yields = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins < Self.spinsBeforeYield { continue }
                if yields < Self.yieldsBeforeSleep {
                    yields += 1
                    sched_yield()
                    continue
                }
                wake.lock()
                sleeping.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                sleeping.subtract(1, ordering: .sequentiallyConsistent)
                wake.unlock()
            }
            seen = generation.load(ordering: .acquiring)
            drain()
            acknowledged.add(1, ordering: .releasing)
        }
    }
}
