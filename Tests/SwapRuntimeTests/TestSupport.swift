import Foundation
import SwapIO
import SwapLang
import SwapTensor
@testable import SwapRuntime

/// A session writing into its own temporary folder, with captured stdout and stderr lines.
final class Harness {
    let session: Session
    let folder: String
    private(set) var lines: [String] = []
    private(set) var errors: [String] = []
    private(set) var status: ExitClass = .ok

    init(seed: UInt64 = 0, threads: Int? = nil, folder: String? = nil) {
        let dir = folder ?? NSTemporaryDirectory() + "swapruntime-" + UUID().uuidString
        self.folder = dir
        session = Session(outputFolder: dir + "/out", seed: seed, threads: threads)
        session.output = { [unowned self] in self.lines.append($0) }
        session.errorOutput = { [unowned self] in self.errors.append($0) }
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    /// Runs `source` and returns self for chaining.
    @discardableResult
    func run(_ source: String, file: String = "test.swapscript") -> Harness {
        status = session.run(source: source, file: file)
        return self
    }

    /// The binding `name` as a tensor (nil when missing or not a tensor).
    func tensor(_ name: String) -> Tensor? {
        guard case .host(let h)? = session.bindings[name], let t = h as? TensorValue else { return nil }
        return t.tensor
    }

    /// The binding `name` as a number.
    func number(_ name: String) -> Double? {
        guard case .number(let d)? = session.bindings[name] else { return nil }
        return d
    }

    /// The binding `name` as an image.
    func image(_ name: String) -> ImageValue? {
        guard case .host(let h)? = session.bindings[name] else { return nil }
        return h as? ImageValue
    }

    /// The message of the last diagnostic.
    var lastError: String { session.lastDiagnostics.last?.message ?? "" }
}

/// Largest absolute elementwise difference (infinity when shapes differ).
func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.shape == b.shape else { return .infinity }
    return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
}

/// A temporary folder for a test.
func temporaryFolder() -> String {
    let dir = NSTemporaryDirectory() + "swapruntime-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The repository root (two levels above this file's folder).
var repositoryRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
