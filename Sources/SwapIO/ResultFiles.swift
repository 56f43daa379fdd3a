import Foundation

// Result files (issue 9): rows of named values written as JSON Lines or CSV, atomically.

/// One value of a result row.
public indirect enum ResultCell: Equatable, Sendable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case null
    case list([ResultCell])
    case record([ResultField])

    /// The value as JSON text (non-finite numbers become null; integers print without a fraction).
    public var json: String {
        switch self {
        case .number(let d):
            guard d.isFinite else { return "null" }
            if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
            return "\(d)"
        case .string(let s): return ResultFiles.quotedJSON(s)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .list(let items): return "[" + items.map(\.json).joined(separator: ",") + "]"
        case .record(let fields):
            return "{" + fields.map { ResultFiles.quotedJSON($0.name) + ":" + $0.value.json }.joined(separator: ",") + "}"
        }
    }

    /// The value in a CSV cell: numbers and booleans as in JSON, strings as they are, null empty,
    /// lists and records as their JSON text.
    public var csvText: String {
        switch self {
        case .string(let s): return s
        case .null: return ""
        case .number(let d) where !d.isFinite: return d.isNaN ? "nan" : (d > 0 ? "inf" : "-inf")
        default: return json
        }
    }
}

/// A named value of a result row.
public struct ResultField: Equatable, Sendable {
    public var name: String
    public var value: ResultCell
    public init(_ name: String, _ value: ResultCell) { (self.name, self.value) = (name, value) }
}

/// Writing rows (lists of named values) as JSON Lines or CSV through `AtomicFile`.
public enum ResultFiles {
    /// One JSON object per row, one row per line.
    public static func jsonLines(_ rows: [[ResultField]]) -> String {
        rows.map { ResultCell.record($0).json + "\n" }.joined()
    }

    /// CSV (RFC 4180): a header of every field name in order of first appearance, then one line
    /// per row (a missing field is an empty cell); cells with commas, quotes or line breaks are quoted.
    public static func csv(_ rows: [[ResultField]]) -> String {
        var columns: [String] = []
        for row in rows { for f in row where !columns.contains(f.name) { columns.append(f.name) } }
        func cell(_ text: String) -> String {
            guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        var lines = [columns.map(cell).joined(separator: ",")]
        for row in rows {
            lines.append(columns.map { name in cell(row.first { $0.name == name }?.value.csvText ?? "") }.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes rows as JSON Lines; with `append`, after the file's existing lines (the whole
    /// file is rewritten atomically, so a reader never sees half a line).
    public static func writeJSONLines(_ rows: [[ResultField]], to path: String, append: Bool = false) throws {
        var text = jsonLines(rows)
        if append, FileManager.default.fileExists(atPath: path) {
            var old = try String(contentsOfFile: path, encoding: .utf8)
            if !old.isEmpty, !old.hasSuffix("\n") { old += "\n" }
            text = old + text
        }
        try AtomicFile.write(Data(text.utf8), to: path)
    }

    /// Writes rows as CSV, atomically.
    public static func writeCSV(_ rows: [[ResultField]], to path: String) throws {
        try AtomicFile.write(Data(csv(rows).utf8), to: path)
    }

    /// A JSON string literal.
    public static func quotedJSON(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
