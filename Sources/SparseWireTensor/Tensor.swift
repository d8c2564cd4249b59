import Foundation

/// Owned, aligned Float32 storage shared by tensors that view it. Large blocks come from and
/// go back to `StoragePool`, so a training step's activations and gradients reuse the previous
/// step's memory instead of faulting fresh pages in.
public final class TensorStorage: @unchecked Sendable {
    /// Start of the 64-byte-aligned Float32 block (room for at least one element).
    public let pointer: UnsafeMutablePointer<Float>
    /// Float32 elements the viewing tensors may use (the block is never resized).
    public let capacity: Int

    package init(capacity: Int) {
        self.capacity = capacity
        pointer = StoragePool.take(max(capacity, 1))
    }

    deinit { StoragePool.give(pointer, max(capacity, 1)) }
}

/// Recycles large float blocks by exact size (a step allocates the same shapes every time).
/// Bounded: at most `limitBytes` are held (SPARSEWIRE_POOL_MB, default 1024; 0 turns it off).
package enum StoragePool {
    package static let minimumFloats = 1 << 14
    nonisolated(unsafe) private static var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    nonisolated(unsafe) private static var heldBytes = 0
    private static let lock = NSLock()
    package static let limitBytes: Int = {
        if let v = ProcessInfo.processInfo.environment["SPARSEWIRE_POOL_MB"], let mb = Int(v), mb >= 0 { return mb << 20 }
        return 1024 << 20
    }()

    package static func take(_ n: Int) -> UnsafeMutablePointer<Float> {
        if n >= minimumFloats {
            lock.lock()
            if let p = free[n]?.popLast() {
                heldBytes -= n * 4
                lock.unlock()
                return p
            }
            lock.unlock()
        }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: n)
    }

    package static func give(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        if n >= minimumFloats {
            lock.lock()
            if heldBytes + n * 4 <= limitBytes {
                free[n, default: []].append(p)
                heldBytes += n * 4
                lock.unlock()
                return
            }
            lock.unlock()
        }
        UnsafeMutableRawPointer(p).deallocate()
    }

    /// Returns every held block to the system allocator.
    package static func drain() {
        lock.lock(); defer { lock.unlock() }
        for (_, list) in free { for p in list { UnsafeMutableRawPointer(p).deallocate() } }
        free = [:]
        heldBytes = 0
    }
}

/// A contiguous row-major Float32 tensor.
///
/// `Tensor` has *reference* semantics for its elements, like a PyTorch tensor: copies of the
/// struct share storage, and `reshaped` is a free view. Use `copy()` for an independent tensor.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    /// Dimensions, outermost first (row-major; NCHW for image batches).
    public let shape: [Int]
    /// The storage this tensor views, shared with its copies and reshaped views.
    public let storage: TensorStorage
    /// Number of elements: the product of `shape` (1 for rank 0).
    public let count: Int

    /// Uninitialised memory is never handed out: new tensors are zero-filled.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        count = shape.reduce(1, *)
        storage = TensorStorage(capacity: count)
        storage.pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// A new tensor with every element `value`. Precondition: no negative dimension.
    public init(shape: [Int], repeating value: Float) {
        self.init(shape: shape)
        data.update(repeating: value, count: count)
    }

    /// A new tensor holding `values` in row-major order (copied).
    /// Errors: `.shape` when `values.count` is not the product of `shape` or a dimension is negative.
    public init(shape: [Int], values: [Float]) throws {
        let n = shape.reduce(1, *)
        guard n == values.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw SparseWireError.shape("shape \(shape) holds \(n) values, got \(values.count)")
        }
        self.init(shape: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: n) }
    }

    /// For kernels that write every element before anything reads it.
    package init(uninitialized shape: [Int]) {
        self.shape = shape
        count = shape.reduce(1, *)
        storage = TensorStorage(capacity: count)
    }

    /// A zero-filled vector of `count` elements whose storage is rounded up to one of a few sizes
    /// per power of two (at most 1/8 larger), so that buffers whose size drifts (a sparse
    /// pattern's kept count under gradual pruning) are reused by the pool instead of piling up
    /// one size each.
    package static func bucketed(count: Int) -> Tensor {
        let n = max(count, 1)
        let step = max(1, (1 << (Int.bitWidth - n.leadingZeroBitCount)) >> 3)
        let storage = TensorStorage(capacity: (n + step - 1) / step * step)
        storage.pointer.initialize(repeating: 0, count: storage.capacity)
        return Tensor(shape: [n], storage: storage)
    }

    package init(shape: [Int], storage: TensorStorage) {
        self.shape = shape
        self.storage = storage
        count = shape.reduce(1, *)
    }

    /// The first element; writes through it are seen by every tensor sharing `storage`.
    @inline(__always) public var data: UnsafeMutablePointer<Float> { storage.pointer }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// A view with a new shape and the same element count (no copy).
    /// Errors: `.shape` when `newShape` holds another element count or has a negative dimension.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        let n = newShape.reduce(1, *)
        guard n == count, newShape.allSatisfy({ $0 >= 0 }) else {
            throw SparseWireError.shape("cannot reshape \(shape) (\(count) values) to \(newShape)")
        }
        return Tensor(shape: newShape, storage: storage)
    }

    /// An independent tensor (new storage) with the same shape and values.
    public func copy() -> Tensor {
        let t = Tensor(shape: shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// The elements copied into an array, in row-major order.
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Element `i` of the flat row-major data (0 ≤ i < count, not bounds-checked);
    /// setting it writes the shared storage.
    public subscript(i: Int) -> Float {
        get { data[i] }
        nonmutating set { data[i] = newValue }
    }

    /// Sets every element to `v`, in the shared storage.
    public func fill(_ v: Float) { data.update(repeating: v, count: count) }

    public var description: String {
        let head = array.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor\(shape)[\(head)\(count > 8 ? ", …" : "")]"
    }

    /// Whether `other` has exactly the same shape.
    public func sameShape(_ other: Tensor) -> Bool { shape == other.shape }
}


/// Owns raw scratch memory captured by a backward closure; freed with the tape.
package final class ScratchOwner<T>: @unchecked Sendable {
    package let pointer: UnsafeMutablePointer<T>
    package init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
    deinit { pointer.deallocate() }
}
