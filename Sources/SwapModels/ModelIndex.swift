import Foundation

// Matches the model_index.json reading of diffusers `pipelines/pipeline_utils.py`
// (`DiffusionPipeline.from_pretrained` / `load_config`): the pipeline class plus, for each
// component, a `[library, class]` pair (or `[null, null]` for an absent optional component).

/// The parsed `model_index.json` of a diffusers pipeline folder.
public struct ModelIndex: Sendable, Equatable {
    /// One component entry: the library and class that load it.
    public struct Component: Sendable, Equatable {
        public var library: String
        public var className: String
    }

    /// `_class_name`, e.g. "StableDiffusionPipeline".
    public let className: String
    /// The present components by name (`unet`, `vae`, …); `[null, null]` entries are left out.
    public let components: [String: Component]
    /// The file it was read from.
    public let path: String

    /// Reads `path`. A missing file, invalid JSON, or a component entry that is not a
    /// `[library, class]` pair throws a `ModelLoadError` naming the file (and the key).
    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelLoadError("\(path): no such file (a diffusers pipeline folder has a model_index.json)")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelLoadError("\(path): cannot be read (\(error.localizedDescription))")
        }
        try self.init(data: data, path: path)
    }

    /// Parses the bytes of a model_index.json; `path` names it in errors.
    public init(data: Data, path: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any] else {
            throw ModelLoadError("\(path): not a valid JSON object (corrupt model_index.json)")
        }
        guard let name = json["_class_name"] as? String else {
            throw ModelLoadError("\(path): '_class_name' is missing or not a string")
        }
        var components: [String: Component] = [:]
        for (key, value) in json where !key.hasPrefix("_") {
            guard let pair = value as? [Any] else { continue }   // plain options such as requires_safety_checker
            guard pair.count == 2 else {
                throw ModelLoadError("\(path): component '\(key)' must be a [library, class] pair")
            }
            if pair[0] is NSNull && pair[1] is NSNull { continue }
            guard let library = pair[0] as? String, let cls = pair[1] as? String else {
                throw ModelLoadError("\(path): component '\(key)' must be a [library, class] pair of strings")
            }
            components[key] = Component(library: library, className: cls)
        }
        className = name
        self.components = components
        self.path = path
    }

    /// The entry for `name`, which must be present with one of `classes`.
    public func require(_ name: String, classes: [String]) throws -> Component {
        guard let component = components[name] else {
            throw ModelLoadError("\(path): component '\(name)' is missing or null (expected \(classes.joined(separator: " or ")))")
        }
        guard classes.contains(component.className) else {
            throw ModelLoadError("\(path): component '\(name)' is \(component.library).\(component.className); "
                + "supported: \(classes.joined(separator: ", "))")
        }
        return component
    }
}
