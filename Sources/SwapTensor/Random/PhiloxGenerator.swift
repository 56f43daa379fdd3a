// Philox4x32-10 counter-based generator (Salmon et al., SC'11; Random123), SwapScript's own implementation.

import Dispatch

/// A stable, counter-based random generator built on Philox4x32-10.
///
/// `PhiloxGenerator` is a **struct** (value semantics): copying it copies the position, and
/// two copies then produce the same numbers. It is `Sendable`.
///
/// **Addressing.** Key = `seed` (low word, high word). The generator's stream is a sequence of
/// elements; element `e` comes from the Philox block with counter
/// `(lo32(e / 4), hi32(e / 4), lo32(stream), hi32(stream))`, lane `e % 4`. `offset` is the
/// index of the next element; every request of `n` values consumes elements
/// `offset ..< offset + n`, so `normal(5)` then `normal(7)` equals `normal(12)`, and the value
/// of an element never depends on how a request is split into chunks or threads.
/// * uniform element `e`: `Float(word >> 8) * 2^-24` in `[0, 1)` (24 random bits);
/// * normal element `e`: block `e / 4` holds two Box–Muller pairs, words (0, 1) and (2, 3);
///   with `u1 = 1 - u(w_even)` in `(0, 1]` and `θ = 2π·u(w_odd)`, elements `4b + 2p` and
///   `4b + 2p + 1` are `√(-2 ln u1)·cos θ` and `√(-2 ln u1)·sin θ`. Logarithm and sine/cosine are
///   fixed float32 polynomials evaluated in pure Swift with explicit FMAs, so results are
///   bit-identical on every IEEE-754 platform (no libm involved). With 24-bit uniforms the
///   largest attainable |value| is √(2·24·ln 2) ≈ 5.77.
///
/// **Substreams.** `fork(stream:)` derives an independent generator (same seed, a new stream id
/// hashed from this generator's stream and the argument), starting at offset 0. Forking neither
/// reads nor advances `offset`, so `base.fork(stream: UInt64(step)).randn(shape)` gives
/// reproducible per-iteration noise however the loop is scheduled.
public struct PhiloxGenerator: Sendable, Hashable {
    public let seed: UInt64
    public let stream: UInt64
    /// Index of the next element this generator hands out.
    public var offset: UInt64

    /// Requests of at least this many elements are filled in parallel chunks.
    public static let parallelThreshold = 1 << 16
    /// Elements per parallel chunk (a multiple of 16, so chunks start on whole blocks).
    public static let chunkSize = 1 << 14

    public init(seed: UInt64, stream: UInt64 = 0, offset: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
        self.offset = offset
    }

    // MARK: Philox4x32-10 block function

    /// One Philox4x32-10 evaluation: counter (4 words) and key (2 words) to 4 random words.
    @inlinable @inline(__always)
    public static func philox4x32_10(_ counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3]
        var k0 = key[0], k1 = key[1]
        for round in 0..<10 {
            if round > 0 { k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85 }
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            c0 = n0; c1 = UInt32(truncatingIfNeeded: p1)
            c2 = n2; c3 = UInt32(truncatingIfNeeded: p0)
        }
        return SIMD4(c0, c1, c2, c3)
    }

    @inline(__always) var key: SIMD2<UInt32> {
        SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
    }

    /// The four raw words of block `block` of this generator's stream.
    @inline(__always)
    public func block(_ block: UInt64) -> SIMD4<UInt32> {
        Self.philox4x32_10(SIMD4(UInt32(truncatingIfNeeded: block), UInt32(truncatingIfNeeded: block >> 32),
                                 UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)),
                           key: key)
    }

    // MARK: Substreams

    /// An independent generator for substream `stream` of this one (same seed, offset 0).
    public func fork(stream child: UInt64) -> PhiloxGenerator {
        // Hash (parent stream, child id) with Philox under a domain-separated key.
        let words = Self.philox4x32_10(
            SIMD4(UInt32(truncatingIfNeeded: child), UInt32(truncatingIfNeeded: child >> 32),
                  UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)),
            key: key ^ SIMD2(0x464F_524B, 0x5357_4150))  // "FORK", "SWAP"
        return PhiloxGenerator(seed: seed, stream: UInt64(words[0]) | (UInt64(words[1]) << 32))
    }

    // MARK: Element kernels (pure functions of (key, stream, element index))

    /// `Float(w >> 8) * 2^-24` per lane, exactly, without per-lane int→float conversion:
    /// the top 23 bits via the 2^23 mantissa trick, the 24th bit added separately (all exact).
    @inline(__always) static func unit(_ w: SIMD8<UInt32>) -> SIMD8<Float> {
        let high = BoxMullerAVX2.smallIntToFloat(w &>> 9)
        let low = BoxMullerAVX2.smallIntToFloat((w &>> 8) & 1)
        return (high * 2 + low) * 0x1p-24
    }

    /// Writes normal elements `16g ..< 16g + 16` (blocks 4g ..< 4g + 4) to `out`.
    @inline(__always)
    func normalGroup(_ g: UInt64, _ out: UnsafeMutablePointer<Float>) {
        let b0 = block(4 &* g), b1 = block(4 &* g &+ 1), b2 = block(4 &* g &+ 2), b3 = block(4 &* g &+ 3)
        // Lane k = 2·(block within group) + pair: even words feed the radius, odd words the angle.
        let even = SIMD8(b0[0], b0[2], b1[0], b1[2], b2[0], b2[2], b3[0], b3[2])
        let odd = SIMD8(b0[1], b0[3], b1[1], b1[3], b2[1], b2[3], b3[1], b3[3])
        let u1 = SIMD8<Float>(repeating: 1) - Self.unit(even)
        let radius = BoxMullerAVX2.sqrt(BoxMullerAVX2.log(u1) * -2)
        let (s, c) = BoxMullerAVX2.sincos(SIMD8<Float>(repeating: Float(2.0 * Double.pi)) * Self.unit(odd))
        let cosv = radius * c, sinv = radius * s
        for k in 0..<8 {
            out[2 * k] = cosv[k]
            out[2 * k + 1] = sinv[k]
        }
    }

    /// Writes uniform elements `16g ..< 16g + 16` to `out`.
    @inline(__always)
    func uniformGroup(_ g: UInt64, _ out: UnsafeMutablePointer<Float>) {
        let b0 = block(4 &* g), b1 = block(4 &* g &+ 1), b2 = block(4 &* g &+ 2), b3 = block(4 &* g &+ 3)
        let raw = UnsafeMutableRawPointer(out)
        raw.storeBytes(of: Self.unit(SIMD8(lowHalf: b0, highHalf: b1)), as: SIMD8<Float>.self)
        raw.storeBytes(of: Self.unit(SIMD8(lowHalf: b2, highHalf: b3)), toByteOffset: 32, as: SIMD8<Float>.self)
    }

    enum Kind: Sendable { case normal, uniform }

    /// Serially writes elements `start ..< start + count` of kind `group` to `out`.
    @inline(__always)
    func fillRange(start: UInt64, count: Int, into out: UnsafeMutablePointer<Float>, kind: Kind) {
        guard count > 0 else { return }
        @inline(__always) func write(_ g: UInt64, _ p: UnsafeMutablePointer<Float>) {
            switch kind {
            case .normal: normalGroup(g, p)
            case .uniform: uniformGroup(g, p)
            }
        }
        var e = start
        let end = start &+ UInt64(count)
        var scratch = SIMD16<Float>()
        while e < end {
            let g = e / 16
            let first = Int(e - g * 16)
            let take = Int(min(16 - UInt64(first), end - e))
            let dst = out + Int(e - start)
            if first == 0 && take == 16 {
                write(g, dst)
            } else {
                withUnsafeMutableBytes(of: &scratch) { raw in
                    let tmp = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                    write(g, tmp)
                    dst.update(from: tmp + first, count: take)
                }
            }
            e &+= UInt64(take)
        }
    }

    /// Fills `out[0..<count]` with elements `start ..< start + count`, in chunks of `chunk`
    /// elements run concurrently when `parallel` is set. The result does not depend on
    /// `chunk` or `parallel` (tests check this bit for bit).
    func fill(start: UInt64, count: Int, into out: UnsafeMutablePointer<Float>, chunk: Int, parallel: Bool,
              kind: Kind) {
        precondition(chunk > 0)
        let chunks = (count + chunk - 1) / chunk
        if !parallel || chunks <= 1 {
            var done = 0
            while done < count {
                let n = min(chunk, count - done)
                fillRange(start: start &+ UInt64(done), count: n, into: out + done, kind: kind)
                done += n
            }
            return
        }
        let base = SendablePointer(pointer: out)
        let generator = self
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * chunk
            let n = min(chunk, count - lo)
            generator.fillRange(start: start &+ UInt64(lo), count: n, into: base.pointer + lo, kind: kind)
        }
    }

    // MARK: Public sampling

    /// Fills `buffer` with the next `buffer.count` standard-normal elements.
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>) {
        guard let base = buffer.baseAddress else { return }
        fill(start: offset, count: buffer.count, into: base, chunk: Self.chunkSize,
             parallel: buffer.count >= Self.parallelThreshold, kind: .normal)
        offset &+= UInt64(buffer.count)
    }

    /// Fills `buffer` with the next `buffer.count` uniform elements in `[0, 1)`.
    public mutating func fillUniform(_ buffer: UnsafeMutableBufferPointer<Float>) {
        guard let base = buffer.baseAddress else { return }
        fill(start: offset, count: buffer.count, into: base, chunk: Self.chunkSize,
             parallel: buffer.count >= Self.parallelThreshold, kind: .uniform)
        offset &+= UInt64(buffer.count)
    }

    /// The next `count` standard-normal values.
    public mutating func normal(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, initialized in
            fillNormal(buf)
            initialized = count
        }
    }

    /// The next `count` uniform values in `[0, 1)`.
    public mutating func uniform(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, initialized in
            fillUniform(buf)
            initialized = count
        }
    }

    /// A tensor of standard-normal values (the next `shape.product` elements, row-major).
    public mutating func randn(_ shape: [Int]) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { fillNormal($0) }
        return t
    }

    /// A tensor of uniform values in `[0, 1)`.
    public mutating func rand(_ shape: [Int]) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { fillUniform($0) }
        return t
    }
}

/// A raw pointer handed to `concurrentPerform` workers that write disjoint ranges.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
}
