import Foundation

// A minimal reader of ZIP archives (PKWARE APPNOTE.TXT 6.3: end of central directory, its ZIP64
// record and locator, central directory entries, local file headers), enough for the archives
// `torch.save` writes (stored entries, 64-byte aligned, with ZIP64 records). Deflated entries
// are inflated with `Gzip`'s inflater; other methods and encrypted entries are refused.

/// An error reading a ZIP archive: names the archive and what is wrong.
public struct ZipError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "zip: \(message)" }
}

/// The entries of one ZIP archive held in memory.
public struct ZipArchive {
    struct Entry {
        var method: Int, flags: Int
        var compressedSize: Int, size: Int
        var headerOffset: Int
    }

    let bytes: [UInt8]
    let entries: [String: Entry]
    /// The entry names in central-directory order.
    public let names: [String]

    /// Whether `bytes` start with a ZIP local file header.
    public static func isZip(_ bytes: [UInt8]) -> Bool { bytes.count >= 4 && bytes[0] == 0x50 && bytes[1] == 0x4b && bytes[2] == 3 && bytes[3] == 4 }

    public init(bytes: [UInt8]) throws {
        self.bytes = bytes
        func u16(_ p: Int) throws -> Int {
            guard p >= 0, p + 2 <= bytes.count else { throw ZipError("truncated at byte \(p)") }
            return Int(bytes[p]) | Int(bytes[p + 1]) << 8
        }
        func u32(_ p: Int) throws -> Int { try u16(p) | u16(p + 2) << 16 }
        func u64(_ p: Int) throws -> Int {
            let high = try u32(p + 4)
            guard high < 1 << 31 else { throw ZipError("64-bit field at byte \(p) is too large") }
            return try u32(p) | high << 32
        }
        // End of central directory: the last "PK\5\6" within 64 KiB + 22 bytes of the end.
        var eocd = -1
        var p = bytes.count - 22
        while p >= max(0, bytes.count - 22 - 65_535) {
            if bytes[p] == 0x50, bytes[p + 1] == 0x4b, bytes[p + 2] == 5, bytes[p + 3] == 6 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw ZipError("no end-of-central-directory record (not a zip archive)") }
        var count = try u16(eocd + 10), directory = try u32(eocd + 16)
        if count == 0xFFFF || directory == 0xFFFF_FFFF {
            let locator = eocd - 20
            guard locator >= 0, try u32(locator) == 0x0706_4b50 else { throw ZipError("ZIP64 sizes without a ZIP64 locator") }
            let record = try u64(locator + 8)
            guard try u32(record) == 0x0606_4b50 else { throw ZipError("bad ZIP64 end-of-central-directory record at byte \(record)") }
            count = try u64(record + 32)
            directory = try u64(record + 48)
        }
        var entries: [String: Entry] = [:], names: [String] = []
        p = directory
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4b50 else { throw ZipError("bad central directory entry at byte \(p)") }
            let nameLength = try u16(p + 28), extraLength = try u16(p + 30), commentLength = try u16(p + 32)
            guard p + 46 + nameLength <= bytes.count else { throw ZipError("truncated central directory") }
            let name = String(decoding: bytes[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            var entry = Entry(method: try u16(p + 10), flags: try u16(p + 8), compressedSize: try u32(p + 20),
                              size: try u32(p + 24), headerOffset: try u32(p + 42))
            // ZIP64 extended information: the 0xFFFFFFFF fields, in order.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try u16(e), length = try u16(e + 2)
                if id == 1 {
                    var q = e + 4
                    if entry.size == 0xFFFF_FFFF { entry.size = try u64(q); q += 8 }
                    if entry.compressedSize == 0xFFFF_FFFF { entry.compressedSize = try u64(q); q += 8 }
                    if entry.headerOffset == 0xFFFF_FFFF { entry.headerOffset = try u64(q) }
                }
                e += 4 + length
            }
            entries[name] = entry
            names.append(name)
            p = extraEnd + commentLength
        }
        self.entries = entries
        self.names = names
    }

    /// The contents of entry `name`.
    public func data(_ name: String) throws -> [UInt8] {
        guard let entry = entries[name] else { throw ZipError("no entry '\(name)'") }
        guard entry.flags & 1 == 0 else { throw ZipError("entry '\(name)' is encrypted") }
        let h = entry.headerOffset
        guard h >= 0, h + 30 <= bytes.count, bytes[h] == 0x50, bytes[h + 1] == 0x4b, bytes[h + 2] == 3, bytes[h + 3] == 4 else {
            throw ZipError("bad local header of '\(name)' at byte \(h)")
        }
        let start = h + 30 + (Int(bytes[h + 26]) | Int(bytes[h + 27]) << 8) + (Int(bytes[h + 28]) | Int(bytes[h + 29]) << 8)
        guard start + entry.compressedSize <= bytes.count else { throw ZipError("entry '\(name)' runs past the end of the archive") }
        let raw = Array(bytes[start..<(start + entry.compressedSize)])
        switch entry.method {
        case 0:
            return raw
        case 8:
            var out: [UInt8] = []
            var reader = Gzip.BitReader(bytes: raw, position: 0)
            do { try Gzip.inflate(&reader, into: &out) } catch { throw ZipError("entry '\(name)': \(error)") }
            guard out.count == entry.size else { throw ZipError("entry '\(name)' inflates to \(out.count) bytes, expected \(entry.size)") }
            return out
        default:
            throw ZipError("entry '\(name)' uses compression method \(entry.method) (only stored and deflated entries are read)")
        }
    }
}
