// The safetensors container format: dtypes, errors, tensor entries, header parsing and
// validation.
//
// Layout: an 8-byte little-endian UInt64 `n`, then `n` bytes of UTF-8 JSON (an object mapping
// tensor names to `{"dtype", "shape", "data_offsets"}`, plus an optional `"__metadata__"`
// string→string object), then the data buffer. `data_offsets` are relative to the start of the
// data buffer.
//
// Validation follows the reference implementation (the Rust `safetensors` crate,
// `SafeTensors::read_metadata` and `Metadata::validate`) rule for rule and in the same order:
//   1. the file has at least 8 bytes                                   (.headerTooSmall)
//   2. n ≤ 100 000 000                                                  (.headerTooLarge)
//   3. 8 + n ≤ file size                                                (.invalidHeaderLength)
//   4. the header is valid UTF-8                                        (.invalidUTF8)
//   5. it is one JSON value (whitespace around it allowed)              (.invalidJSON)
//      and that value is an object                                      (.invalidJSON)
//      `__metadata__`, if present and not null, is a string→string object (.invalidMetadata)
//      each other member is an object with `dtype`, `shape`, `data_offsets` (unknown fields are
//      ignored; a duplicated field is an error; like serde, a 3-element array
//      `[dtype, shape, data_offsets]` is also accepted)                  (.invalidEntry)
//      `dtype` names a known dtype                                      (.unknownDtype)
//      `shape` and `data_offsets` hold non-negative integers ≤ UInt64.max, `data_offsets` exactly
//      two                                                              (.invalidEntry)
//      A tensor name that appears twice: the later entry wins (serde's HashMap behaviour).
//   6. entries sorted by (begin, end): each begins where the previous one ended (the first at 0)
//      and has begin ≤ end                                              (.invalidOffset)
//   7. product(shape) × bits(dtype) does not overflow 64 bits, folding left to right
//                                                                       (.validationOverflow)
//   8. the bit count is a whole number of bytes                         (.misalignedSlice)
//   9. end − begin == product(shape) × size(dtype)                       (.sizeMismatch)
//  10. the last end == the size of the data buffer                       (.incompleteBuffer)
//
// Differences from the reference, all on inputs that no real writer produces:
//   * Rule 6 breaks ties between entries with equal offsets by name (the reference's order there
//     depends on hash-map iteration order, so which tensor it names is not deterministic).
//   * A shape whose left-to-right partial products exceed Int.max (possible only with a zero
//     extent, e.g. [0, 2^63]) is rejected with .validationOverflow, because `Tensor` shapes are
//     `[Int]`; the reference accepts it (and torch then fails to build the tensor).
//   * Tensor names are Swift `String`s, so two names that differ only by Unicode normalisation
//     count as the same name (the later one wins, and the earlier one's bytes are then uncovered).
//   * Error messages are our own (they name the file and tensor); the error *kinds* map one to
//     one onto the reference's variants, except that its single "invalid JSON" variant is split
//     into .invalidJSON / .invalidMetadata / .invalidEntry / .unknownDtype.

/// Element types of the safetensors format: every dtype the reference implementation knows.
public enum SafeTensorsDtype: String, CaseIterable, Sendable, Hashable {
    // Declared in the reference's order, which is also its "alignment rank" used to order
    // tensors when writing (larger rank first).
    case bool = "BOOL"
    case f4 = "F4"
    case f6e2m3 = "F6_E2M3"
    case f6e3m2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8e5m2 = "F8_E5M2"
    case f8e4m3 = "F8_E4M3"
    case f8e8m0 = "F8_E8M0"
    case f8e4m3fnuz = "F8_E4M3FNUZ"
    case f8e5m2fnuz = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bits per element.
    public var bitSize: Int {
        switch self {
        case .f4: return 4
        case .f6e2m3, .f6e3m2: return 6
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e8m0, .f8e4m3fnuz, .f8e5m2fnuz: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .c64, .f64, .i64, .u64: return 64
        }
    }

    /// Bytes per element (0 for the sub-byte dtypes F4 / F6).
    public var byteSize: Int { bitSize / 8 }

    /// The position in the reference's declaration order (writers sort by it, descending).
    var rank: Int { Self.allCases.firstIndex(of: self)! }

    /// Whether `SafeTensorsFile.tensor(_:)` can convert this dtype to Float32.
    /// Converted: F32 (copy), F16, BF16 (exact), F64 (rounded to nearest Float), the integer types
    /// (exact up to 2^24 in magnitude, rounded to nearest beyond that), BOOL (0 or 1),
    /// F8_E4M3 and F8_E5M2 (exact). Not converted: F4, F6_*, F8_E8M0, the FNUZ variants and C64
    /// (complex); their raw bytes remain available through `rawBytes`.
    public var convertsToFloat: Bool {
        switch self {
        case .f4, .f6e2m3, .f6e3m2, .f8e8m0, .f8e4m3fnuz, .f8e5m2fnuz, .c64: return false
        default: return true
        }
    }
}

/// Every failure of reading, validating or writing a safetensors file.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Opening, reading, writing, syncing or renaming failed.
        case io
        /// Fewer than 8 bytes (reference: HeaderTooSmall).
        case headerTooSmall
        /// Header size above 100 MB (reference: HeaderTooLarge).
        case headerTooLarge
        /// The header extends past the end of the file (reference: InvalidHeaderLength).
        case invalidHeaderLength
        /// The header is not UTF-8 (reference: InvalidHeader).
        case invalidUTF8
        /// Not JSON, or not a JSON object (reference: InvalidHeaderDeserialization).
        case invalidJSON
        /// `__metadata__` is not a string→string object (reference: InvalidHeaderDeserialization).
        case invalidMetadata
        /// A tensor entry lacks a field, has a duplicated field, or a field of the wrong type
        /// (reference: InvalidHeaderDeserialization).
        case invalidEntry
        /// A dtype name the format does not define (reference: InvalidHeaderDeserialization).
        case unknownDtype
        /// Offsets not contiguous from 0, overlapping, or begin > end (reference: InvalidOffset).
        case invalidOffset
        /// product(shape) × dtype bits overflows (reference: ValidationOverflow).
        case validationOverflow
        /// A sub-byte dtype whose size is not a whole number of bytes (reference: MisalignedSlice).
        case misalignedSlice
        /// The byte range does not match shape × dtype size (reference: TensorInvalidInfo).
        case sizeMismatch
        /// The tensors do not cover the data buffer exactly (reference: MetadataIncompleteBuffer).
        case incompleteBuffer
        /// No tensor of that name (reference: TensorNotFound).
        case tensorNotFound
        /// The dtype has no conversion to Float32.
        case unsupportedConversion
        /// A writer argument is invalid (duplicate or reserved name, dtype not writable).
        case invalidArgument
    }

    public let kind: Kind
    /// The file's name (last path component), or a caller-given label for in-memory buffers.
    public let file: String
    /// The tensor concerned, when there is one.
    public let tensor: String?
    /// What is wrong.
    public let detail: String

    public init(_ kind: Kind, file: String, tensor: String? = nil, _ detail: String) {
        self.kind = kind
        self.file = file
        self.tensor = tensor
        self.detail = detail
    }

    public var description: String {
        if let tensor { return "\(file): tensor '\(tensor)': \(detail)" }
        return "\(file): \(detail)"
    }
}

/// One tensor's header entry.
public struct SafeTensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDtype
    public let shape: [Int]
    /// Byte range relative to the start of the data buffer, as stored in the header.
    public let dataOffsets: Range<Int>
    /// Number of elements (product of `shape`; 1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
    /// Number of bytes of data.
    public var byteCount: Int { dataOffsets.count }
}

/// A parsed and validated header.
struct SafeTensorsHeader {
    static let maxHeaderSize: UInt64 = 100_000_000

    /// Entries in data order (sorted by offsets).
    var entries: [SafeTensorsEntry]
    var index: [String: Int]
    var metadata: [String: String]?
    /// Byte offset of the data buffer from the start of the file (8 + n).
    var dataStart: Int

    /// Parses and validates a whole file's bytes. Never traps; every failure throws.
    static func parse(_ file: UnsafeRawBufferPointer, fileName: String) throws(SafeTensorsError) -> SafeTensorsHeader {
        func error(_ kind: SafeTensorsError.Kind, tensor: String? = nil, _ detail: String) -> SafeTensorsError {
            SafeTensorsError(kind, file: fileName, tensor: tensor, detail)
        }
        guard file.count >= 8 else {
            throw error(.headerTooSmall, "file has \(file.count) bytes, fewer than the 8-byte header size")
        }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(file[k]) << (8 * UInt64(k)) }
        guard n <= maxHeaderSize else {
            throw error(.headerTooLarge, "header size \(n) exceeds the limit of \(maxHeaderSize) bytes")
        }
        let headerLength = Int(n)
        guard 8 + headerLength <= file.count else {
            throw error(.invalidHeaderLength,
                        "header size \(n) runs past the end of the file (\(file.count) bytes)")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: file[8..<(8 + headerLength)])
        if let bad = safeTensorsFirstInvalidUTF8(headerBytes) {
            throw error(.invalidUTF8, "header is not valid UTF-8 (at header byte \(bad))")
        }
        let json: SafeTensorsJSON
        do {
            json = try SafeTensorsJSONParser.parse(headerBytes)
        } catch let e {
            throw error(.invalidJSON, "invalid JSON in header: \(e.message) at header byte \(e.offset)")
        }
        guard case .object(let members) = json else {
            throw error(.invalidJSON, "header is \(json.typeDescription), not a JSON object")
        }

        var metadata: [String: String]? = nil
        var sawMetadata = false
        var entryByName: [String: SafeTensorsRawEntry] = [:]
        for (name, value) in members {
            if name == "__metadata__" {
                if sawMetadata { throw error(.invalidMetadata, "duplicate field `__metadata__`") }
                sawMetadata = true
                metadata = try parseMetadata(value, error: error)
                continue
            }
            entryByName[name] = try parseEntry(name: name, value, error: error)
        }

        // Rule 6 onwards: sort by offsets (ties by name), then check contiguity and sizes.
        var raw = Array(entryByName.values)
        raw.sort { a, b in
            if a.begin != b.begin { return a.begin < b.begin }
            if a.end != b.end { return a.end < b.end }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
        var start: UInt64 = 0
        var entries: [SafeTensorsEntry] = []
        entries.reserveCapacity(raw.count)
        for (i, e) in raw.enumerated() {
            if e.begin != start || e.end < e.begin {
                let why: String
                if e.end < e.begin {
                    why = "data_offsets [\(e.begin), \(e.end)] begin after they end"
                } else if i == 0 {
                    why = "data_offsets [\(e.begin), \(e.end)] must begin at 0 (the first tensor in the data buffer)"
                } else if e.begin < start {
                    why = "data_offsets [\(e.begin), \(e.end)] overlap the previous tensor '\(raw[i - 1].name)', which ends at \(start)"
                } else {
                    why = "data_offsets [\(e.begin), \(e.end)] leave a gap after the previous tensor '\(raw[i - 1].name)', which ends at \(start)"
                }
                throw error(.invalidOffset, tensor: e.name, why)
            }
            start = e.end
            var elements: UInt64 = 1
            for d in e.shape {
                let (p, o) = elements.multipliedReportingOverflow(by: d)
                if o {
                    throw error(.validationOverflow, tensor: e.name,
                                "shape \(e.shape) overflows when computing its size")
                }
                elements = p
            }
            let (bits, o) = elements.multipliedReportingOverflow(by: UInt64(e.dtype.bitSize))
            if o {
                throw error(.validationOverflow, tensor: e.name,
                            "shape \(e.shape) of \(e.dtype.rawValue) overflows when computing its size")
            }
            if bits % 8 != 0 {
                throw error(.misalignedSlice, tensor: e.name,
                            "shape \(e.shape) of \(e.dtype.rawValue) is \(bits) bits, not a whole number of bytes")
            }
            let size = bits / 8
            if e.end - e.begin != size {
                throw error(.sizeMismatch, tensor: e.name,
                            "data_offsets [\(e.begin), \(e.end)] give \(e.end - e.begin) bytes, but shape \(e.shape) of \(e.dtype.rawValue) needs \(size)")
            }
            // Our own extra check: the shape must be representable as [Int] with an Int count.
            var product = 1
            var shape: [Int] = []
            shape.reserveCapacity(e.shape.count)
            for d in e.shape {
                guard d <= UInt64(Int.max) else {
                    throw error(.validationOverflow, tensor: e.name, "shape \(e.shape) has an extent beyond Int.max")
                }
                let (p, o) = product.multipliedReportingOverflow(by: Int(d))
                guard !o else {
                    throw error(.validationOverflow, tensor: e.name, "shape \(e.shape) overflows Int")
                }
                product = p
                shape.append(Int(d))
            }
            // begin/end ≤ data size ≤ file size, so they fit Int once rule 10 holds; checked below.
            entries.append(SafeTensorsEntry(name: e.name, dtype: e.dtype, shape: shape,
                                            dataOffsets: 0..<0))  // filled in below
        }
        let dataSize = UInt64(file.count - 8 - headerLength)
        if start != dataSize {
            throw error(.incompleteBuffer, tensor: raw.last?.name,
                        "tensors cover \(start) bytes of data, but the file holds \(dataSize) bytes after the header")
        }
        // All offsets are now ≤ dataSize, which fits Int.
        var index: [String: Int] = [:]
        for (i, e) in raw.enumerated() {
            entries[i] = SafeTensorsEntry(name: e.name, dtype: e.dtype, shape: entries[i].shape,
                                          dataOffsets: Int(e.begin)..<Int(e.end))
            index[e.name] = i
        }
        return SafeTensorsHeader(entries: entries, index: index, metadata: metadata,
                                 dataStart: 8 + headerLength)
    }

    private static func parseMetadata(
        _ value: SafeTensorsJSON,
        error: (SafeTensorsError.Kind, String?, String) -> SafeTensorsError
    ) throws(SafeTensorsError) -> [String: String]? {
        switch value {
        case .null:
            return nil
        case .object(let pairs):
            var map: [String: String] = [:]
            for (k, v) in pairs {
                guard case .string(let s) = v else {
                    throw error(.invalidMetadata, nil,
                                "`__metadata__` value for key '\(k)' is \(v.typeDescription), expected a string")
                }
                map[k] = s
            }
            return map
        default:
            throw error(.invalidMetadata, nil, "`__metadata__` is \(value.typeDescription), expected an object of strings")
        }
    }

    private static func parseEntry(
        name: String, _ value: SafeTensorsJSON,
        error: (SafeTensorsError.Kind, String?, String) -> SafeTensorsError
    ) throws(SafeTensorsError) -> SafeTensorsRawEntry {
        var dtypeValue: SafeTensorsJSON?
        var shapeValue: SafeTensorsJSON?
        var offsetsValue: SafeTensorsJSON?
        switch value {
        case .object(let fields):
            for (key, v) in fields {
                switch key {
                case "dtype", "shape", "data_offsets":
                    let already: Bool
                    switch key {
                    case "dtype": already = dtypeValue != nil; dtypeValue = v
                    case "shape": already = shapeValue != nil; shapeValue = v
                    default: already = offsetsValue != nil; offsetsValue = v
                    }
                    if already { throw error(.invalidEntry, name, "duplicate field `\(key)`") }
                default:
                    continue  // unknown fields are ignored, as by the reference
                }
            }
        case .array(let items):
            // serde accepts a struct written as a sequence of its fields in declaration order.
            guard items.count == 3 else {
                throw error(.invalidEntry, name, "entry is an array of \(items.count) elements, expected 3 (dtype, shape, data_offsets)")
            }
            dtypeValue = items[0]; shapeValue = items[1]; offsetsValue = items[2]
        default:
            throw error(.invalidEntry, name, "entry is \(value.typeDescription), expected an object with dtype, shape and data_offsets")
        }
        guard let dtypeValue else { throw error(.invalidEntry, name, "missing field `dtype`") }
        guard let shapeValue else { throw error(.invalidEntry, name, "missing field `shape`") }
        guard let offsetsValue else { throw error(.invalidEntry, name, "missing field `data_offsets`") }

        guard case .string(let dtypeName) = dtypeValue else {
            throw error(.invalidEntry, name, "dtype is \(dtypeValue.typeDescription), expected a string")
        }
        guard let dtype = SafeTensorsDtype(rawValue: dtypeName) else {
            throw error(.unknownDtype, name, "unknown dtype '\(dtypeName)'")
        }
        func unsignedList(_ v: SafeTensorsJSON, field: String) throws(SafeTensorsError) -> [UInt64] {
            guard case .array(let items) = v else {
                throw error(.invalidEntry, name, "\(field) is \(v.typeDescription), expected an array of non-negative integers")
            }
            var out: [UInt64] = []
            out.reserveCapacity(items.count)
            for item in items {
                guard case .unsigned(let u) = item else {
                    throw error(.invalidEntry, name, "\(field) holds \(item.typeDescription), expected a non-negative integer")
                }
                out.append(u)
            }
            return out
        }
        let shape = try unsignedList(shapeValue, field: "shape")
        let offsets = try unsignedList(offsetsValue, field: "data_offsets")
        guard offsets.count == 2 else {
            throw error(.invalidEntry, name, "data_offsets has \(offsets.count) elements, expected 2")
        }
        return SafeTensorsRawEntry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }
}

/// An entry as written in the header, before validation.
struct SafeTensorsRawEntry {
    let name: String
    let dtype: SafeTensorsDtype
    let shape: [UInt64]
    let begin: UInt64
    let end: UInt64
}
