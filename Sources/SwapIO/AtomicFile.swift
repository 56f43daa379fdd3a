import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file writes that never leave a half-written file behind.
///
/// The bytes go to a uniquely named temporary file in the destination's folder (so the final
/// `rename` stays on one file system and is atomic), are flushed with `fsync`, and only then
/// renamed over the destination; the folder is synced so the rename itself is durable. If any
/// step fails the temporary file is removed and the destination keeps its previous contents
/// (or stays absent). Every file SwapScript writes goes through here.
public enum AtomicFile {
    /// The marker in temporary file names: `.<name>.swaptmp-XXXXXX` in the same folder.
    public static let temporaryMarker = ".swaptmp-"

    /// Why an atomic write failed; callers wrap it in their own error type.
    public struct Failure: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Writes `data` to `path` atomically. Throws `ImageError` (kind `.io`) naming `path`.
    public static func write(_ data: Data, to path: String) throws {
        do {
            try write(to: path) { sink in try data.withUnsafeBytes { try sink($0) } }
        } catch let failure as Failure {
            throw ImageError(.io, file: path, reason: failure.reason)
        }
    }

    /// Streams a file to `path` atomically: `body` receives a sink and calls it with each run
    /// of bytes, in order. Errors thrown by `body` abort the write and are rethrown as they are;
    /// file-system errors throw `Failure`.
    public static func write(to path: String, _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        guard !path.isEmpty else { throw Failure(path: path, reason: "empty file path") }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        guard !name.isEmpty, name != "/", !path.hasSuffix("/") else {
            throw Failure(path: path, reason: "the path names a folder, not a file")
        }
        var template = Array("\(folder)/.\(name)\(temporaryMarker)XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw Failure(path: path, reason: "cannot create a temporary file in \(folder): \(errorText())")
        }
        let temporary = String(cString: template.map { $0 })
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temporary) }
        }
        try body { chunk in
            guard var cursor = chunk.baseAddress else { return }
            var left = chunk.count
            while left > 0 {
                let written = systemWrite(fd, cursor, left)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw Failure(path: path, reason: "cannot write: \(errorText())")
                }
                left -= written
                cursor += written
            }
        }
        // mkstemp creates the file with mode 0600; give it ordinary permissions.
        _ = fchmod(fd, 0o644)
        guard fsync(fd) == 0 else { throw Failure(path: path, reason: "cannot flush to disk: \(errorText())") }
        closed = true
        guard close(fd) == 0 else { throw Failure(path: path, reason: "cannot close: \(errorText())") }
        guard rename(temporary, path) == 0 else {
            throw Failure(path: path, reason: "cannot rename the temporary file into place: \(errorText())")
        }
        renamed = true
        // Make the rename itself durable; a failure here does not undo the write.
        let directory = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}

/// `write(2)`, outside `AtomicFile` whose own `write` would shadow it.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
