// Matches PyTorch aten/src/ATen/CPUGeneratorImpl.cpp, ATen/core/MT19937RNGEngine.h, ATen/core/DistributionsHelper.h, ATen/core/TransformationHelper.h, aten/src/ATen/native/cpu/DistributionTemplates.h.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A bit-exact re-implementation of PyTorch's default CPU generator (`torch.Generator()` /
/// `torch.manual_seed`), so that noise drawn here equals the noise a PyTorch pipeline draws
/// from the same seed.
///
/// `TorchGenerator` is a **class** (reference semantics), like `torch.Generator`: every holder
/// of a reference advances the same stream. Use `copy()` for an independent snapshot.
/// Calls are serialised by an internal lock (torch takes a mutex too), so sharing one
/// generator across threads is safe, though the interleaving then decides who gets which numbers.
///
/// What is reproduced (float32 results, verified against torch 2.13 fixtures):
/// * seeding: mt19937 `init_genrand` with the low 32 bits of the seed (torch truncates the
///   same way, so seeds `s` and `s + 2^32` give identical streams);
/// * `randn` for fewer than 16 elements: the scalar double-precision Box–Muller of
///   `at::normal_distribution<double>` (two 64-bit draws per pair, `log1p`, libm `sin`/`cos`),
///   including the cached second sample that survives across calls until the next seeding;
/// * `randn` for 16 or more elements: uniforms for the whole tensor first, then Box–Muller in
///   blocks of 16 (pairs j, j+8) with torch's AVX2 float32 polynomials, and, when the size is
///   not a multiple of 16, 16 fresh uniforms that overwrite and recompute the last 16 values.
///   This path neither reads nor clears the cached normal;
/// * `rand`: one 32-bit draw per element, 24-bit mantissa;
/// * `randint`: `draw % range + low`, with a 64-bit draw when `range >= 2^28`.
///
/// The small-tensor path calls the platform libm (`log1p`, `sin`, `cos`) exactly like torch
/// does, so it is bit-exact against torch running on the same C library (glibc here).
/// The large path is pure Swift arithmetic and matches torch's AVX2/AVX-512 kernels
/// everywhere; torch forced to `ATEN_CPU_CAPABILITY=default` (no AVX2) would differ in last bits.
public final class TorchGenerator: @unchecked Sendable {
    static let stateSize = 624
    /// The seed this generator was last seeded with (`torch.Generator.initial_seed()`).
    public private(set) var initialSeed: UInt64
    private let state: UnsafeMutablePointer<UInt32>
    private var index: Int                 // next state word to temper; 624 = twist first
    private var nextDoubleNormal: Double?  // torch's next_double_normal_sample_
    private let lock = NSLock()

    /// `torch.Generator().manual_seed(seed)`; `seed` defaults to torch's default 67280421310721.
    public init(seed: UInt64 = 67_280_421_310_721) {
        state = .allocate(capacity: Self.stateSize)
        initialSeed = seed
        index = Self.stateSize
        seedState(seed)
    }

    deinit { state.deallocate() }

    /// `generator.manual_seed(seed)`: resets the mt19937 state and drops the cached normal.
    public func manualSeed(_ seed: UInt64) {
        lock.lock(); defer { lock.unlock() }
        initialSeed = seed
        seedState(seed)
    }

    /// An independent generator in exactly this generator's current state.
    public func copy() -> TorchGenerator {
        lock.lock(); defer { lock.unlock() }
        let other = TorchGenerator(seed: initialSeed)
        other.state.update(from: state, count: Self.stateSize)
        other.index = index
        other.nextDoubleNormal = nextDoubleNormal
        return other
    }

    private func seedState(_ seed: UInt64) {
        state[0] = UInt32(truncatingIfNeeded: seed)
        for j in 1..<Self.stateSize {
            let prev = state[j - 1]
            state[j] = 1_812_433_253 &* (prev ^ (prev >> 30)) &+ UInt32(j)
        }
        index = Self.stateSize
        nextDoubleNormal = nil
    }

    // MARK: mt19937

    private func twist() {
        let n = Self.stateSize, m = 397
        @inline(__always) func mix(_ a: UInt32, _ b: UInt32) -> UInt32 {
            let y = (a & 0x8000_0000) | (b & 0x7FFF_FFFF)
            return (y >> 1) ^ ((b & 1) &* 0x9908_B0DF)
        }
        for k in 0..<(n - m) { state[k] = state[k + m] ^ mix(state[k], state[k + 1]) }
        for k in (n - m)..<(n - 1) { state[k] = state[k + m - n] ^ mix(state[k], state[k + 1]) }
        state[n - 1] = state[m - 1] ^ mix(state[n - 1], state[0])
        index = 0
    }

    @inline(__always) private static func temper(_ word: UInt32) -> UInt32 {
        var y = word
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// `CPUGeneratorImpl::random()`.
    @inline(__always) private func next32() -> UInt32 {
        if index == Self.stateSize { twist() }
        let y = state[index]
        index += 1
        return Self.temper(y)
    }

    /// `CPUGeneratorImpl::random64()`: first draw is the high half.
    @inline(__always) private func next64() -> UInt64 {
        let hi = UInt64(next32())
        return (hi << 32) | UInt64(next32())
    }

    /// Writes `count` consecutive `uniform_real_distribution<float>(0, 1)` values.
    private func fillUniform24(_ out: UnsafeMutablePointer<Float>, _ count: Int) {
        var done = 0
        while done < count {
            if index == Self.stateSize { twist() }
            let take = min(Self.stateSize - index, count - done)
            let src = state + index, dst = out + done
            for k in 0..<take {
                dst[k] = Float(Self.temper(src[k]) & 0xFF_FFFF) * 0x1p-24
            }
            index += take
            done += take
        }
    }

    /// `at::normal_distribution<double>(0, 1)` with torch's cached second sample.
    private func nextNormalDouble() -> Double {
        if let cached = nextDoubleNormal {
            nextDoubleNormal = nil
            return cached
        }
        let u1 = Double(next64() & ((1 << 53) - 1)) * 0x1p-53
        let u2 = Double(next64() & ((1 << 53) - 1)) * 0x1p-53
        let r = (-2.0 * log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        nextDoubleNormal = r * sin(theta)
        return r * cos(theta)
    }

    // MARK: Public sampling

    /// Fills `buffer` like `torch.randn` fills a contiguous float32 tensor of that many elements.
    public func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>) {
        lock.lock(); defer { lock.unlock() }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let n = buffer.count
        if n < 16 {
            for i in 0..<n { base[i] = Float(nextNormalDouble()) }
            return
        }
        fillUniform24(base, n)
        var i = 0
        while i + 16 <= n {
            BoxMullerAVX2.fill16(base + i)
            i += 16
        }
        if n % 16 != 0 {
            fillUniform24(base + (n - 16), 16)
            BoxMullerAVX2.fill16(base + (n - 16))
        }
    }

    /// Fills `buffer` like `torch.rand` (uniform in [0, 1), float32).
    public func fillUniform(_ buffer: UnsafeMutableBufferPointer<Float>) {
        lock.lock(); defer { lock.unlock() }
        guard let base = buffer.baseAddress else { return }
        fillUniform24(base, buffer.count)
    }

    /// `torch.randn(shape, generator=g)` (float32).
    public func randn(_ shape: [Int]) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { fillNormal($0) }
        return t
    }

    /// `torch.rand(shape, generator=g)` (float32).
    public func rand(_ shape: [Int]) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { fillUniform($0) }
        return t
    }

    /// `torch.randint(low, high, shape, generator=g)` (int64): values in `low..<high`, row-major.
    public func randint(_ low: Int, _ high: Int, _ shape: [Int]) -> [Int] {
        precondition(low < high, "randint expects low < high, got \(low)..<\(high)")
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        let count = shape.reduce(1, *)
        let range = UInt64(bitPattern: Int64(high)) &- UInt64(bitPattern: Int64(low))
        let base = UInt64(bitPattern: Int64(low))
        lock.lock(); defer { lock.unlock() }
        var result = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let draw = range >= (1 << 28) ? next64() : UInt64(next32())
            result[i] = Int(Int64(bitPattern: draw % range &+ base))
        }
        return result
    }
}

extension Tensor {
    /// `torch.manual_seed(seed); torch.randn(shape)` in float32.
    public static func randn(_ shape: [Int], seed: UInt64) -> Tensor {
        TorchGenerator(seed: seed).randn(shape)
    }

    /// `torch.manual_seed(seed); torch.rand(shape)` in float32.
    public static func rand(_ shape: [Int], seed: UInt64) -> Tensor {
        TorchGenerator(seed: seed).rand(shape)
    }
}
