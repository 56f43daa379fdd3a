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
        do {
            try AtomicFile.write(to: path) { sink in try plan.emit(sink) }
        } catch let error as SafeTensorsError {
            throw error
        } catch let failure as AtomicFile.Failure {
            throw SafeTensorsError(.io, file: fileName, failure.reason)
        } catch {
            throw SafeTensorsError(.io, file: fileName, "\(error)")
        }
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
