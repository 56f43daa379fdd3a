// Writing safetensors files.
//
// Byte layout matches the reference writer (Rust `safetensors::serialize`, which the Python
// `safetensors.torch.save_file` calls):
//   * tensors are ordered by dtype alignment rank, descending, then by name (byte-wise UTF-8
//     order); the data buffer holds them back to back in that order;
//   * the header is compact JSON (serde_json style, no spaces): `__metadata__` first (only when
//     metadata is given, even if empty), then each tensor as
//     `"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}` in data order;
//   * the header is padded with spaces to a multiple of 8 bytes.
// One difference: the reference writes `__metadata__` keys in hash-map order (not
// deterministic when there are two or more keys); we write them sorted byte-wise by key.
//
// Files are written atomically: to a temporary file in the destination directory, fsynced, then
// renamed over the destination (and the directory fsynced). On any error the temporary file is
// removed and the destination is untouched.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwapTensor

extension SafeTensors {
    /// The dtypes `write` can store.
    public static let writableDtypes: [SafeTensorsDtype] = [.f32, .f16, .bf16]

    /// Writes `tensors` (order irrelevant: the file order is defined above) to `path`, atomically.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String]? = nil,
                             to path: String, dtype: SafeTensorsDtype = .f32) throws(SafeTensorsError) {
        try write(tensors.map { ($0.key, $0.value) }, metadata: metadata, to: path, dtype: dtype)
    }

    /// Writes name/tensor pairs to `path`, atomically. Names must be unique and must not be
    /// `__metadata__`. The pair order does not affect the output (see the file order above).
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String]? = nil,
                             to path: String, dtype: SafeTensorsDtype = .f32) throws(SafeTensorsError) {
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        let plan = try SafeTensorsWritePlan(tensors, metadata: metadata, dtype: dtype, fileName: fileName)
        try SafeTensorsAtomicFile.replace(path: path, fileName: fileName) { sink in try plan.emit(sink) }
    }

    /// The bytes `write` would store for the same arguments.
    public static func serialize(_ tensors: [(String, Tensor)], metadata: [String: String]? = nil,
                                 dtype: SafeTensorsDtype = .f32) throws(SafeTensorsError) -> [UInt8] {
        let plan = try SafeTensorsWritePlan(tensors, metadata: metadata, dtype: dtype, fileName: "<memory>")
        var out: [UInt8] = []
        out.reserveCapacity(plan.totalSize)
        plan.emitInMemory { out.append(contentsOf: $0) }
        return out
    }

    /// `serialize` for a dictionary.
    public static func serialize(_ tensors: [String: Tensor], metadata: [String: String]? = nil,
                                 dtype: SafeTensorsDtype = .f32) throws(SafeTensorsError) -> [UInt8] {
        try serialize(tensors.map { ($0.key, $0.value) }, metadata: metadata, dtype: dtype)
    }
}

/// The ordered tensors and the encoded header of a file about to be written.
struct SafeTensorsWritePlan {
    let ordered: [(String, Tensor)]
    let dtype: SafeTensorsDtype
    /// 8-byte size prefix + padded header.
    let prefix: [UInt8]
    let totalSize: Int

    init(_ tensors: [(String, Tensor)], metadata: [String: String]?, dtype: SafeTensorsDtype,
         fileName: String) throws(SafeTensorsError) {
        guard SafeTensors.writableDtypes.contains(dtype) else {
            throw SafeTensorsError(.invalidArgument, file: fileName,
                                   "cannot write dtype \(dtype.rawValue); writable: F32, F16, BF16")
        }
        var seen = Set<String>()
        for (name, _) in tensors {
            if name == "__metadata__" {
                throw SafeTensorsError(.invalidArgument, file: fileName, tensor: name,
                                       "the name __metadata__ is reserved for the metadata map")
            }
            if !seen.insert(name).inserted {
                throw SafeTensorsError(.invalidArgument, file: fileName, tensor: name, "duplicate tensor name")
            }
        }
        // One dtype per file here, so the reference's rank-then-name order reduces to name order.
        let ordered = tensors.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }

        var json: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        if let metadata {
            json.append(contentsOf: Array("\"__metadata__\":{".utf8))
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { json.append(UInt8(ascii: ",")) }
                safeTensorsAppendJSONString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                safeTensorsAppendJSONString(metadata[key]!, to: &json)
            }
            json.append(UInt8(ascii: "}"))
            first = false
        }
        var offset = 0
        for (name, tensor) in ordered {
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
            let size = tensor.count * dtype.byteSize
            safeTensorsAppendJSONString(name, to: &json)
            var entry = ":{\"dtype\":\"\(dtype.rawValue)\",\"shape\":["
            entry += tensor.shape.map(String.init).joined(separator: ",")
            entry += "],\"data_offsets\":[\(offset),\(offset + size)]}"
            json.append(contentsOf: Array(entry.utf8))
            offset += size
        }
        json.append(UInt8(ascii: "}"))
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        guard UInt64(json.count) <= SafeTensorsHeader.maxHeaderSize else {
            throw SafeTensorsError(.headerTooLarge, file: fileName,
                                   "header of \(json.count) bytes exceeds the limit of \(SafeTensorsHeader.maxHeaderSize)")
        }
        var prefix: [UInt8] = []
        prefix.reserveCapacity(8 + json.count)
        let n = UInt64(json.count)
        for k in 0..<8 { prefix.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(k)))) }
        prefix.append(contentsOf: json)
        self.ordered = ordered
        self.dtype = dtype
        self.prefix = prefix
        self.totalSize = prefix.count + offset
    }

    /// `emit` with a sink that cannot fail.
    func emitInMemory(_ sink: (UnsafeRawBufferPointer) -> Void) {
        do { try emit(sink) } catch { preconditionFailure("a non-throwing sink threw \(error)") }
    }

    /// Feeds the file's bytes, in order, to `sink`. Half conversions go through a bounded
    /// scratch buffer, so no full-size copy of a tensor is made.
    func emit(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try prefix.withUnsafeBytes { try sink($0) }
        let chunk = 1 << 20
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: chunk * 2, alignment: 64)
        defer { scratch.deallocate() }
        for (_, tensor) in ordered {
            let count = tensor.count
            if count == 0 { continue }
            try tensor.withUnsafeBufferPointer { buffer in
                guard dtype != .f32 else { return try sink(UnsafeRawBufferPointer(buffer)) }
                let source = buffer.baseAddress!
                var start = 0
                while start < count {
                    let n = min(chunk, count - start)
                    if dtype == .f16 {
                        SafeTensorsConversion.floatToHalf(source + start, count: n, into: scratch)
                    } else {
                        SafeTensorsConversion.floatToBFloat16(source + start, count: n, into: scratch)
                    }
                    try sink(UnsafeRawBufferPointer(start: scratch, count: n * 2))
                    start += n
                }
            }
        }
    }
}

/// Write-to-temporary, fsync, rename.
enum SafeTensorsAtomicFile {
    static func replace(path: String, fileName: String,
                        _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void)
    throws(SafeTensorsError) {
        func ioError(_ what: String) -> SafeTensorsError {
            SafeTensorsError(.io, file: fileName, "\(what): \(safeTensorsErrno())")
        }
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let tempPath = (directory == "/" ? "" : directory) + "/." + fileName
            + ".tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw ioError("cannot create temporary file '\(tempPath)'") }
        var isOpen = true
        var renamed = false
        defer {
            if isOpen { close(fd) }
            if !renamed { unlink(tempPath) }
        }
        do {
            try body { chunk in
                guard var p = chunk.baseAddress else { return }
                var left = chunk.count
                while left > 0 {
                    let n = write(fd, p, left)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw ioError("cannot write '\(tempPath)'")
                    }
                    p += n
                    left -= n
                }
            }
        } catch let error as SafeTensorsError {
            throw error
        } catch {
            throw SafeTensorsError(.io, file: fileName, "\(error)")
        }
        guard fsync(fd) == 0 else { throw ioError("cannot fsync '\(tempPath)'") }
        isOpen = false
        guard close(fd) == 0 else { throw ioError("cannot close '\(tempPath)'") }
        guard rename(tempPath, path) == 0 else { throw ioError("cannot rename temporary file to '\(path)'") }
        renamed = true
        // Make the rename itself durable; failure here does not undo the write.
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }
}
