import Foundation
import SwapTensor

// A restricted reader of `torch.save` files (torch/serialization.py `_save` zip format: the
// pickle `<archive>/data.pkl`, storages `<archive>/data/<key>`, `<archive>/byteorder`). The
// pickle is interpreted, never executed: only the data opcodes of protocols 2-4 (Python's
// Lib/pickletools.py) and these globals are accepted —
//   torch._utils._rebuild_tensor_v2 / _rebuild_parameter / _rebuild_parameter_with_state,
//   collections.OrderedDict, and the typed storages torch.{Float,Half,BFloat16,Double}Storage
//   inside persistent ids ('storage', type, key, location, numel).
// Anything else (any other global, object construction, extensions) is refused with an error
// naming it, so a hostile file can do nothing but fail to load.

/// A value of a torch pickle: Python data, with tensors read as Float32.
public indirect enum TorchValue: CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([TorchValue])
    case list(TorchList)
    /// Keys in insertion order.
    case dict(TorchDict)
    case tensor(Tensor)
    /// A whitelisted callable or storage type ("module.name").
    case global(String)
    /// A storage from a persistent id: its dtype, zip key and element count.
    case storage(dtype: String, key: String, count: Int)

    public var description: String {
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return "\(i)"
        case .float(let f): return "\(f)"
        case .string(let s): return "'\(s)'"
        case .bytes(let b): return "bytes(\(b.count))"
        case .tuple(let t): return "(\(t.map(\.description).joined(separator: ", ")))"
        case .list(let l): return "[\(l.items.map(\.description).joined(separator: ", "))]"
        case .dict(let d): return "{\(d.entries.map { "\($0.0): \($0.1)" }.joined(separator: ", "))}"
        case .tensor(let t): return "tensor\(formatShape(t.shape))"
        case .global(let g): return g
        case .storage(let dtype, let key, _): return "\(dtype)(\(key))"
        }
    }

    /// The string-keyed entries of a dict (nil for anything else).
    public var stringKeyed: [String: TorchValue]? {
        guard case .dict(let d) = self else { return nil }
        var result: [String: TorchValue] = [:]
        for (k, v) in d.entries { if case .string(let s) = k { result[s] = v } }
        return result
    }
}

/// A pickled list (a reference, as the pickle's memo shares it).
public final class TorchList { public var items: [TorchValue] = [] }
/// A pickled dict or OrderedDict (a reference, as the pickle's memo shares it).
public final class TorchDict { public var entries: [(TorchValue, TorchValue)] = [] }

/// An error reading a torch file: names the file and what is wrong.
public struct TorchFileError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum TorchFile {
    /// Reads a `torch.save` zip file's object. Tensors become Float32 `Tensor`s.
    public static func load(_ path: String) throws -> TorchValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw TorchFileError("\(path): cannot read the file") }
        do { return try load(bytes: [UInt8](data)) } catch let e as TorchFileError { throw TorchFileError("\(path): \(e.message)") }
    }

    public static func load(bytes: [UInt8]) throws -> TorchValue {
        guard ZipArchive.isZip(bytes) else {
            throw TorchFileError("not a torch zip file (legacy pre-1.6 torch.save files and plain pickles are not read)")
        }
        do {
            let zip = try ZipArchive(bytes: bytes)
            guard let pkl = zip.names.first(where: { $0.hasSuffix("data.pkl") && $0.split(separator: "/").count == 2 }) else {
                throw TorchFileError("no <archive>/data.pkl entry (entries: \(zip.names.prefix(5).joined(separator: ", ")))")
            }
            let prefix = String(pkl.dropLast("data.pkl".count))
            if zip.names.contains(prefix + "byteorder"), String(decoding: try zip.data(prefix + "byteorder"), as: UTF8.self) != "little" {
                throw TorchFileError("big-endian storages are not read")
            }
            var unpickler = TorchUnpickler(bytes: try zip.data(pkl)) { key in try zip.data(prefix + "data/" + key) }
            return try unpickler.run()
        } catch let e as ZipError { throw TorchFileError("\(e)") }
    }
}

/// The restricted pickle machine (opcodes as in Lib/pickletools.py).
struct TorchUnpickler {
    let bytes: [UInt8]
    let storageBytes: (String) throws -> [UInt8]
    var position = 0
    var stack: [TorchValue] = []
    var marks: [Int] = []
    var memo: [Int: TorchValue] = [:]

    init(bytes: [UInt8], storageBytes: @escaping (String) throws -> [UInt8]) {
        self.bytes = bytes
        self.storageBytes = storageBytes
    }

    static let allowedGlobals: Set<String> = [
        "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
        "collections.OrderedDict", "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.DoubleStorage",
    ]

    func fail(_ message: String) -> TorchFileError { TorchFileError("pickle byte \(position): \(message)") }

    mutating func read(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, position + n <= bytes.count else { throw fail("truncated pickle") }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    mutating func uint(_ n: Int) throws -> Int {
        try read(n).reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0a) else { throw fail("unterminated line") }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    mutating func pop() throws -> TorchValue {
        guard let v = stack.popLast() else { throw fail("stack underflow") }
        return v
    }

    mutating func popMark() throws -> [TorchValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw fail("no mark") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    mutating func run() throws -> TorchValue {
        while true {
            let op = UInt8(try uint(1))
            switch op {
            case 0x80: _ = try read(1)                                   // PROTO
            case 0x95: _ = try read(8)                                   // FRAME
            case 0x2e: return try pop()                                  // STOP
            case 0x28: marks.append(stack.count)                         // MARK
            case 0x30: _ = try pop()                                     // POP
            case 0x31: _ = try popMark()                                 // POP_MARK
            case 0x32: stack.append(try pop()); stack.append(stack[stack.count - 1])   // DUP
            case 0x4e: stack.append(.none)                               // NONE
            case 0x88: stack.append(.bool(true))                         // NEWTRUE
            case 0x89: stack.append(.bool(false))                        // NEWFALSE
            case 0x4b: stack.append(.int(try uint(1)))                   // BININT1
            case 0x4d: stack.append(.int(try uint(2)))                   // BININT2
            case 0x4a: stack.append(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))   // BININT
            case 0x8a:                                                   // LONG1
                let n = try uint(1)
                guard n <= 8 else { throw fail("integer of \(n) bytes is too large") }
                let raw = try read(n)
                var value = raw.reversed().reduce(0) { $0 << 8 | Int($1) }
                if n > 0, n < 8, (raw.last ?? 0) & 0x80 != 0 { value -= 1 << (8 * n) }
                stack.append(.int(value))
            case 0x47: stack.append(.float(Double(bitPattern: UInt64(try uint(8)).byteSwapped)))   // BINFLOAT (big-endian)
            case 0x58: stack.append(.string(String(decoding: try read(try uint(4)), as: UTF8.self)))   // BINUNICODE
            case 0x8c: stack.append(.string(String(decoding: try read(try uint(1)), as: UTF8.self)))   // SHORT_BINUNICODE
            case 0x8d: stack.append(.string(String(decoding: try read(try uint(8)), as: UTF8.self)))   // BINUNICODE8
            case 0x54: stack.append(.string(String(decoding: try read(try uint(4)), as: UTF8.self)))   // BINSTRING
            case 0x55: stack.append(.string(String(decoding: try read(try uint(1)), as: UTF8.self)))   // SHORT_BINSTRING
            case 0x42: stack.append(.bytes(Array(try read(try uint(4)))))          // BINBYTES
            case 0x43: stack.append(.bytes(Array(try read(try uint(1)))))          // SHORT_BINBYTES
            case 0x29: stack.append(.tuple([]))                                    // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popMark()))                         // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))                           // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))          // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))   // TUPLE3
            case 0x5d: stack.append(.list(TorchList()))                            // EMPTY_LIST
            case 0x6c: let l = TorchList(); l.items = try popMark(); stack.append(.list(l))    // LIST
            case 0x7d: stack.append(.dict(TorchDict()))                            // EMPTY_DICT
            case 0x64: let d = TorchDict(); try setItems(d, try popMark()); stack.append(.dict(d))   // DICT
            case 0x61:                                                             // APPEND
                let v = try pop()
                guard case .list(let l)? = stack.last else { throw fail("APPEND to a non-list") }
                l.items.append(v)
            case 0x65:                                                             // APPENDS
                let items = try popMark()
                guard case .list(let l)? = stack.last else { throw fail("APPENDS to a non-list") }
                l.items += items
            case 0x73:                                                             // SETITEM
                let v = try pop(), k = try pop()
                guard case .dict(let d)? = stack.last else { throw fail("SETITEM on a non-dict") }
                d.entries.append((k, v))
            case 0x75:                                                             // SETITEMS
                let items = try popMark()
                guard case .dict(let d)? = stack.last else { throw fail("SETITEMS on a non-dict") }
                try setItems(d, items)
            case 0x71: memo[try uint(1)] = stack.last                              // BINPUT
            case 0x72: memo[try uint(4)] = stack.last                              // LONG_BINPUT
            case 0x94: memo[memo.count] = stack.last                               // MEMOIZE
            case 0x68, 0x6a:                                                       // BINGET, LONG_BINGET
                let key = try uint(op == 0x68 ? 1 : 4)
                guard let v = memo[key] else { throw fail("memo \(key) is empty") }
                stack.append(v)
            case 0x63:                                                             // GLOBAL
                let module = try line(), name = try line()
                stack.append(try global(module, name))
            case 0x93:                                                             // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else { throw fail("STACK_GLOBAL needs two strings") }
                stack.append(try global(module, name))
            case 0x51: stack.append(try persistent(try pop()))                     // BINPERSID
            case 0x52:                                                             // REDUCE
                guard case .tuple(let args) = try pop(), case .global(let callable) = try pop() else { throw fail("REDUCE needs a callable and a tuple") }
                stack.append(try reduce(callable, args))
            case 0x62:                                                             // BUILD
                let state = try pop()
                guard case .none = state else { throw fail("object state (BUILD) is not read") }
            default:
                throw fail(String(format: "opcode 0x%02x is not allowed (only tensors, dicts, lists and plain values are read)", op))
            }
        }
    }

    func setItems(_ d: TorchDict, _ items: [TorchValue]) throws {
        guard items.count % 2 == 0 else { throw fail("odd number of dict items") }
        for i in stride(from: 0, to: items.count, by: 2) { d.entries.append((items[i], items[i + 1])) }
    }

    func global(_ module: String, _ name: String) throws -> TorchValue {
        let full = module + "." + name
        guard Self.allowedGlobals.contains(full) else {
            throw fail("global '\(full)' is not allowed: only tensors, dicts and lists are read, nothing is executed")
        }
        return .global(full)
    }

    func persistent(_ id: TorchValue) throws -> TorchValue {
        guard case .tuple(let t) = id, t.count == 5, case .string("storage") = t[0], case .global(let type) = t[1],
              case .string(let key) = t[2], case .int(let count) = t[4], count >= 0 else {
            throw fail("persistent id \(id) is not a storage")
        }
        let dtype = String(type.dropFirst("torch.".count).dropLast("Storage".count))
        return .storage(dtype: dtype, key: key, count: count)
    }

    func reduce(_ callable: String, _ args: [TorchValue]) throws -> TorchValue {
        switch callable {
        case "collections.OrderedDict":
            let d = TorchDict()
            if case .list(let pairs)? = args.first {
                for case .tuple(let kv) in pairs.items where kv.count == 2 { d.entries.append((kv[0], kv[1])) }
            }
            return .dict(d)
        case "torch._utils._rebuild_tensor_v2":
            guard args.count >= 4, case .storage(let dtype, let key, let count) = args[0], case .int(let offset) = args[1],
                  case .tuple(let size) = args[2], case .tuple(let stride) = args[3] else {
                throw fail("_rebuild_tensor_v2 arguments \(TorchValue.tuple(args)) are not (storage, offset, size, stride, …)")
            }
            return .tensor(try tensor(dtype: dtype, key: key, count: count, offset: offset, size: size, stride: stride))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard case .tensor? = args.first else { throw fail("\(callable) of \(args.first.map(\.description) ?? "nothing")") }
            return args[0]
        default:
            throw fail("\(callable) cannot be called")
        }
    }

    /// Gathers a strided view of a storage into a contiguous Float32 tensor.
    func tensor(dtype: String, key: String, count: Int, offset: Int, size: [TorchValue], stride: [TorchValue]) throws -> Tensor {
        var shape: [Int] = [], strides: [Int] = []
        for case .int(let s) in size { shape.append(s) }
        for case .int(let s) in stride { strides.append(s) }
        guard shape.count == size.count, strides.count == shape.count, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), offset >= 0 else {
            throw fail("tensor size \(TorchValue.tuple(size)) / stride \(TorchValue.tuple(stride)) are not non-negative integers")
        }
        let width: Int
        switch dtype {
        case "Float": width = 4
        case "Half", "BFloat16": width = 2
        case "Double": width = 8
        default: throw fail("storage type \(dtype) is not read")
        }
        let raw: [UInt8]
        do { raw = try storageBytes(key) } catch { throw fail("storage \(key): \(error)") }
        guard raw.count >= count * width else { throw fail("storage \(key) has \(raw.count) bytes, expected \(count * width)") }
        let elements = shape.reduce(1, *)
        if elements > 0 {
            let last = offset + zip(shape, strides).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
            guard last < count else { throw fail("tensor \(formatShape(shape)) with stride \(strides) runs past its storage of \(count) elements") }
        }
        func element(_ i: Int) -> Float {
            let p = i * width
            switch width {
            case 4: return Float(bitPattern: UInt32(raw[p]) | UInt32(raw[p + 1]) << 8 | UInt32(raw[p + 2]) << 16 | UInt32(raw[p + 3]) << 24)
            case 8:
                var bits: UInt64 = 0
                for k in 0..<8 { bits |= UInt64(raw[p + k]) << (8 * UInt64(k)) }
                return Float(Double(bitPattern: bits))
            default:
                let bits = UInt16(raw[p]) | UInt16(raw[p + 1]) << 8
                return dtype == "Half" ? Float(Float16(bitPattern: bits)) : Float(bitPattern: UInt32(bits) << 16)
            }
        }
        var values = [Float](repeating: 0, count: elements)
        var index = [Int](repeating: 0, count: shape.count)
        for i in 0..<elements {
            values[i] = element(offset + zip(index, strides).reduce(0) { $0 + $1.0 * $1.1 })
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return Tensor(shape: shape, scalars: values)
    }
}
