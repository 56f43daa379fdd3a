import Foundation
import SwapIO

/// A human-readable description of a checkpoint without loading its weights: for a diffusers
/// folder, `model_index.json` and each component's config and tensor files; for a
/// `.safetensors` file, its metadata and every tensor's dtype and shape.
/// Backs `swapscript inspect MODEL`.
public enum CheckpointInspector {
    /// The report lines for `path` (a folder or a .safetensors file).
    /// `listTensors` prints every tensor; otherwise only counts per file.
    public static func describe(_ path: String, listTensors: Bool = false) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ModelLoadError("\(path): no such file or folder")
        }
        return isFolder.boolValue ? try folder(path, listTensors: listTensors) : try file(path, listTensors: true)
    }

    static func folder(_ path: String, listTensors: Bool) throws -> [String] {
        let index = try ModelIndex(path: (path as NSString).appendingPathComponent("model_index.json"))
        var lines = ["\(path): \(index.className)"]
        for name in index.components.keys.sorted() {
            let component = index.components[name]!
            lines.append("")
            lines.append("\(name): \(component.className) (\(component.library))")
            let dir = (path as NSString).appendingPathComponent(name)
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir).sorted()) ?? []
            for entry in entries where entry.hasSuffix(".json") && !entry.hasSuffix(".index.json") {
                lines += try config((dir as NSString).appendingPathComponent(entry))
            }
            for entry in entries where entry.hasSuffix(".safetensors") {
                lines += try file((dir as NSString).appendingPathComponent(entry), listTensors: listTensors).map { "  " + $0 }
            }
        }
        return lines
    }

    /// Scalar and short-list settings of a JSON config, one per line.
    static func config(_ path: String) throws -> [String] {
        let json = try ModelConfigJSON(path: path)
        var lines = ["  \((path as NSString).lastPathComponent):"]
        for key in json.values.keys.sorted() where !key.hasPrefix("_") || key == "_class_name" {
            let value = json.values[key]!
            if let list = value as? [Any], list.count > 8 { lines.append("    \(key): [\(list.count) values]"); continue }
            if value is [String: Any] { continue }
            let text = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]))
                .map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
            lines.append("    \(key): \(text)")
        }
        return lines
    }

    static func file(_ path: String, listTensors: Bool) throws -> [String] {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw ModelLoadError("\(error)") }
        let parameters = file.entries.reduce(0) { $0 + $1.count }
        let bytes = file.entries.reduce(0) { $0 + $1.byteCount }
        var dtypes: [String: Int] = [:]
        for e in file.entries { dtypes[e.dtype.rawValue, default: 0] += 1 }
        var lines = ["\((path as NSString).lastPathComponent): \(file.entries.count) tensors, "
            + "\(parameters.formatted()) parameters, \(String(format: "%.1f", Double(bytes) / 1_048_576)) MiB ("
            + dtypes.keys.sorted().map { "\($0) ×\(dtypes[$0]!)" }.joined(separator: ", ") + ")"]
        for (key, value) in (file.metadata ?? [:]).sorted(by: { $0.key < $1.key }) {
            lines.append("  metadata \(key): \(value.count > 120 ? String(value.prefix(117)) + "..." : value)")
        }
        if listTensors {
            for e in file.entries { lines.append("  \(e.name)  \(e.dtype.rawValue)  \(formatShapeList(e.shape))") }
        }
        return lines
    }

    static func formatShapeList(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}
