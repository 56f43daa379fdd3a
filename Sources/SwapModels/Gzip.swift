// A small gzip (RFC 1952) / DEFLATE (RFC 1951) decoder, enough to read the CLIP BPE merges
// file (`bpe_simple_vocab_16e6.txt.gz`) without linking zlib. Canonical Huffman codes are
// decoded bit by bit from per-length counts (the classic "puff" approach): slower than a
// table decoder, but a 3 MB file still inflates in a few tens of milliseconds.

/// An error reading a gzip stream: says what is wrong and at which byte.
public struct GzipError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "gzip: \(message)" }
}

/// gzip decompression.
public enum Gzip {
    /// Decompresses every member of a gzip file and checks each CRC-32 and length.
    public static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3)
        var position = 0
        repeat {
            position = try member(bytes, at: position, into: &out)
        } while position < bytes.count && bytes[position] == 0x1f
        return out
    }

    /// Whether `bytes` start with the gzip magic number.
    public static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b }

    /// Reads one member starting at `start`, appends its data, returns the offset after it.
    private static func member(_ bytes: [UInt8], at start: Int, into out: inout [UInt8]) throws -> Int {
        guard bytes.count - start >= 18, bytes[start] == 0x1f, bytes[start + 1] == 0x8b else {
            throw GzipError("not a gzip stream at byte \(start)")
        }
        guard bytes[start + 2] == 8 else { throw GzipError("unsupported compression method \(bytes[start + 2])") }
        let flags = bytes[start + 3]
        var p = start + 10
        func need(_ n: Int) throws { if p + n > bytes.count { throw GzipError("truncated header") } }
        if flags & 4 != 0 {  // FEXTRA
            try need(2)
            let length = Int(bytes[p]) | Int(bytes[p + 1]) << 8
            p += 2
            try need(length)
            p += length
        }
        for flag in [UInt8(8), 16] where flags & flag != 0 {  // FNAME, FCOMMENT: zero-terminated
            while true {
                try need(1)
                p += 1
                if bytes[p - 1] == 0 { break }
            }
        }
        if flags & 2 != 0 { try need(2); p += 2 }  // FHCRC
        let begin = out.count
        var reader = BitReader(bytes: bytes, position: p)
        try inflate(&reader, into: &out)
        p = reader.position
        guard p + 8 <= bytes.count else { throw GzipError("truncated trailer") }
        let crc = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
        let size = UInt32(bytes[p + 4]) | UInt32(bytes[p + 5]) << 8 | UInt32(bytes[p + 6]) << 16 | UInt32(bytes[p + 7]) << 24
        let produced = out.count - begin
        guard UInt32(truncatingIfNeeded: produced) == size else {
            throw GzipError("length mismatch: trailer says \(size) bytes, inflated \(produced)")
        }
        let actual = out.withUnsafeBufferPointer { crc32(UnsafeBufferPointer(rebasing: $0[begin...])) }
        guard actual == crc else { throw GzipError("CRC-32 mismatch (data corrupt)") }
        return p + 8
    }

    // MARK: DEFLATE

    struct BitReader {
        let bytes: [UInt8]
        var position: Int
        var buffer: UInt32 = 0
        var count = 0

        init(bytes: [UInt8], position: Int) {
            self.bytes = bytes
            self.position = position
        }

        mutating func bits(_ n: Int) throws -> Int {
            while count < n {
                guard position < bytes.count else { throw GzipError("truncated deflate data") }
                buffer |= UInt32(bytes[position]) << UInt32(count)
                position += 1
                count += 8
            }
            let value = Int(buffer & ((1 << UInt32(n)) - 1))
            buffer >>= UInt32(n)
            count -= n
            return value
        }

        mutating func alignToByte() { buffer = 0; count = 0 }
    }

    /// A canonical Huffman code as symbol counts per length and symbols in code order.
    struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int]

        init(lengths: [Int]) throws {
            symbols = [Int](repeating: 0, count: lengths.count)
            for l in lengths { counts[l] += 1 }
            counts[0] = 0
            var left = 1
            for len in 1..<16 {
                left <<= 1
                left -= counts[len]
                if left < 0 { throw GzipError("over-subscribed Huffman code") }
            }
            var offsets = [Int](repeating: 0, count: 16)
            for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
            for (symbol, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = symbol
                offsets[l] += 1
            }
        }

        func decode(_ r: inout BitReader) throws -> Int {
            var code = 0, first = 0, index = 0
            for len in 1..<16 {
                code |= try r.bits(1)
                let n = counts[len]
                if code - n < first { return symbols[index + (code - first)] }
                index += n
                first += n
                first <<= 1
                code <<= 1
            }
            throw GzipError("invalid Huffman code")
        }
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
                             67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                               1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10,
                                11, 11, 12, 12, 13, 13]

    static func inflate(_ r: inout BitReader, into out: inout [UInt8]) throws {
        let memberStart = out.count
        var last = false
        while !last {
            last = try r.bits(1) == 1
            switch try r.bits(2) {
            case 0:
                r.alignToByte()
                guard r.position + 4 <= r.bytes.count else { throw GzipError("truncated stored block") }
                let len = Int(r.bytes[r.position]) | Int(r.bytes[r.position + 1]) << 8
                let nlen = Int(r.bytes[r.position + 2]) | Int(r.bytes[r.position + 3]) << 8
                guard len == (~nlen & 0xffff) else { throw GzipError("stored block length check failed") }
                r.position += 4
                guard r.position + len <= r.bytes.count else { throw GzipError("truncated stored block") }
                out.append(contentsOf: r.bytes[r.position..<(r.position + len)])
                r.position += len
            case 1:
                var lengths = [Int](repeating: 8, count: 288)
                for i in 144..<256 { lengths[i] = 9 }
                for i in 256..<280 { lengths[i] = 7 }
                try codes(&r, &out, literal: Huffman(lengths: lengths),
                          distance: Huffman(lengths: [Int](repeating: 5, count: 30)), memberStart: memberStart)
            case 2:
                let (literal, distance) = try dynamicTables(&r)
                try codes(&r, &out, literal: literal, distance: distance, memberStart: memberStart)
            default:
                throw GzipError("invalid deflate block type 3")
            }
        }
    }

    static func dynamicTables(_ r: inout BitReader) throws -> (Huffman, Huffman) {
        let nlen = try r.bits(5) + 257, ndist = try r.bits(5) + 1, ncode = try r.bits(4) + 4
        guard nlen <= 286, ndist <= 30 else { throw GzipError("bad dynamic block counts") }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var codeLengths = [Int](repeating: 0, count: 19)
        for i in 0..<ncode { codeLengths[order[i]] = try r.bits(3) }
        let lengthCode = try Huffman(lengths: codeLengths)
        var lengths: [Int] = []
        while lengths.count < nlen + ndist {
            let symbol = try lengthCode.decode(&r)
            switch symbol {
            case 0..<16: lengths.append(symbol)
            case 16:
                guard let previous = lengths.last else { throw GzipError("repeat with no previous length") }
                lengths += [Int](repeating: previous, count: 3 + (try r.bits(2)))
            case 17: lengths += [Int](repeating: 0, count: 3 + (try r.bits(3)))
            default: lengths += [Int](repeating: 0, count: 11 + (try r.bits(7)))
            }
        }
        guard lengths.count == nlen + ndist else { throw GzipError("code lengths overrun") }
        return (try Huffman(lengths: Array(lengths[0..<nlen])), try Huffman(lengths: Array(lengths[nlen...])))
    }

    static func codes(_ r: inout BitReader, _ out: inout [UInt8], literal: Huffman, distance: Huffman,
                      memberStart: Int) throws {
        while true {
            let symbol = try literal.decode(&r)
            if symbol < 256 {
                out.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let li = symbol - 257
                guard li < 29 else { throw GzipError("invalid length symbol \(symbol)") }
                let length = lengthBase[li] + (try r.bits(lengthExtra[li]))
                let di = try distance.decode(&r)
                guard di < 30 else { throw GzipError("invalid distance symbol \(di)") }
                let dist = distanceBase[di] + (try r.bits(distanceExtra[di]))
                guard dist <= out.count - memberStart else { throw GzipError("distance \(dist) reaches before the start") }
                let from = out.count - dist
                for i in 0..<length { out.append(out[from + i]) }
            }
        }
    }

    // MARK: CRC-32

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 (IEEE, as in gzip and zlib).
    public static func crc32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xffff_ffff
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xffff_ffff
    }
}
