import CKernels
import Foundation
import SparseWireTensor

/// A masked weight's sparsity pattern for training, with the packings the sparse training
/// kernels read.
///
/// The pattern is the mask's (m ≠ 0), not the non-zeros of ŵ = w ⊙ m: a kept weight may be
/// exactly 0 (RigL grows weights at 0) and still needs its gradient. It is built when the mask
/// changes: one pass over the mask (O(count)), then the transposed pattern and both packings
/// from the kept entries (O(kept)). Each step `refresh(weight:mask:binary:)` gathers ŵ at the kept
/// entries in index order and from there into the packed slots (O(kept)).
///
/// A linear weight W[out, in] keeps two lane packings (`Ops+SparseLanes.swift`): W itself for
/// y = x·Wᵀ and Wᵀ for dX = dY·W. A convolution weight W[O, C, kh, kw] keeps its CSR pattern
/// (forward, `swk_csr_rows` on shifted planes) and the CSR of the flipped transpose
/// W'[c, o, t'] = W[o, c, taps − 1 − t'] (input gradient: a stride-1 convolution of the padded
/// dY). The active-entry weight gradient reads the CSR pattern (`rowPtr`, `colIndex`; `active`
/// holds the same entries as flat indices, row-major).
public final class SparseTrainingWeight {
    /// The weight's shape, [out, in] or [O, C, kh, kw].
    public let shape: [Int]
    /// The flattened matrix: rows = shape[0], cols = the product of the rest.
    public let rows: Int, cols: Int
    /// The kept entries as flat indices, ascending (the order of the CSR entries).
    public let active: ActiveIndices
    /// CSR of the pattern: row r holds `colIndex[rowPtr[r] ..< rowPtr[r + 1]]`.
    package let rowPtr: [Int32], colIndex: [Int32]
    /// ŵ at the kept entries, in CSR order (rewritten by `refresh`).
    package let activeValues: Tensor
    /// The kernels' forms of the pattern.
    package let kernels: Kernels

    /// How the kernels read the pattern.
    package enum Kernels {
        /// A linear weight: W's lane packing (forward) and Wᵀ's (input gradient).
        case lanes(forward: Packed, transposed: Packed)
        /// A convolution: the CSR pattern itself (values: `activeValues`) and the flipped
        /// transpose's CSR (`flippedPtr`, `flippedCol` over columns o·taps + t'), its values
        /// gathered from `activeValues` through `flippedEntry`.
        case csr(flippedPtr: [Int32], flippedCol: [Int32], flippedEntry: [Int32], flippedValues: Tensor)
    }

    /// A lane packing whose values are refreshed from `activeValues` through `sources`.
    package struct Packed {
        /// Chunks and offsets (its own `values` are the pattern's zeros: the slot values live in `values`).
        package let packing: LanePacking
        /// The CSR entry of W each slot holds, −1 for padding.
        package let sources: [Int32]
        /// The slot values ŵ at `sources`, rewritten by `refresh`.
        package let values: Tensor
    }

    /// The kept fraction (kept entries / count).
    public var density: Double { Double(active.count) / Double(max(rows * cols, 1)) }

    /// The pattern of `mask` (its non-zero entries), packed for a linear layer [out, in];
    /// `structure` (`Parameter.maskStructure`) aligns the forward tiles to its chunks.
    /// Errors: `.shape` for a mask that is not [out, in] or exceeds the 32-bit index range.
    public init(linearMask mask: Tensor, structure: String?) throws {
        guard mask.rank == 2 else { throw SparseWireError.shape("sparse training: a linear weight must be [out, in], got \(mask.shape)") }
        let pattern = try SparseWeight(pattern: mask)
        pattern.structure = structure
        shape = mask.shape; rows = mask.shape[0]; cols = mask.shape[1]
        rowPtr = pattern.rowPtr; colIndex = pattern.colIndex
        let nnz = pattern.nonZeros
        active = Self.flatIndices(rowPtr, colIndex, cols: cols)
        activeValues = Tensor.bucketed(count: nnz)
        // The two packings are independent: one per thread (the rebuild is on the step's path
        // whenever the mask changed).
        let rows = rows, cols = cols, rowPtr = rowPtr, colIndex = colIndex
        let built = PackPair()
        Parallel.forEachRange(2, workers: Parallel.workers(for: 2)) { _, lo, hi in
            for part in lo..<hi {
                do {
                    if part == 0 { built.forward = try Self.pack(pattern) { Int32($0) }; continue }
                    // Wᵀ[in, out] by a counting sort of the entries by column (CSR → CSC),
                    // remembering which entry of W each one is.
                    var tptr = [Int32](repeating: 0, count: cols + 1)
                    for c in colIndex { tptr[Int(c) + 1] += 1 }
                    for i in 0..<cols { tptr[i + 1] += tptr[i] }
                    var next = tptr.dropLast().map { Int($0) }
                    var trow = [Int32](repeating: 0, count: nnz), tentry = [Int32](repeating: 0, count: nnz)
                    for r in 0..<rows {
                        for e in Int(rowPtr[r])..<Int(rowPtr[r + 1]) {
                            let c = Int(colIndex[e]), at = next[c]
                            trow[at] = Int32(r); tentry[at] = Int32(e); next[c] = at + 1
                        }
                    }
                    let tp = SparseWeight(shape: [cols, rows], rowPtr: tptr, colIndex: trow)
                    built.transposed = try Self.pack(tp) { tentry[$0] }
                } catch { built.failure = error }
            }
        }
        if let e = built.failure { throw e }
        kernels = .lanes(forward: built.forward!, transposed: built.transposed!)
    }

    /// The pattern of a convolution's `mask` [O, C, kh, kw] (its non-zero entries) and of its
    /// flipped transpose. Errors: `.shape` for another rank or more than 2³¹ entries.
    public init(convMask mask: Tensor) throws {
        guard mask.rank == 4 else { throw SparseWireError.shape("sparse training: a conv weight must be [O, C, kh, kw], got \(mask.shape)") }
        let pattern = try SparseWeight(pattern: mask)
        shape = mask.shape; rows = mask.shape[0]; cols = pattern.cols
        rowPtr = pattern.rowPtr; colIndex = pattern.colIndex
        let nnz = pattern.nonZeros, taps = mask.shape[2] * mask.shape[3], channels = mask.shape[1]
        active = Self.flatIndices(rowPtr, colIndex, cols: cols)
        activeValues = Tensor.bucketed(count: nnz)
        // W'[c, o·taps + t'] by a counting sort on c; each row of W read backwards so that a
        // row of W' comes out in ascending column order (o ascending, then t' = taps − 1 − t).
        var fptr = [Int32](repeating: 0, count: channels + 1)
        for col in colIndex { fptr[Int(col) / taps + 1] += 1 }
        for c in 0..<channels { fptr[c + 1] += fptr[c] }
        var next = fptr.dropLast().map { Int($0) }
        var fcol = [Int32](repeating: 0, count: nnz), fentry = [Int32](repeating: 0, count: nnz)
        for o in 0..<rows {
            for e in stride(from: Int(rowPtr[o + 1]) - 1, through: Int(rowPtr[o]), by: -1) {
                let col = Int(colIndex[e]), c = col / taps, t = col % taps, at = next[c]
                fcol[at] = Int32(o * taps + taps - 1 - t); fentry[at] = Int32(e); next[c] = at + 1
            }
        }
        kernels = .csr(flippedPtr: fptr, flippedCol: fcol, flippedEntry: fentry, flippedValues: Tensor.bucketed(count: nnz))
    }

    /// The flat (row-major) index of each CSR entry.
    private static func flatIndices(_ rowPtr: [Int32], _ colIndex: [Int32], cols: Int) -> ActiveIndices {
        var flat = [Int32](repeating: 0, count: colIndex.count)
        for r in 0..<(rowPtr.count - 1) { for e in Int(rowPtr[r])..<Int(rowPtr[r + 1]) { flat[e] = Int32(r * cols) + colIndex[e] } }
        return ActiveIndices(flat)
    }

    /// Packs `pattern` for 64-float source rows (linear layers); slot sources are W's CSR
    /// entries `entry(e)` of the pattern's entries e.
    private static func pack(_ pattern: SparseWeight, entry: (Int) -> Int32) throws -> Packed {
        let packing = try pattern.linearLanePacking()
        let sources = packing.sources.map { $0 < 0 ? -1 : entry(Int($0)) }
        return Packed(packing: packing, sources: sources, values: Tensor.bucketed(count: sources.count))
    }

    /// Writes ŵ = w ⊙ m at the kept entries, then into every packed slot of both packings
    /// (O(kept)). With `binary` masks (1 at every kept entry) ŵ = w there and the mask is not read.
    public func refresh(weight: Tensor, mask: Tensor, binary: Bool) {
        let av = activeValues.data, wp = weight.data, mp = mask.data
        active.indices.withUnsafeBufferPointer { ip in
            Parallel.forEachChunk(ip.count, grain: 1 << 14) { lo, hi in
                if binary { swk_gather(wp, ip.baseAddress! + lo, hi - lo, av + lo) }
                else { swk_gather_product(wp, mp, ip.baseAddress! + lo, hi - lo, av + lo) }
            }
        }
        switch kernels {
        case let .lanes(f, t):
            // Both packings in one parallel pass over their concatenated slots.
            let nf = f.sources.count
            f.sources.withUnsafeBufferPointer { fs in t.sources.withUnsafeBufferPointer { ts in
                Parallel.forEachChunk(nf + ts.count, grain: 1 << 14) { lo, hi in
                    if lo < nf { swk_gather(av, fs.baseAddress! + lo, min(hi, nf) - lo, f.values.data + lo) }
                    if hi > nf { let a = max(lo, nf) - nf; swk_gather(av, ts.baseAddress! + a, hi - nf - a, t.values.data + a) }
                }
            } }
        case let .csr(_, _, entry, values):
            entry.withUnsafeBufferPointer { ep in
                Parallel.forEachChunk(ep.count, grain: 1 << 14) { lo, hi in swk_gather(av, ep.baseAddress! + lo, hi - lo, values.data + lo) }
            }
        }
    }
}

/// The two packings of a linear weight, built on two threads (each writes its own field).
private final class PackPair: @unchecked Sendable {
    var forward: SparseTrainingWeight.Packed?, transposed: SparseTrainingWeight.Packed?
    var failure: Error?
}
