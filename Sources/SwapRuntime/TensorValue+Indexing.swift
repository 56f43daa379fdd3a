import SwapLang
import SwapTensor

// Indexing and slicing of tensors with Python/NumPy rules:
//   x[0]          first entry along axis 0 (the axis is dropped)
//   x[-1]         last entry
//   x[:, 8:24]    a range on axis 1 (kept)
//   x[::2]        every other entry; negative steps walk backwards
//   x[..., 0]     `...` stands for as many full slices as needed
//   x[[0, 2]]     a list of indices selects those entries (kept, repeats allowed)
// Reads map to `Tensor.indexSelect` and `reshaped`; a fully indexed element is a number.

extension TensorValue {
    public func index(_ items: [IndexItem]) throws -> Value {
        try TensorIndexer.select(tensor, items)
    }

    public func setIndex(_ items: [IndexItem], to value: Value) throws {
        tensor = try TensorIndexer.assign(tensor, items, value)
    }
}

/// The indices one subscript picks on one axis.
struct AxisSelection {
    /// Positions along the axis, in order.
    var indices: [Int]
    /// True for a single integer index: the axis disappears from the result.
    var drops: Bool
}

/// Resolves subscripts against a shape and applies them.
enum TensorIndexer {
    /// `x[items]`: a tensor, or a number when every axis is fixed.
    static func select(_ t: Tensor, _ items: [IndexItem]) throws -> Value {
        let selections = try resolve(items, shape: t.shape)
        var result = t
        for (axis, sel) in selections.enumerated() where !(sel.indices.count == t.shape[axis] && sel.indices == Array(0..<t.shape[axis])) {
            result = try Convert.engine("index") { try result.indexSelect(axis: axis, sel.indices) }
        }
        let keptShape = zip(selections, result.shape).filter { !$0.0.drops }.map(\.1)
        if keptShape.isEmpty && t.rank > 0 || t.rank == 0 {
            return .number(Convert.number(result.scalars.first ?? 0))
        }
        return .tensor(try Convert.engine("index") { try result.reshaped(keptShape) })
    }

    /// `x[items] = value`: returns the updated tensor. `value` is a number or a tensor that
    /// broadcasts to the selected shape.
    static func assign(_ t: Tensor, _ items: [IndexItem], _ value: Value) throws -> Tensor {
        let selections = try resolve(items, shape: t.shape)
        let fullShape = selections.map { $0.indices.count }
        let keptShape = selections.filter { !$0.drops }.map { $0.indices.count }
        let source: Tensor
        switch value {
        case .number(let d):
            source = Tensor(shape: fullShape, repeating: Float(d))
        case .host(let h):
            guard let v = h as? TensorValue else {
                throw HostError("index assignment: value must be a number or a tensor, got \(h.kindName)")
            }
            guard Broadcast.shape(v.tensor.shape, keptShape) == keptShape else {
                throw HostError("index assignment: value of shape \(formatShape(v.tensor.shape)) does not broadcast to the selection \(formatShape(keptShape))")
            }
            source = try Convert.engine("index assignment") { try v.tensor.broadcast(to: keptShape).reshaped(fullShape) }
        default:
            throw HostError("index assignment: value must be a number or a tensor, got \(value.typeName)")
        }
        var out = t
        let total = fullShape.reduce(1, *)
        if total == 0 { return out }
        let strides = contiguousStrides(t.shape)
        let src = source.scalars
        out.withUnsafeMutableBufferPointer { dst in
            var counter = [Int](repeating: 0, count: fullShape.count)
            for k in 0..<total {
                var offset = 0
                for axis in 0..<counter.count { offset += selections[axis].indices[counter[axis]] * strides[axis] }
                dst[offset] = src[k]
                var axis = counter.count - 1
                while axis >= 0 {
                    counter[axis] += 1
                    if counter[axis] < fullShape[axis] { break }
                    counter[axis] = 0
                    axis -= 1
                }
            }
        }
        return out
    }

    /// One selection per axis of `shape`, expanding `...` and trailing axes to full slices.
    static func resolve(_ items: [IndexItem], shape: [Int]) throws -> [AxisSelection] {
        let ellipses = items.filter { if case .ellipsis = $0 { return true }; return false }.count
        guard ellipses <= 1 else { throw HostError("index: at most one '...' is allowed") }
        let explicit = items.count - ellipses
        guard explicit <= shape.count else {
            throw HostError("index: too many indices (\(explicit)) for a tensor of shape \(formatShape(shape))")
        }
        var expanded: [IndexItem] = []
        for item in items {
            if case .ellipsis = item {
                expanded += Array(repeating: .slice(start: nil, stop: nil, step: nil), count: shape.count - explicit)
            } else {
                expanded.append(item)
            }
        }
        while expanded.count < shape.count { expanded.append(.slice(start: nil, stop: nil, step: nil)) }
        return try zip(expanded, shape).enumerated().map { axis, pair in
            try selection(pair.0, extent: pair.1, axis: axis, shape: shape)
        }
    }

    private static func selection(_ item: IndexItem, extent: Int, axis: Int, shape: [Int]) throws -> AxisSelection {
        func position(_ v: Value) throws -> Int {
            guard let i = Convert.int(v) else {
                throw HostError("index: indices must be integers, got \(v.summary)")
            }
            let j = i < 0 ? i + extent : i
            guard j >= 0 && j < extent else {
                throw HostError("index: \(i) is out of range for axis \(axis) of size \(extent) (shape \(formatShape(shape)))")
            }
            return j
        }
        switch item {
        case .ellipsis:
            return AxisSelection(indices: Array(0..<extent), drops: false)
        case .value(.list(let box)):
            return AxisSelection(indices: try box.items.map(position), drops: false)
        case .value(.host(let h)):
            guard let t = h as? TensorValue, t.tensor.rank == 1 else {
                throw HostError("index: a tensor index must be rank 1, got \(h.summary)")
            }
            return AxisSelection(indices: try t.tensor.scalars.map { try position(.number(Double($0))) }, drops: false)
        case .value(let v):
            return AxisSelection(indices: [try position(v)], drops: true)
        case .slice(let a, let b, let c):
            return AxisSelection(indices: try sliceIndices(a, b, c, count: extent), drops: false)
        }
    }

    /// Python's `slice(a, b, c).indices(count)` expanded to positions.
    static func sliceIndices(_ a: Value?, _ b: Value?, _ c: Value?, count: Int) throws -> [Int] {
        func bound(_ v: Value?, _ name: String) throws -> Int? {
            guard let v else { return nil }
            if case .nil = v { return nil }
            guard let i = Convert.int(v) else { throw HostError("index: slice \(name) must be an integer, got \(v.summary)") }
            return i
        }
        let step = try bound(c, "step") ?? 1
        guard step != 0 else { throw HostError("index: slice step cannot be zero") }
        func clamp(_ i: Int?, _ dflt: Int, lo: Int, hi: Int) -> Int {
            guard var i else { return dflt }
            if i < 0 { i += count }
            return Swift.min(Swift.max(i, lo), hi)
        }
        var out: [Int] = []
        if step > 0 {
            var i = clamp(try bound(a, "start"), 0, lo: 0, hi: count)
            let stop = clamp(try bound(b, "stop"), count, lo: 0, hi: count)
            while i < stop { out.append(i); i += step }
        } else {
            var i = clamp(try bound(a, "start"), count - 1, lo: -1, hi: count - 1)
            let stop = clamp(try bound(b, "stop"), -1, lo: -1, hi: count - 1)
            while i > stop { out.append(i); i += step }
        }
        return out
    }
}
