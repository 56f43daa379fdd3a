import CBLAS
import Foundation
import Synchronization

/// Thread control for every kernel in SwapTensor.
///
/// Work is split so that results never depend on the thread count: elementwise loops write
/// disjoint outputs, reductions combine fixed-size chunks in a fixed order, and GEMMs are cut
/// into fixed panels (see `BLAS`). OpenBLAS itself always runs single-threaded.
public enum Parallel {
    nonisolated(unsafe) private static var configuredThreads: Int = {
        let fromEnvironment = ProcessInfo.processInfo.environment["SWAPSCRIPT_THREADS"].flatMap { Int($0) }
        return max(1, fromEnvironment ?? ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// The number of threads kernels may use (at least 1).
    public static var threadCount: Int {
        get { configuredThreads }
        set { configuredThreads = max(1, newValue) }
    }

    /// Pins OpenBLAS to one thread, once.
    static let blasPinned: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    static func ensureSingleThreadedBLAS() { _ = blasPinned }

    /// Runs `body` over `0..<count` split into contiguous ranges of at least `grain` items,
    /// one range per thread. Use it only where each index writes its own outputs.
    public static func forEach(_ count: Int, grain: Int = 4096, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let pieces = min(threadCount, (count + grain - 1) / max(grain, 1))
        // One piece, or nested inside another job (or racing one): this thread runs the whole
        // range, which gives the same results because every index writes its own outputs.
        if pieces <= 1 || !pool(threads: threadCount).run(count: count, pieces: pieces, body) {
            body(0..<count)
        }
    }

    /// Runs `body(task)` for every task in `0..<count`, each claimed separately by whichever
    /// thread is free, so uneven tasks or unevenly fast threads balance out. Use it where tasks
    /// are few and large (GEMM panels) and each writes its own outputs.
    public static func forEachTask(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        func run(_ range: Range<Int>) { for task in range { body(task) } }
        if count == 1 || threadCount == 1 || !pool(threads: threadCount).run(count: count, pieces: count, run) {
            run(0..<count)
        }
    }

    /// One pool per thread count in use (a pool for n threads has n − 1 workers).
    private static let pools = Mutex<[Int: WorkerPool]>([:])

    static func pool(threads: Int) -> WorkerPool {
        pools.withLock { pools in
            if let pool = pools[threads] { return pool }
            let pool = WorkerPool(workers: threads - 1)
            pools[threads] = pool
            return pool
        }
    }

    /// Sums `count` terms, each produced by `term(range)` over fixed chunks of `chunk` items, and
    /// adds the chunk sums in index order. The chunking never depends on the thread count, so the
    /// result is bit-identical for any number of threads.
    public static func deterministicSum(_ count: Int, chunk: Int = 16384, _ term: (Range<Int>) -> Double) -> Double {
        let chunks = (count + chunk - 1) / chunk
        if chunks <= 1 { return count > 0 ? term(0..<count) : 0 }
        var partial = [Double](repeating: 0, count: chunks)
        partial.withUnsafeMutableBufferPointer { partial in
            let out = partial.baseAddress!
            forEach(chunks, grain: 1) { range in
                for c in range { out[c] = term(c * chunk..<min(count, (c + 1) * chunk)) }
            }
        }
        return partial.reduce(0, +)
    }
}
