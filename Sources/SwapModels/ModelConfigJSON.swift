import Foundation

/// Reads a diffusers `config.json` leniently: missing keys fall back to the class defaults,
/// unknown keys are ignored, and list-valued fields accept a scalar (which diffusers broadcasts
/// to one value per block). Every type problem names the key and the file.
struct ModelConfigJSON {
    let values: [String: Any]
    let file: String

    init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelLoadError("cannot read config \(path): \(error.localizedDescription)")
        }
        try self.init(data: data, file: path)
    }

    /// An already parsed object (e.g. a nested `vision_config`).
    init(values: [String: Any], file: String) {
        self.values = values
        self.file = file
    }

    init(data: Data, file: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
            throw ModelLoadError("\(file): not a JSON object")
        }
        values = dict
        self.file = file
    }

    /// Whether `key` is present and not null.
    func has(_ key: String) -> Bool { values[key].map { !($0 is NSNull) } ?? false }

    func int(_ key: String, default fallback: Int) throws -> Int {
        guard has(key) else { return fallback }
        guard let n = values[key] as? NSNumber, n.doubleValue == n.doubleValue.rounded() else {
            throw ModelLoadError("\(file): '\(key)' must be an integer, got \(values[key]!)")
        }
        return n.intValue
    }

    func float(_ key: String, default fallback: Float) throws -> Float {
        guard has(key) else { return fallback }
        guard let n = values[key] as? NSNumber else {
            throw ModelLoadError("\(file): '\(key)' must be a number, got \(values[key]!)")
        }
        return n.floatValue
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard has(key) else { return fallback }
        guard let b = values[key] as? Bool else { throw ModelLoadError("\(file): '\(key)' must be true or false") }
        return b
    }

    func string(_ key: String, default fallback: String) throws -> String {
        guard has(key) else { return fallback }
        guard let s = values[key] as? String else { throw ModelLoadError("\(file): '\(key)' must be a string") }
        return s
    }

    func strings(_ key: String, default fallback: [String]) throws -> [String] {
        guard has(key) else { return fallback }
        guard let list = values[key] as? [String] else { throw ModelLoadError("\(file): '\(key)' must be a list of strings") }
        return list
    }

    /// An integer list; a scalar becomes `count` copies (nil count: a one-element list).
    func ints(_ key: String, default fallback: [Int], count: Int? = nil) throws -> [Int] {
        guard has(key) else { return fallback }
        if let list = values[key] as? [NSNumber] { return list.map(\.intValue) }
        if let n = values[key] as? NSNumber { return Array(repeating: n.intValue, count: count ?? 1) }
        throw ModelLoadError("\(file): '\(key)' must be an integer or a list of integers")
    }
}
