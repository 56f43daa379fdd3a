// Reading safetensors files: memory-mapped (or read into memory when mapping is impossible),
// validated once on open, converted to Float32 tensors on demand.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwapTensor

/// The bytes of a whole file: a read-only private mapping, or a heap copy.
final class SafeTensorsStorage: @unchecked Sendable {
    let base: UnsafeRawPointer?
    let count: Int
    private let mapped: Bool

    /// Maps `path` read-only; falls back to reading it when mmap is not possible
    /// (empty files, pipes and other special files, exotic file systems).
    init(path: String, fileName: String) throws(SafeTensorsError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SafeTensorsError(.io, file: fileName, "cannot open '\(path)': \(safeTensorsErrno())")
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 {
            let size = Int(st.st_size)
            let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
            if let p, p != MAP_FAILED {
                base = UnsafeRawPointer(p)
                count = size
                mapped = true
                return
            }
        }
        // Fallback: read until EOF.
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 64)
        var capacity = 1 << 16
        var length = 0
        while true {
            if length == capacity {
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 64)
                bigger.copyMemory(from: buffer, byteCount: length)
                buffer.deallocate()
                buffer = bigger
                capacity *= 2
            }
            let got = read(fd, buffer + length, capacity - length)
            if got < 0 {
                if errno == EINTR { continue }
                let message = safeTensorsErrno()
                buffer.deallocate()
                throw SafeTensorsError(.io, file: fileName, "cannot read '\(path)': \(message)")
            }
            if got == 0 { break }
            length += got
        }
        base = UnsafeRawPointer(buffer)
        count = length
        mapped = false
    }

    /// A heap copy of `bytes`.
    init(bytes: [UInt8]) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: $0.count) } }
        base = UnsafeRawPointer(p)
        count = bytes.count
        mapped = false
    }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Drops the resident pages lying wholly inside `range` of a mapped file, so that reading a
    /// large checkpoint tensor by tensor does not keep both the file pages and the converted
    /// copies resident (peak RSS ≈ the converted weights, not twice them). The mapping is
    /// private and read-only, so a later access simply reads the pages from the file again.
    func releasePages(_ range: UnsafeRawBufferPointer) {
        guard mapped, let start = range.baseAddress, range.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let last = (Int(bitPattern: start) + range.count) / page * page
        guard last > first, let p = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(p, last - first, Int32(MADV_DONTNEED))
    }

    deinit {
        guard let base else { return }
        if mapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            base.deallocate()
        }
    }
}

func safeTensorsErrno() -> String {
    let code = errno
    if let s = strerror(code) { return String(cString: s) }
    return "errno \(code)"
}

/// A validated safetensors file. Opening maps the file and validates the whole header (see
/// `SafeTensorsFormat.swift` for the rules); tensors are converted only when asked for.
///
/// The mapping is private and read-only. Replacing the file by rename (as `SafeTensors.write`
/// does) leaves an open `SafeTensorsFile` reading the old contents; truncating the file in place
/// while it is mapped is not supported (the OS would raise SIGBUS on access).
public final class SafeTensorsFile: @unchecked Sendable {
    /// The file's name, used in error messages.
    public let fileName: String
    /// Tensor entries in data order (ascending offsets).
    public let entries: [SafeTensorsEntry]
    /// The `__metadata__` map, or nil when the header has none.
    public let metadata: [String: String]?

    private let storage: SafeTensorsStorage
    private let index: [String: Int]
    private let dataStart: Int

    /// Opens and validates the file at `path`.
    public convenience init(path: String) throws(SafeTensorsError) {
        let fileName = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
        try self.init(storage: SafeTensorsStorage(path: path, fileName: fileName), fileName: fileName)
    }

    /// Validates an in-memory copy of a file's bytes; `name` labels error messages.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws(SafeTensorsError) {
        try self.init(storage: SafeTensorsStorage(bytes: bytes), fileName: name)
    }

    private init(storage: SafeTensorsStorage, fileName: String) throws(SafeTensorsError) {
        let header = try SafeTensorsHeader.parse(storage.buffer, fileName: fileName)
        self.storage = storage
        self.fileName = fileName
        self.entries = header.entries
        self.index = header.index
        self.metadata = header.metadata
        self.dataStart = header.dataStart
    }

    /// Tensor names in data order.
    public var names: [String] { entries.map(\.name) }

    /// The header entry (dtype, shape, offsets) of `name`.
    public func info(_ name: String) throws(SafeTensorsError) -> SafeTensorsEntry {
        guard let i = index[name] else {
            throw SafeTensorsError(.tensorNotFound, file: fileName, tensor: name, "no such tensor in the file")
        }
        return entries[i]
    }

    /// Whether the file holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// Zero-copy access to the tensor's stored bytes (e.g. F16/BF16 weights kept as half).
    /// The pointer is valid only inside `body`.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let entry = try info(name)
        return try body(rawBuffer(entry))
    }

    /// A copy of the tensor's stored bytes, little-endian, in the file's dtype.
    public func rawBytes(_ name: String) throws(SafeTensorsError) -> [UInt8] {
        Array(rawBuffer(try info(name)))
    }

    private func rawBuffer(_ entry: SafeTensorsEntry) -> UnsafeRawBufferPointer {
        guard let base = storage.base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + dataStart + entry.dataOffsets.lowerBound,
                                      count: entry.byteCount)
    }

    /// The tensor converted to Float32. Throws `.unsupportedConversion` for dtypes listed as not
    /// converting in `SafeTensorsDtype.convertsToFloat`.
    public func tensor(_ name: String) throws(SafeTensorsError) -> Tensor {
        let entry = try info(name)
        guard entry.dtype.convertsToFloat else {
            throw SafeTensorsError(.unsupportedConversion, file: fileName, tensor: name,
                                   "dtype \(entry.dtype.rawValue) has no conversion to Float32 (use rawBytes)")
        }
        var tensor = Tensor(uninitializedShape: entry.shape)
        let count = entry.count
        let raw = rawBuffer(entry)
        if count > 0, let src = raw.baseAddress {
            tensor.withUnsafeMutableBufferPointer { dst in
                _ = SafeTensorsConversion.toFloat(entry.dtype, from: src, count: count, into: dst.baseAddress!)
            }
            storage.releasePages(raw)
        }
        return tensor
    }

    /// Every tensor converted to Float32. Throws if any tensor's dtype does not convert.
    public func tensors() throws(SafeTensorsError) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        result.reserveCapacity(entries.count)
        for entry in entries { result[entry.name] = try tensor(entry.name) }
        return result
    }
}

/// Namespace for whole-file operations.
public enum SafeTensors {
    /// Loads every tensor of the file at `path` as Float32.
    public static func load(_ path: String) throws(SafeTensorsError) -> [String: Tensor] {
        try SafeTensorsFile(path: path).tensors()
    }
}
