import SwapIO
import SwapTensor

/// An error loading a model: names the file or the tensor, and what was expected.
public struct ModelLoadError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Named weights from one or more safetensors files, read on demand with shape checks.
///
/// Model code asks for its own parameter names (`conv_in.weight`); a `prefix` view or a
/// `rename` function (for single-file CompVis checkpoints) maps them to the file's keys, so
/// all checkpoint naming stays in loaders. Every problem names the tensor and the file.
public final class WeightStore: @unchecked Sendable {
    private let files: [SafeTensorsFile]
    private let index: [String: Int]
    /// Tensors held in memory (`init(tensors:)`); index entries of -1 point here.
    private let memory: [String: Tensor]
    /// Applied to every requested name before lookup.
    private let rename: (String) -> String
    /// Names requested so far (after renaming), for "unused tensor" reports.
    public private(set) var used = Set<String>()

    public init(paths: [String], rename: @escaping (String) -> String = { $0 }) throws {
        files = try paths.map { path in
            do { return try SafeTensorsFile(path: path) } catch { throw ModelLoadError("\(error)") }
        }
        var index: [String: Int] = [:]
        for (i, file) in files.enumerated() { for name in file.names { index[name] = i } }
        self.index = index
        self.rename = rename
        memory = [:]
    }

    /// Tensors held in memory under their file names (freshly initialised or trained
    /// parameters). They are returned as they are, so gradient-tracking leaves stay leaves.
    public init(tensors: [String: Tensor], rename: @escaping (String) -> String = { $0 }) {
        files = []
        index = tensors.mapValues { _ in -1 }
        memory = tensors
        self.rename = rename
    }

    private init(files: [SafeTensorsFile], index: [String: Int], memory: [String: Tensor], rename: @escaping (String) -> String) {
        self.files = files
        self.index = index
        self.memory = memory
        self.rename = rename
    }

    /// A view that prepends `prefix` (e.g. "text_model.") to every requested name.
    public func prefixed(_ prefix: String) -> WeightStore {
        let outer = rename
        return WeightStore(files: files, index: index, memory: memory, rename: { outer(prefix + $0) })
    }

    /// Every tensor name in the files.
    public var names: [String] { index.keys.sorted() }

    /// Whether the (renamed) tensor exists.
    public func contains(_ name: String) -> Bool { index[rename(name)] != nil }

    /// The tensor `name` as Float32, which must have `shape` (nil: any shape).
    public func tensor(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        let key = rename(name)
        guard let fileIndex = index[key] else {
            throw ModelLoadError("missing tensor '\(key)' (expected shape \(shape.map(formatShape) ?? "any")) in \(files.isEmpty ? "the in-memory weights" : files.map(\.fileName).joined(separator: ", "))")
        }
        if fileIndex < 0, let held = memory[key] {
            if let shape, held.shape != shape {
                throw ModelLoadError("in-memory tensor '\(key)' has shape \(formatShape(held.shape)), expected \(formatShape(shape))")
            }
            used.insert(key)
            return held
        }
        let file = files[fileIndex]
        let entry: SafeTensorsEntry
        do { entry = try file.info(key) } catch { throw ModelLoadError("\(error)") }
        if let shape, entry.shape != shape {
            throw ModelLoadError("\(file.fileName): tensor '\(key)' has shape \(formatShape(entry.shape)), expected \(formatShape(shape))")
        }
        used.insert(key)
        do { return try file.tensor(key) } catch { throw ModelLoadError("\(error)") }
    }
}
