// Indexing and slicing of lists, strings, ranges and records; index assignment.
// Negative indices count from the end; slices `a:b`, `:b`, `a:`, `a:b:step` clamp like Python.
extension Interpreter {
    func subscriptValue(_ object: Value, _ items: [IndexItem]) throws -> Value {
        if case .host(let h) = object { return try h.index(items) }
        if case .record(let box) = object {
            guard items.count == 1, case .value(.string(let key)) = items[0] else {
                throw HostError("record index must be one string key")
            }
            if let v = box[key] { return v }
            throw HostError("record has no field '\(key)'" + fieldList(box.keys))
        }
        guard items.count == 1 else {
            throw HostError("a \(object.typeName) takes one index, got \(items.count)")
        }
        let item = items[0]
        switch object {
        case .list(let box):
            return try pick(item, count: box.items.count, single: { box.items[$0] },
                            slice: { idx in .list(idx.map { box.items[$0] }) })
        case .string(let s):
            let chars = Array(s)
            return try pick(item, count: chars.count, single: { .string(String(chars[$0])) },
                            slice: { idx in .string(String(idx.map { chars[$0] })) })
        case .range(let r):
            return try pick(item, count: r.count, single: { .number(Double(r.element($0))) },
                            slice: { idx in .list(idx.map { .number(Double(r.element($0))) }) })
        default:
            throw HostError("a \(object.typeName) cannot be indexed")
        }
    }

    private func pick(_ item: IndexItem, count: Int, single: (Int) -> Value, slice: ([Int]) -> Value) throws -> Value {
        switch item {
        case .value(let v):
            return single(try position(v, count: count))
        case .slice(let a, let b, let c):
            return slice(try sliceIndices(a, b, c, count: count))
        case .ellipsis:
            return slice(try sliceIndices(nil, nil, nil, count: count))
        }
    }

    /// Resolves an index (negative counts from the end) and checks bounds.
    func position(_ v: Value, count: Int) throws -> Int {
        guard case .number(let d) = v, let i = exactInt(d) else {
            throw HostError("index must be an integer, got \(v.summary)")
        }
        let j = i < 0 ? i + count : i
        guard j >= 0 && j < count else { throw HostError("index \(i) out of range for length \(count)") }
        return j
    }

    func sliceIndices(_ a: Value?, _ b: Value?, _ c: Value?, count: Int) throws -> [Int] {
        func bound(_ v: Value?, _ name: String) throws -> Int? {
            guard let v, !(v.equals(.nil)) else { return nil }
            guard case .number(let d) = v, let i = exactInt(d) else {
                throw HostError("slice \(name) must be an integer, got \(v.summary)")
            }
            return i
        }
        let step = try bound(c, "step") ?? 1
        if step == 0 { throw HostError("slice step cannot be zero") }
        func clamp(_ i: Int?, _ dflt: Int, lo: Int, hi: Int) -> Int {
            guard var i else { return dflt }
            if i < 0 { i += count }
            return min(max(i, lo), hi)
        }
        var out: [Int] = []
        func add(_ i: Int) throws {
            if out.count >= Interpreter.maxCollectionSize { throw HostError("slice too long") }
            out.append(i)
        }
        if step > 0 {
            var i = clamp(try bound(a, "start"), 0, lo: 0, hi: count)
            let stop = clamp(try bound(b, "stop"), count, lo: 0, hi: count)
            while i < stop { try add(i); i += step }
        } else {
            var i = clamp(try bound(a, "start"), count - 1, lo: -1, hi: count - 1)
            let stop = clamp(try bound(b, "stop"), -1, lo: -1, hi: count - 1)
            while i > stop { try add(i); i += step }
        }
        return out
    }

    func setIndex(_ object: Value, _ items: [IndexItem], _ value: Value) throws {
        switch object {
        case .host(let h):
            try h.setIndex(items, to: value)
        case .list(let box):
            guard items.count == 1, case .value(let v) = items[0] else {
                throw HostError("list assignment takes one integer index")
            }
            box.items[try position(v, count: box.items.count)] = value
        case .record(let box):
            guard items.count == 1, case .value(.string(let key)) = items[0] else {
                throw HostError("record index must be one string key")
            }
            box[key] = value
        default:
            throw HostError("a \(object.typeName) does not support index assignment")
        }
    }
}
