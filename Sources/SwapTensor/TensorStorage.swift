/// The heap buffer behind a `Tensor`: a 64-byte aligned block of Float32 values.
///
/// Storage is a reference type; `Tensor` gives it value semantics through copy-on-write.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Allocates uninitialised storage for `count` floats.
    public init(uninitializedCount count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride,
                                                   alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Allocates storage filled with `value`.
    public convenience init(count: Int, repeating value: Float) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    /// A deep copy of this storage.
    public func copy() -> TensorStorage {
        let result = TensorStorage(uninitializedCount: count)
        result.pointer.update(from: pointer, count: count)
        return result
    }

    deinit { pointer.deallocate() }
}
