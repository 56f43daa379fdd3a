import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file writes that never leave a half-written file behind.
///
/// The data goes to a uniquely named temporary file in the destination's folder (so the final
/// `rename` stays on one file system and is atomic), is flushed to disk with `fsync`, and only
/// then renamed over the destination. If any step fails the temporary file is removed and the
/// destination keeps its previous contents (or stays absent).
public enum AtomicFile {
    /// The prefix of temporary file names: `.<name>.swaptmp-XXXXXX` in the same folder.
    public static let temporaryMarker = ".swaptmp-"

    /// Writes `data` to `path` atomically. Throws `ImageError` (kind `.io`) naming `path`.
    public static func write(_ data: Data, to path: String) throws {
        guard !path.isEmpty else { throw ImageError(.io, file: path, reason: "empty file path") }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        guard !name.isEmpty, name != "/", !path.hasSuffix("/") else {
            throw ImageError(.io, file: path, reason: "the path names a folder, not a file")
        }
        var template = Array("\(folder)/.\(name)\(temporaryMarker)XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw ImageError(.io, file: path,
                             reason: "cannot create a temporary file in \(folder): \(errorText())")
        }
        let temporary = String(cString: template.map { $0 })
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temporary) }
        }

        try data.withUnsafeBytes { raw in
            guard var cursor = raw.baseAddress else { return }
            var left = raw.count
            while left > 0 {
                let written = systemWrite(fd, cursor, left)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ImageError(.io, file: path, reason: "cannot write: \(errorText())")
                }
                left -= written
                cursor += written
            }
        }
        // mkstemp creates the file with mode 0600; give it ordinary permissions.
        _ = fchmod(fd, 0o644)
        guard fsync(fd) == 0 else {
            throw ImageError(.io, file: path, reason: "cannot flush to disk: \(errorText())")
        }
        closed = true
        guard close(fd) == 0 else {
            throw ImageError(.io, file: path, reason: "cannot close: \(errorText())")
        }
        guard rename(temporary, path) == 0 else {
            throw ImageError(.io, file: path, reason: "cannot replace the file: \(errorText())")
        }
        renamed = true
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}

/// `write(2)`, outside `AtomicFile` whose own `write` would shadow it.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
