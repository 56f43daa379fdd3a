#if canImport(Glibc)
import Glibc
#endif

/// glibc's allocator hands every block above its mmap threshold (dynamically 128 KiB … 32 MiB)
/// to mmap and unmaps it on free, and trims the heap top beyond 2× that. A UNet forward makes
/// thousands of multi-megabyte activations, so each one paid page faults and kernel page
/// zeroing (about a fifth of an SD 1.5 forward, and a higher peak RSS). Raising both thresholds
/// once, with a single arena, lets freed activation blocks be reused. Set `SWAPSCRIPT_MALLOC_TUNING=0` to keep glibc's defaults.
let mallocTuning: Void = {
    #if canImport(Glibc)
    // mallopt is declared in <malloc.h>, which the Glibc module does not export: look it up.
    // Parameter numbers from <malloc.h>: M_TRIM_THRESHOLD −1, M_MMAP_THRESHOLD −3, M_ARENA_MAX −8.
    guard getenv("SWAPSCRIPT_MALLOC_TUNING").map({ String(cString: $0) }) != "0",
          let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    _ = mallopt(-3, 512 << 20)
    _ = mallopt(-1, 1 << 30)
    // One arena: worker threads allocate only small scratch blocks, and per-thread arenas would
    // each keep their own freed blocks resident (peak RSS varied by ~0.4 GiB at SD 1.5 size).
    _ = mallopt(-8, 1)
    #endif
}()

/// The heap buffer behind a `Tensor`: a 64-byte aligned block of Float32 values.
///
/// Storage is a reference type; `Tensor` gives it value semantics through copy-on-write.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Allocates uninitialised storage for `count` floats.
    public init(uninitializedCount count: Int) {
        self.count = count
        mallocTuning
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride,
                                                   alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Allocates storage filled with `value`.
    public convenience init(count: Int, repeating value: Float) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    /// A deep copy of this storage.
    public func copy() -> TensorStorage {
        let result = TensorStorage(uninitializedCount: count)
        result.pointer.update(from: pointer, count: count)
        return result
    }

    deinit { pointer.deallocate() }
}
