/// Owned, aligned Float32 storage shared by tensors that view it.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(capacity, 1))
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// A contiguous row-major Float32 tensor.
///
/// `Tensor` has *reference* semantics for its elements, like a PyTorch tensor: copies of the
/// struct share storage, and `reshaped` is a free view. Use `copy()` for an independent tensor.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    public let storage: TensorStorage
    public let count: Int

    /// Uninitialised memory is never handed out: new tensors are zero-filled.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        count = shape.reduce(1, *)
        storage = TensorStorage(capacity: count)
        storage.pointer.initialize(repeating: 0, count: max(count, 1))
    }

    public init(shape: [Int], repeating value: Float) {
        self.init(shape: shape)
        data.update(repeating: value, count: count)
    }

    /// Throws when `values.count` does not match the shape.
    public init(shape: [Int], values: [Float]) throws {
        let n = shape.reduce(1, *)
        guard n == values.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw SparseWireError.shape("shape \(shape) holds \(n) values, got \(values.count)")
        }
        self.init(shape: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: n) }
    }

    /// For kernels that write every element before anything reads it.
    init(uninitialized shape: [Int]) {
        self.shape = shape
        count = shape.reduce(1, *)
        storage = TensorStorage(capacity: count)
    }

    init(shape: [Int], storage: TensorStorage) {
        self.shape = shape
        self.storage = storage
        count = shape.reduce(1, *)
    }

    @inline(__always) public var data: UnsafeMutablePointer<Float> { storage.pointer }
    public var rank: Int { shape.count }

    /// A view with a new shape and the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        let n = newShape.reduce(1, *)
        guard n == count, newShape.allSatisfy({ $0 >= 0 }) else {
            throw SparseWireError.shape("cannot reshape \(shape) (\(count) values) to \(newShape)")
        }
        return Tensor(shape: newShape, storage: storage)
    }

    public func copy() -> Tensor {
        let t = Tensor(shape: shape)
        t.data.update(from: data, count: count)
        return t
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    public subscript(i: Int) -> Float {
        get { data[i] }
        nonmutating set { data[i] = newValue }
    }

    public func fill(_ v: Float) { data.update(repeating: v, count: count) }

    public var description: String {
        let head = array.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor\(shape)[\(head)\(count > 8 ? ", …" : "")]"
    }

    public func sameShape(_ other: Tensor) -> Bool { shape == other.shape }
}

import Foundation

/// Owns raw scratch memory captured by a backward closure; freed with the tape.
final class ScratchOwner<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
    deinit { pointer.deallocate() }
}
