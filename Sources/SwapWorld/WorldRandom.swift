// A sequential view of a Philox4x32-10 stream (SwapTensor's `PhiloxGenerator`): every draw of a
// scene is a pure function of (seed, stream, draw index), so scenes never depend on threads.

import SwapTensor

/// Sequential uniform draws from one Philox stream, for sampling a scene's layout.
struct WorldRandom {
    private let generator: PhiloxGenerator
    private var block: UInt64 = 0
    private var words = SIMD4<UInt32>()
    private var lane = 4

    /// The stream of scene `seed`; `stream` separates independent uses of one seed.
    init(seed: UInt64, stream: UInt64) {
        generator = PhiloxGenerator(seed: seed, stream: stream)
    }

    /// The next 32 random bits.
    mutating func nextWord() -> UInt32 {
        if lane == 4 {
            words = generator.block(block)
            block &+= 1
            lane = 0
        }
        defer { lane += 1 }
        return words[lane]
    }

    /// A uniform value in [0, 1) with 24 random bits.
    mutating func unit() -> Float {
        Self.unit(nextWord())
    }

    /// A uniform value in `range`.
    mutating func uniform(_ range: ClosedRange<Float>) -> Float {
        range.lowerBound + (range.upperBound - range.lowerBound) * unit()
    }

    /// A uniform index in `0..<count` (`count` > 0); the modulo bias is below 2^-24 for small counts.
    mutating func index(_ count: Int) -> Int {
        Int(nextWord() % UInt32(count))
    }

    /// A uniform element of a non-empty array.
    mutating func pick<T>(_ items: [T]) -> T {
        items[index(items.count)]
    }

    /// True with probability `p`.
    mutating func chance(_ p: Float) -> Bool {
        unit() < p
    }

    /// Block `b` of this stream (four 32-bit words), without advancing: for per-pixel noise,
    /// addressed by pixel index.
    func words(atBlock b: UInt64) -> SIMD4<UInt32> {
        generator.block(b)
    }

    /// A 32-bit word as a uniform value in [0, 1) (24 random bits).
    static func unit(_ word: UInt32) -> Float {
        Float(word >> 8) * 0x1p-24
    }
}
