import CKernels
import Foundation
import SparseWireTensor

/// A masked weight in compressed sparse row form: row r (an output unit or channel) holds its
/// non-zero entries of the effective weight ŵ = w ⊙ m as (column, value) pairs. Built for
/// inference; training keeps the dense path (every weight needs its gradient).
public final class SparseWeight {
    /// The dense weight's shape, e.g. [out, in] or [O, C, kh, kw].
    public let shape: [Int]
    /// The matrix the weight is flattened to: rows = shape[0], cols = the product of the rest.
    public let rows: Int, cols: Int
    /// Row r's entries are colIndex[rowPtr[r] ..< rowPtr[r + 1]] and the same range of values.
    public let rowPtr: [Int32]
    /// The column of each non-zero, row by row (row-major order).
    public let colIndex: [Int32]
    /// The value of each non-zero, parallel to `colIndex`.
    public let values: [Float]

    /// The number of stored non-zeros.
    public var nonZeros: Int { values.count }
    /// The kept fraction nonZeros / (rows·cols).
    public var density: Double { Double(values.count) / Double(max(rows * cols, 1)) }
    /// The kernel family inference runs this weight on: `csr` (row pointers and column indices)
    /// or `lanes` (chunks of 8 over 64 lanes, `Ops+SparseLanes.swift`). `SparseInference` picks it.
    public var kernel: SparseKernel = .csr
    /// The mask's structure as `Parameter.maskStructure` names it ("2:4", "block 1x8"), nil when
    /// unstructured: the lane kernels align their tiles to it so that chunks fill exactly.
    public var structure: String?
    /// The last lane packing and the geometry it was built for.
    var laneCache: (key: [Int], packing: LanePacking)?

    /// The non-zero entries of `weight` ([rows, …] flattened to [rows, cols]).
    public init(_ weight: Tensor) throws {
        guard weight.rank >= 2, weight.shape[0] > 0 else {
            throw SparseWireError.shape("sparse weight: need [rows, ...] with rows > 0, got \(weight.shape)")
        }
        guard weight.count < Int(Int32.max) else {
            throw SparseWireError.shape("sparse weight: \(weight.count) entries exceed the 32-bit index range")
        }
        shape = weight.shape
        rows = weight.shape[0]
        cols = weight.count / rows
        let nnz = swk_count_nonzero(weight.data, weight.count)
        var ptr = [Int32](repeating: 0, count: rows + 1)
        var col = [Int32](); col.reserveCapacity(nnz)
        var val = [Float](); val.reserveCapacity(nnz)
        let w = weight.data
        for r in 0..<rows {
            let row = w + r * cols
            for c in 0..<cols where row[c] != 0 { col.append(Int32(c)); val.append(row[c]) }
            ptr[r + 1] = Int32(col.count)
        }
        rowPtr = ptr; colIndex = col; values = val
    }

    /// The non-zero pattern of `mask` ([rows, …] flattened to [rows, cols]) with all values 0, built
    /// by one vectorised pass (`swk_mask_csr`). Errors: as `init(_:)`.
    package convenience init(pattern mask: Tensor) throws {
        guard mask.rank >= 2, mask.shape[0] > 0 else {
            throw SparseWireError.shape("sparse weight: need [rows, ...] with rows > 0, got \(mask.shape)")
        }
        guard mask.count < Int(Int32.max) else {
            throw SparseWireError.shape("sparse weight: \(mask.count) entries exceed the 32-bit index range")
        }
        let rows = mask.shape[0], cols = mask.count / rows
        let nnz = swk_count_nonzero(mask.data, mask.count)
        var ptr = [Int32](repeating: 0, count: rows + 1), col = [Int32](repeating: 0, count: nnz + 1)
        _ = swk_mask_csr(mask.data, rows, cols, &ptr, &col)
        col.removeLast()
        self.init(shape: mask.shape, rowPtr: ptr, colIndex: col)
    }

    /// A pattern given as CSR arrays (not checked: `rowPtr` has shape[0] + 1 ascending entries
    /// ending at colIndex.count, each row's columns ascending and below cols), values all 0.
    package init(shape: [Int], rowPtr: [Int32], colIndex: [Int32]) {
        self.shape = shape
        rows = shape[0]; cols = shape.dropFirst().reduce(1, *)
        self.rowPtr = rowPtr; self.colIndex = colIndex
        values = [Float](repeating: 0, count: colIndex.count)
    }
}

/// The sparse inference kernel families (`SPARSEWIRE_SPARSE_KERNEL`, docs/BENCHMARKS.md).
public enum SparseKernel: String, Sendable, CaseIterable {
    /// Compressed sparse rows: a linear layer 32 samples per register block over the whole fan-in,
    /// a convolution one row's non-zeros at a time over 64 outputs.
    case csr
    /// Chunks of 8 kept weights over 64 lanes, the fan-in in cache-sized tiles (`swk_lane_rows`):
    /// the kernel of structured masks (N:M, blocks), whose rows fill whole chunks.
    case lanes
}

/// Inference settings and the per-context cache of sparse weights. A cache lives as long as its
/// evaluation context (one `evaluate`/`predict` call, or an `InferenceSession`), so it can never
/// outlive the weights and masks it was built from.
public final class SparseInference {
    /// `dense`: never the sparse kernels; `sparse`: always, for masked weights; `auto`: for masked
    /// weights whose density is at most `threshold`.
    public enum Mode: String, Sendable, CaseIterable { case auto, dense, sparse }
    /// When masked layers use the sparse kernels.
    public let mode: Mode
    /// `auto` uses the sparse kernels for layers whose kept fraction is at most this.
    public let threshold: Double
    /// `auto` uses the sparse kernels for layers with a structured mask (`Parameter.maskStructure`)
    /// whose kept fraction is at most this (structured kernels win at higher densities).
    public let structuredThreshold: Double
    /// The kernel family forced by `SPARSEWIRE_SPARSE_KERNEL` (`csr` or `lanes`), nil when unset:
    /// then structured layers run `lanes` and unstructured ones `csr`.
    public let forcedKernel: SparseKernel?
    private var cache: [ObjectIdentifier: SparseWeight?] = [:]
    private var effectiveCache: [ObjectIdentifier: Var] = [:]

    /// Settings with an empty cache. Errors: `.config` when `SPARSEWIRE_SPARSE_KERNEL` is set
    /// to something other than `csr` or `lanes`.
    public init(mode: Mode, threshold: Double, structuredThreshold: Double = 0.5) throws {
        self.mode = mode
        self.threshold = threshold
        self.structuredThreshold = structuredThreshold
        let env = ProcessInfo.processInfo.environment["SPARSEWIRE_SPARSE_KERNEL"] ?? ""
        guard env.isEmpty || SparseKernel(rawValue: env) != nil else {
            throw SparseWireError.config("SPARSEWIRE_SPARSE_KERNEL must be csr or lanes (or unset), got '\(env)'")
        }
        forcedKernel = SparseKernel(rawValue: env)
    }

    /// Drops every cached weight (masks were redrawn).
    public func reset() { cache.removeAll(); effectiveCache.removeAll() }

    /// The dense path's effective weight ŵ, computed once per context (not once per batch).
    package func effectiveWeight(_ p: Parameter, _ compute: () throws -> Var) rethrows -> Var {
        let id = ObjectIdentifier(p)
        if let hit = effectiveCache[id] { return hit }
        let v = try compute()
        effectiveCache[id] = v
        return v
    }

    /// The sparse form of a masked parameter's effective weight when the mode (and, for `auto`,
    /// its density) calls for the sparse kernels; nil for the dense path.
    package func weight(for p: Parameter, _ ctx: Context) throws -> SparseWeight? {
        guard mode != .dense, p.mask != nil else { return nil }
        let id = ObjectIdentifier(p)
        if let hit = cache[id] { return hit }
        let effective = try ctx.effective(p).value
        let sw = try SparseWeight(effective)
        let structured = p.maskStructure != nil
        // Lanes for structured masks, every linear layer (2× CSR on FC-1024 at 0.1 and 0.3) and
        // convolutions with more than one tap (at density 0.1, batch 128 against CSR: Conv4 27.2
        // vs 31.5 ms, Conv2 13.7 vs 14.9, ResNet-18 at batch 32 60.6 vs 70.7; since the one-copy
        // planes and the fused pooling); 1×1 convolutions keep CSR (MobileNetV1 17.1 vs 13.2 ms,
        // small RandWire 12.0 vs 9.7: their small planes waste lanes).
        let taps = sw.shape.count == 4 ? sw.shape[2] * sw.shape[3] : 0
        sw.kernel = forcedKernel ?? (structured || sw.shape.count == 2 || taps > 1 ? .lanes : .csr)
        sw.structure = p.maskStructure
        let use = mode == .sparse || sw.density <= threshold || (structured && sw.density <= structuredThreshold)
        cache[id] = use ? sw : nil
        return use ? sw : nil
    }
}

extension Context {
    /// y[N, out] = x[N, in] · ŵᵀ + b with ŵ sparse (then ReLU when `relu`). No gradient (inference only).
    public func sparseLinear(_ x: Var, _ w: SparseWeight, _ b: Var?, relu: Bool = false) throws -> Var {
        guard x.shape.count == 2, w.shape.count == 2, x.shape[1] == w.cols else {
            throw SparseWireError.shape("sparse linear: input \(x.shape) does not match weight \(w.shape)")
        }
        if let b, b.shape != [w.rows] { throw SparseWireError.shape("sparse linear: bias shape \(b.shape) should be [\(w.rows)]") }
        // The lane kernel fills 64 samples per block: below 32 the CSR kernel wastes less.
        if w.kernel == .lanes && x.shape[0] >= 32 { return try laneLinear(x, w, b, relu: relu) }
        let n = x.shape[0], fin = w.cols, fout = w.rows
        let out = Tensor(uninitialized: [n, fout])
        let xp = x.value.data, op = out.data
        let bp: UnsafeMutablePointer<Float>? = b?.value.data
        // Split the batch in blocks of 32 samples over the threads; a small batch splits the rows.
        let blocks = (n + 31) / 32
        let byRows = blocks < Parallel.threads && fout >= 2 * Parallel.threads
        w.rowPtr.withUnsafeBufferPointer { rp in w.colIndex.withUnsafeBufferPointer { cp in w.values.withUnsafeBufferPointer { vp in
            if byRows {
                Parallel.forEachRange(fout, workers: Parallel.workers(for: fout)) { _, lo, hi in
                    let scratch = Tensor(uninitialized: [fin * 32])
                    swk_csr_linear(rp.baseAddress! + lo, cp.baseAddress!, vp.baseAddress!, hi - lo, fin, xp, fin, n,
                                   op + lo, fout, bp.map { $0 + lo }, scratch.data, relu ? 1 : 0)
                }
            } else {
                Parallel.forEachRange(blocks, workers: Parallel.workers(for: blocks)) { _, lo, hi in
                    let scratch = Tensor(uninitialized: [fin * 32])
                    let s0 = lo * 32, s1 = min(n, hi * 32)
                    swk_csr_linear(rp.baseAddress!, cp.baseAddress!, vp.baseAddress!, fout, fin, xp + s0 * fin, fin, s1 - s0,
                                   op + s0 * fout, fout, bp, scratch.data, relu ? 1 : 0)
                }
            }
        } } }
        return Var(out)
    }

    /// conv → ReLU → 2×2 max pooling (stride 2) in one pass when ŵ runs on the lane kernel at
    /// stride 1 and the output is at least 2×2 (`laneConv2d`'s `pool`); nil otherwise (the caller
    /// then runs the three one by one). No gradient (inference only). Errors: as `sparseConv2d`.
    package func sparseConv2dReLUPool(_ x: Var, _ w: SparseWeight, _ b: Var?, stride: Int, padding: Int) throws -> Var? {
        guard w.kernel == .lanes, stride == 1 else { return nil }
        let g = try ConvGeometry(input: x.shape, weight: w.shape, stride: stride, pad: padding, op: "sparse conv2d")
        guard w.shape.count == 4, w.shape[1] == g.c, g.oh >= 2, g.ow >= 2, b.map({ $0.shape == [g.o] }) ?? true else { return nil }
        return try laneConv2d(x, w, b, g, relu: true, pool: true)
    }

    /// 2-D convolution with a sparse weight [O, C, kh, kw]. Stride 1: each non-zero adds a
    /// shifted copy of its zero-padded input plane to its output plane (no im2col); other
    /// strides: im2col columns times the sparse rows. ReLU in the same pass when `relu`. No
    /// gradient (inference only).
    public func sparseConv2d(_ x: Var, _ w: SparseWeight, _ b: Var?, stride: Int, padding: Int, relu: Bool = false) throws -> Var {
        let g = try ConvGeometry(input: x.shape, weight: w.shape, stride: stride, pad: padding, op: "sparse conv2d")
        guard w.shape.count == 4, w.shape[1] == g.c else {
            throw SparseWireError.shape("sparse conv2d: input has \(g.c) channels but weight \(w.shape) expects \(w.shape.count == 4 ? w.shape[1] : -1)")
        }
        if let b, b.shape != [g.o] { throw SparseWireError.shape("sparse conv2d: bias shape \(b.shape) should be [\(g.o)]") }
        if w.kernel == .lanes && stride == 1 { return try laneConv2d(x, w, b, g, relu: relu) }
        let out = Tensor(uninitialized: [g.n, g.o, g.oh, g.ow])
        let bp: UnsafePointer<Float>? = b.map { UnsafePointer($0.value.data) }
        if stride == 1 {
            let offsets = Self.directOffsets(w.colIndex, g)
            w.rowPtr.withUnsafeBufferPointer { rp in offsets.withUnsafeBufferPointer { offp in w.values.withUnsafeBufferPointer { vp in
                Self.directSparseConv(x.value.data, g, rowPtr: rp.baseAddress!, offsets: offp.baseAddress!, values: vp.baseAddress!,
                                      bias: bp, relu: relu, into: out.data)
            } } }
            return Var(out)
        }
        let xp = x.value.data, op = out.data
        let inStride = g.c * g.h * g.w, outStride = g.o * g.p
        // im2col columns times the sparse rows: each non-zero reads its im2col row.
        let offsets: [Int64] = w.colIndex.map { Int64(Int($0) * g.p) }
        let samplesSplit = g.n >= Parallel.threads
        let workers = samplesSplit ? Parallel.workers(for: g.n) : 1
        w.rowPtr.withUnsafeBufferPointer { rp in offsets.withUnsafeBufferPointer { offp in w.values.withUnsafeBufferPointer { vp in
            Parallel.forEachRange(g.n, workers: workers) { _, lo, hi in
                let base = Tensor(uninitialized: [g.k * g.p])
                for s in lo..<hi {
                    im2col(xp + s * inStride, g, base.data, ld: g.p, col0: 0)
                    // Output rows over the threads when the batch is too small to split.
                    Parallel.forEachRange(g.o, workers: samplesSplit ? 1 : Parallel.workers(for: g.o)) { _, r0, r1 in
                        swk_csr_rows(rp.baseAddress!, offp.baseAddress!, vp.baseAddress!, r0, r1, base.data, g.p, op + s * outStride, g.p,
                                     bp, relu ? 1 : 0)
                    }
                }
            }
        } } }
        return Var(out)
    }

    /// The direct layout's read offset of each non-zero column (c·kh·kw + ky·kw + kx) for a
    /// stride-1 convolution of geometry `g` (`DirectLayout`).
    package static func directOffsets(_ colIndex: [Int32], _ g: ConvGeometry) -> [Int64] {
        let d = DirectLayout(g), taps = g.kh * g.kw
        return colIndex.map { c in
            let col = Int(c), ci = col / taps, r = col % taps
            return Int64(ci * d.plane + (r / g.kw) * d.wp + r % g.kw)
        }
    }

    /// A stride-1 sparse convolution on raw buffers (CSR rows `rowPtr`, `directOffsets`,
    /// `values`): each non-zero adds a shifted copy of its zero-padded input plane to its output
    /// plane; ReLU in the same pass when `relu`. Samples over the threads (output rows when the
    /// batch is smaller than the thread count).
    package static func directSparseConv(_ xp: UnsafePointer<Float>, _ g: ConvGeometry, rowPtr: UnsafePointer<Int32>,
                                         offsets: UnsafePointer<Int64>, values: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                         relu: Bool, into op: UnsafeMutablePointer<Float>) {
        let outStride = g.o * g.p
        let d = DirectLayout(g)
        let samplesSplit = g.n >= Parallel.threads
        Parallel.forEachRange(g.n, workers: samplesSplit ? Parallel.workers(for: g.n) : 1) { _, lo, hi in
            let base = Tensor(shape: [g.c * d.plane + 8])  // zero border for the padded planes
            let tmp = Tensor(uninitialized: [g.o * d.ldo])
            for s in lo..<hi {
                let dst = op + s * outStride
                d.copyPlanes(of: s, xp, g, into: base.data)
                Parallel.forEachRange(g.o, workers: samplesSplit ? 1 : Parallel.workers(for: g.o)) { _, r0, r1 in
                    swk_csr_rows(rowPtr, offsets, values, r0, r1, base.data, d.len, tmp.data, d.ldo, bias, relu ? 1 : 0)
                }
                d.copyOutput(planes: g.o, grid: tmp.data, nchw: dst, g, toGrid: false)
            }
        }
    }
}

/// Where a stride-1 sparse convolution reads and writes (`Context.directSparseConv`, sparse
/// training's weight gradient): zero-padded input planes whose rows share their side padding
/// (each grid row is [pad zeros, W values]; the right padding of a row is the left padding of
/// the next), and outputs computed on the same grid.
package struct DirectLayout {
    /// Row stride w + pad and plane size (h + 2·pad)·(w + pad) + pad of the padded input.
    package let wp: Int, plane: Int
    /// Grid positions computed per output plane, rounded up to whole 8-wide vectors (the few
    /// extra outputs are dropped; the input gets as much slack), and the output grid's plane stride.
    package let len: Int, ldo: Int

    /// The layout for geometry `g` (stride 1).
    package init(_ g: ConvGeometry) {
        wp = g.w + g.pad
        plane = (g.h + 2 * g.pad) * wp + g.pad
        len = ((g.oh - 1) * wp + g.ow + 7) / 8 * 8
        ldo = max(len, g.oh * wp)
    }

    /// Writes sample `s` of the NCHW input `x` into the padded planes at `base` (whose border
    /// stays as it is: zero).
    package func copyPlanes(of s: Int, _ x: UnsafePointer<Float>, _ g: ConvGeometry, into base: UnsafeMutablePointer<Float>) {
        let src = x + s * g.c * g.h * g.w
        if g.pad == 0 { base.update(from: src, count: g.c * g.h * g.w); return }  // unpadded: the planes as they are
        for ci in 0..<g.c { for y in 0..<g.h {
            (base + ci * plane + (y + g.pad) * wp + g.pad).update(from: src + (ci * g.h + y) * g.w, count: g.w)
        } }
    }

    /// Copies `planes` output planes between the grid (plane stride `ldo`, row stride `wp`) and
    /// NCHW (plane stride oh·ow, row stride ow): `toGrid` false reads the grid, true writes it.
    /// When the grid's rows are the output's rows (wp = ow, e.g. a 1×1 kernel without padding)
    /// each plane is one copy.
    package func copyOutput(planes: Int, grid: UnsafeMutablePointer<Float>, nchw: UnsafeMutablePointer<Float>, _ g: ConvGeometry,
                            toGrid: Bool) {
        let rows = wp == g.ow ? 1 : g.oh, count = wp == g.ow ? g.oh * g.ow : g.ow
        for o in 0..<planes { for y in 0..<rows {
            let gq = grid + o * ldo + y * wp, nq = nchw + o * g.p + y * g.ow
            if toGrid { gq.update(from: nq, count: count) } else { nq.update(from: gq, count: count) }
        } }
    }
}
