// A small JSON reader and string writer for safetensors headers.
//
// The header grammar is ordinary JSON (RFC 8259). We parse it ourselves rather than through
// Foundation so that the accepted language matches the reference implementation (serde_json):
// the same whitespace set, no leading zeros, no trailing commas, no lone surrogates in `\u`
// escapes, no raw control characters in strings, a nesting limit, and integers kept exact up to
// UInt64.max (larger integer literals become floating point, exactly as serde_json does, and so
// are rejected where a `usize` is expected). The parser never traps: every failure is a thrown
// `SafeTensorsJSONError` carrying a byte offset.

/// A parsed JSON value. Objects keep their members in document order, duplicates included.
enum SafeTensorsJSON: Equatable {
    case null
    case bool(Bool)
    /// A non-negative integer literal without fraction or exponent that fits in UInt64.
    case unsigned(UInt64)
    /// Any other number (negative, fractional, exponent, or beyond UInt64); the literal text.
    case otherNumber(String)
    case string(String)
    case array([SafeTensorsJSON])
    case object([(String, SafeTensorsJSON)])

    static func == (lhs: SafeTensorsJSON, rhs: SafeTensorsJSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.unsigned(a), .unsigned(b)): return a == b
        case let (.otherNumber(a), .otherNumber(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// A short description of the value's type, for error messages ("a string", "an array").
    var typeDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "boolean `\(b)`"
        case .unsigned(let u): return "integer `\(u)`"
        case .otherNumber(let s): return "number `\(s)`"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

struct SafeTensorsJSONError: Error {
    let offset: Int
    let message: String
}

/// Validates UTF-8 with the same rules as Rust's `str::from_utf8` (no overlong forms, no
/// surrogates, nothing above U+10FFFF). Returns the byte index of the first invalid sequence.
func safeTensorsFirstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int? {
    let n = bytes.count
    var i = 0
    while i < n {
        let b0 = bytes[i]
        if b0 < 0x80 { i += 1; continue }
        let need: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: return i
        }
        if i + need >= n { return i }
        let b1 = bytes[i + 1]
        if b1 < lo || b1 > hi { return i }
        var k = 2
        while k <= need {
            let b = bytes[i + k]
            if b < 0x80 || b > 0xBF { return i }
            k += 1
        }
        i += need + 1
    }
    return nil
}

/// Recursive-descent JSON parser over a byte buffer that the caller has already checked is UTF-8.
struct SafeTensorsJSONParser {
    /// serde_json's default recursion limit.
    static let maxDepth = 128

    private let bytes: UnsafeRawBufferPointer
    private var pos = 0
    private var depth = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Parses one JSON value surrounded by optional whitespace; anything after it is an error.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(SafeTensorsJSONError) -> SafeTensorsJSON {
        var parser = SafeTensorsJSONParser(bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.pos != bytes.count {
            throw SafeTensorsJSONError(offset: parser.pos, message: "trailing characters")
        }
        return value
    }

    private func fail(_ message: String, at offset: Int? = nil) -> SafeTensorsJSONError {
        SafeTensorsJSONError(offset: offset ?? pos, message: message)
    }

    private mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(SafeTensorsJSONError) -> SafeTensorsJSON {
        guard pos < bytes.count else { throw fail("EOF while parsing a value") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("expected value")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(SafeTensorsJSONError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        for k in 0..<count {
            guard pos < bytes.count, bytes[pos] == start[k] else { throw fail("expected ident") }
            pos += 1
        }
    }

    private mutating func enter() throws(SafeTensorsJSONError) {
        depth += 1
        if depth > Self.maxDepth { throw fail("recursion limit exceeded") }
    }

    private mutating func parseObject() throws(SafeTensorsJSONError) -> SafeTensorsJSON {
        try enter()
        pos += 1  // {
        var members: [(String, SafeTensorsJSON)] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
            pos += 1; depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard pos < bytes.count else { throw fail("EOF while parsing an object") }
            guard bytes[pos] == UInt8(ascii: "\"") else {
                throw fail(bytes[pos] == UInt8(ascii: "}") ? "trailing comma" : "key must be a string")
            }
            let key = try parseString()
            skipWhitespace()
            guard pos < bytes.count else { throw fail("EOF while parsing an object") }
            guard bytes[pos] == UInt8(ascii: ":") else { throw fail("expected `:`") }
            pos += 1
            skipWhitespace()
            let value = try parseValue()
            members.append((key, value))
            skipWhitespace()
            guard pos < bytes.count else { throw fail("EOF while parsing an object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; break }
            throw fail("expected `,` or `}`")
        }
        depth -= 1
        return .object(members)
    }

    private mutating func parseArray() throws(SafeTensorsJSONError) -> SafeTensorsJSON {
        try enter()
        pos += 1  // [
        var elements: [SafeTensorsJSON] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
            pos += 1; depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            guard pos < bytes.count else { throw fail("EOF while parsing a list") }
            if bytes[pos] == UInt8(ascii: "]") { throw fail("trailing comma") }
            elements.append(try parseValue())
            skipWhitespace()
            guard pos < bytes.count else { throw fail("EOF while parsing a list") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; break }
            throw fail("expected `,` or `]`")
        }
        depth -= 1
        return .array(elements)
    }

    private mutating func parseNumber() throws(SafeTensorsJSONError) -> SafeTensorsJSON {
        let start = pos
        var negative = false
        if bytes[pos] == UInt8(ascii: "-") { negative = true; pos += 1 }
        guard pos < bytes.count, isDigit(bytes[pos]) else { throw fail("invalid number") }
        var value: UInt64 = 0
        var overflow = false
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < bytes.count, isDigit(bytes[pos]) { throw fail("invalid number") }
        } else {
            while pos < bytes.count, isDigit(bytes[pos]) {
                let digit = UInt64(bytes[pos] &- UInt8(ascii: "0"))
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(digit)
                if o1 || o2 { overflow = true } else { value = s }
                pos += 1
            }
        }
        var isInteger = true
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw fail("invalid number") }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw fail("invalid number") }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if isInteger && !negative && !overflow { return .unsigned(value) }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        return .otherNumber(text)
    }

    /// Encodes a Unicode scalar value (never a surrogate, at most U+10FFFF) as UTF-8.
    private func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80: out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | v >> 6 & 0x3F))
            out.append(UInt8(0x80 | v & 0x3F))
        default:
            out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | v >> 12 & 0x3F))
            out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        }
    }

    @inline(__always) private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private mutating func parseHex4() throws(SafeTensorsJSONError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard pos < bytes.count else { throw fail("EOF while parsing a string") }
            let b = bytes[pos]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw fail("invalid escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    private mutating func parseString() throws(SafeTensorsJSONError) -> String {
        pos += 1  // opening quote
        var out: [UInt8] = []
        var runStart = pos
        while true {
            guard pos < bytes.count else { throw fail("EOF while parsing a string") }
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<pos]))
                pos += 1
                break
            }
            if b < 0x20 { throw fail("control character (\\u0000-\\u001F) found while parsing a string") }
            if b != UInt8(ascii: "\\") { pos += 1; continue }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<pos]))
            pos += 1
            guard pos < bytes.count else { throw fail("EOF while parsing a string") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if scalar >= 0xDC00 && scalar <= 0xDFFF { throw fail("lone leading surrogate in hex escape") }
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u")
                    else { throw fail("unexpected end of hex escape") }
                    pos += 2
                    let low = try parseHex4()
                    guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("lone leading surrogate in hex escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                appendUTF8(scalar, to: &out)
            default:
                throw fail("invalid escape")
            }
            runStart = pos
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Appends `string` as a JSON string literal, escaping exactly as serde_json does:
/// `"` and `\` are backslash-escaped, \b \f \n \r \t use their short forms, other control
/// characters below U+0020 become `\u00xx` (lowercase hex), and everything else (including
/// DEL and non-ASCII) is written as raw UTF-8.
func safeTensorsAppendJSONString(_ string: String, to out: inout [UInt8]) {
    let hex: [UInt8] = Array("0123456789abcdef".utf8)
    out.append(0x22)
    for b in string.utf8 {
        switch b {
        case 0x22: out.append(0x5C); out.append(0x22)
        case 0x5C: out.append(0x5C); out.append(0x5C)
        case 0x08: out.append(0x5C); out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(0x5C); out.append(UInt8(ascii: "f"))
        case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
        case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
        case 0x00..<0x20:
            out.append(contentsOf: Array("\\u00".utf8))
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xF)])
        default: out.append(b)
        }
    }
    out.append(0x22)
}
