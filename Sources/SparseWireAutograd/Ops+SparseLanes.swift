import CKernels
import Foundation
import SparseWireTensor

/// A sparse weight packed for the lane kernel (`swk_lane_rows`, Sources/CKernels/lanes.c).
///
/// The kept weights of W[rows, cols] in chunks of 8 (value, offset) pairs: the columns are cut
/// in tiles of `tileCols`, and the chunks of row r in tile t are
/// `ptr[t·rows + r] ..< ptr[t·rows + r + 1]`; each chunk's entries are
/// `values[8c ..< 8c + 8]` at input offsets `offsets[8c ..< 8c + 8]` (a column's offset into the
/// lane-major input: column·64 for a linear layer's transposed batch, the shifted-plane offset for
/// a convolution). A (tile, row) whose count is not a multiple of 8 is padded with value-0
/// entries. N:M and 1×8 blocks fill chunks exactly (no padding); unstructured rows waste at
/// most 7 entries per (tile, row).
package struct LanePacking {
    /// The number of column tiles.
    package let tiles: Int
    /// Chunk pointers, tiles·rows + 1 entries.
    package let ptr: [Int32]
    /// 8 input offsets per chunk.
    package let offsets: [Int32]
    /// 8 values per chunk (0 for padding).
    package let values: [Float]
    /// Padding entries (value 0) among `values`; their offset is their chunk's first.
    package let padding: Int
    /// The compact form for sources of 64-float rows (`swk_lane_rows_compact`): each chunk's
    /// first offset and its entries' row deltas (offset − first) / 64, one byte each; empty when
    /// not asked for or when some chunk spans 256 rows or more.
    package let bases: [Int32]
    /// 8 one-byte deltas per chunk, entry q in bits 8q ..< 8q + 8.
    package let deltas: [UInt64]
    /// The CSR entry (index into the weight's `values`) each slot holds, −1 for padding: sparse
    /// training refreshes the values from the current weights through it.
    package let sources: [Int32]
}

private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

extension SparseWeight {
    /// The fan-in span after which every row of this structure has kept a multiple of 8 weights
    /// (whole chunks): "n:m" → m · 8 / gcd(n, 8); "block RxC" → C · 8 / gcd(C, 8); otherwise 1.
    /// Tiles that are multiples of it need no padding.
    package var chunkSpan: Int {
        guard let s = structure else { return 1 }
        let nm = s.split(separator: ":").compactMap { Int($0) }
        if nm.count == 2, nm[0] > 0 { return nm[1] * 8 / gcd(nm[0], 8) }
        if s.hasPrefix("block "), let c = s.split(separator: "x").last.flatMap({ Int($0) }), c > 0 { return c * 8 / gcd(c, 8) }
        return 1
    }

    /// The column tile of the lane linear kernel, in training and inference: about 25 kept
    /// weights per (tile, row), ⌈25 / density⌉ columns, at least 96 (a 24 KB input tile for 64
    /// lanes) and at most 1024; the fan-in then cut into that many tiles rounded to the nearest
    /// count, of equal width rounded up to 16 and then down to whole chunk spans of the structure
    /// (784 columns at 0.1: 3 tiles of 272, not 256 + 256 + 256 + 16: block 1×8 −2 %, unstructured
    /// −3 %). Measured on FC 784-1024-1024-10, batch 128, 2 threads (inference, interleaved
    /// runs): density 0.5 best at 80–96 columns (2:4 1.81 → 1.73 ms from 128; 160 and more are
    /// much slower, the input tile no longer fits L1), 0.1 flat from 176 to 256 (block 1×8 0.64 →
    /// 0.61–0.62 ms from 128), 0.05 best at 256–512 (0.51 → 0.45 ms); training's forward and dX
    /// found 256 at 0.1 and 512 at 0.05. Fewer kept weights per (tile, row) spend the time loading
    /// and storing the rows' partial sums; wider tiles than L1 holds wait on the input rows.
    package var laneTileCols: Int {
        let span = chunkSpan
        let wanted = min(1024, max(96, Int((25 / max(density, 1e-6)).rounded(.up))))
        let count = max(1, Int((Double(cols) / Double(wanted)).rounded()))
        let tile = ((cols + count - 1) / count + 15) / 16 * 16
        return max(span, tile / span * span)
    }

    /// The packing of a linear layer's weight (or sparsity pattern) for 64-float source rows:
    /// tiles of `laneTileCols`, column c at c·64, the compact form; cached.
    package func linearLanePacking() throws -> LanePacking {
        try lanePacking(tileCols: laneTileCols, key: [laneTileCols], compact: true) { $0 * 64 }
    }

    /// The lane packing with columns cut every `tileCols` and column c read at `offset(c)`,
    /// cached under `key` (the geometry the offsets depend on); with the compact form when
    /// `compact` (sources of 64-float rows). Built by `swk_lane_pack_count` / `_fill` (each CSR row
    /// is sorted by column, so a row's tiles are runs). Errors: `.shape` when an offset leaves
    /// the 32-bit range.
    package func lanePacking(tileCols: Int, key: [Int], compact: Bool = false, offset: (Int) -> Int) throws -> LanePacking {
        if let hit = laneCache, hit.key == key { return hit.packing }
        var colOff = [Int32](repeating: 0, count: cols)
        for c in 0..<cols {
            let o = offset(c)
            guard o >= 0, o < Int(Int32.max) else {
                throw SparseWireError.shape("sparse weight \(shape): input offset \(o) exceeds the 32-bit range")
            }
            colOff[c] = Int32(o)
        }
        let tiles = max(1, (cols + tileCols - 1) / tileCols)
        var ptr = [Int32](repeating: 0, count: tiles * rows + 1)
        let chunks = swk_lane_pack_count(rowPtr, colIndex, rows, tiles, tileCols, &ptr)
        var offs = [Int32](repeating: 0, count: chunks * 8), srcs = [Int32](repeating: 0, count: chunks * 8)
        var bases = [Int32](repeating: 0, count: compact ? chunks : 0), deltas = [UInt64](repeating: 0, count: compact ? chunks : 0)
        let fits = bases.withUnsafeMutableBufferPointer { bp in deltas.withUnsafeMutableBufferPointer { dp in
            swk_lane_pack_fill(rowPtr, colIndex, rows, tiles, tileCols, colOff, ptr, &offs, &srcs, compact ? bp.baseAddress : nil,
                               compact ? dp.baseAddress : nil) == 1
        } }
        if !fits { bases = []; deltas = [] }
        let vals = srcs.map { $0 < 0 ? Float(0) : values[Int($0)] }  // padding entries weigh 0
        let packing = LanePacking(tiles: tiles, ptr: ptr, offsets: offs, values: vals, padding: chunks * 8 - nonZeros,
                                  bases: bases, deltas: deltas, sources: srcs)
        laneCache = (key, packing)
        return packing
    }
}

extension Context {
    /// The lane kernel's linear layer: y[N, out] = x[N, in] · ŵᵀ + b (then ReLU when `relu`),
    /// 64 samples at a time transposed to lanes, ŵ's columns in tiles of `SparseWeight.laneTileCols`,
    /// the output rows over the threads. No gradient (inference only).
    package func laneLinear(_ x: Var, _ w: SparseWeight, _ b: Var?, relu: Bool) throws -> Var {
        let pack = try w.linearLanePacking()
        let out = Tensor(uninitialized: [x.shape[0], w.rows])
        pack.values.withUnsafeBufferPointer { vp in
            Self.laneLinear(x.value.data, samples: x.shape[0], pack, values: vp.baseAddress!, rows: w.rows, cols: w.cols,
                            bias: b.map { UnsafePointer($0.value.data) }, relu: relu, into: out.data)
        }
        return Var(out)
    }

    /// The lane linear product on raw buffers: out[n, rows] = x[n, cols] · Wᵀ (+ bias, then ReLU
    /// when `relu`) for W packed as `pack` (tiles of `SparseWeight.laneTileCols` columns, offsets
    /// column·64) with the slot values `values` (the packing's own, or refreshed ones in training).
    /// `lanes`, when given (blocks·cols·64 floats, blocks = ⌈n / 64⌉), receives the transposed
    /// input blocks and keeps them: block k at lanes + k·cols·64, x[64k + l, c] at c·64 + l, the
    /// lanes past the batch zero (`toLanes`'s layout; the sampled dW reads them).
    package static func laneLinear(_ xp: UnsafePointer<Float>, samples n: Int, _ pack: LanePacking, values: UnsafePointer<Float>,
                                   rows fout: Int, cols fin: Int, bias bp: UnsafePointer<Float>?, relu: Bool,
                                   into op: UnsafeMutablePointer<Float>, lanes: UnsafeMutablePointer<Float>? = nil) {
        let blocks = (n + 63) / 64
        // Enough blocks: each thread runs whole blocks (one fork-join per layer); else the rows
        // of each block are split over the threads.
        let byBlocks = blocks >= Parallel.threads
        let scratch = lanes == nil ? fin * 64 : 1  // a block's input lanes when they are not kept
        let run = { (s0: Int, scratch: UnsafeMutablePointer<Float>, yt: UnsafeMutablePointer<Float>, split: Bool) in
            let nb = min(64, n - s0)
            let xt = lanes.map { $0 + s0 / 64 * fin * 64 } ?? scratch
            toLanes(xp, samples: n, cols: fin, block: s0 / 64, into: xt, split: split)
            Parallel.forEachRange(fout, workers: split ? Parallel.workers(for: fout, grain: 16) : 1) { _, r0, r1 in
                laneRows(pack, values: values, rows: fout, r0, r1, src: xt, out: yt, bias: bp, relu: relu, y: op + s0 * fout,
                         ldy: fout, nb: nb)
            }
        }
        if byBlocks {
            Parallel.forEachRange(blocks, workers: Parallel.workers(for: blocks)) { _, lo, hi in
                let xt = Tensor(uninitialized: [scratch]), yt = Tensor(uninitialized: [fout * 64])
                for blk in lo..<hi { run(blk * 64, xt.data, yt.data, false) }
            }
        } else {
            let xt = Tensor(uninitialized: [scratch]), yt = Tensor(uninitialized: [fout * 64])
            for blk in 0..<blocks { run(blk * 64, xt.data, yt.data, true) }
        }
    }

    /// The lane kernel over rows [r0, r1) of `pack` (offsets column·64) with slot values
    /// `values`: out[r·64 + l] for l < 64, and when `y` is given the finished rows transposed into
    /// y[l·ldy + r] for the first `nb` lanes. The compact kernel when the packing has its form.
    static func laneRows(_ pack: LanePacking, values: UnsafePointer<Float>, rows: Int, _ r0: Int, _ r1: Int, src: UnsafePointer<Float>,
                         out: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool, y: UnsafeMutablePointer<Float>?,
                         ldy: Int, nb: Int) {
        pack.ptr.withUnsafeBufferPointer { pp in
            if pack.bases.isEmpty {
                pack.offsets.withUnsafeBufferPointer { offp in
                    swk_lane_rows(pp.baseAddress!, offp.baseAddress!, values, rows, pack.tiles, r0, r1, src, out, 64, bias, relu ? 1 : 0,
                                  y, ldy, nb)
                }
            } else {
                swk_lane_rows_compact(pp.baseAddress!, pack.bases, pack.deltas, values, rows, pack.tiles, r0, r1, src, out, 64, bias,
                                      relu ? 1 : 0, y, ldy, nb)
            }
        }
    }

    /// Block `block` of x[n, cols] in lanes: xt[c·64 + l] = x[64·block + l, c], the lanes past
    /// the batch zero; the columns over the threads when `split`.
    package static func toLanes(_ xp: UnsafePointer<Float>, samples n: Int, cols: Int, block: Int, into xt: UnsafeMutablePointer<Float>,
                                split: Bool) {
        let s0 = block * 64, nb = min(64, n - s0)
        if nb < 64 { xt.update(repeating: 0, count: cols * 64) }
        Parallel.forEachRange(cols, workers: split ? Parallel.workers(for: cols, grain: 256) : 1) { _, c0, c1 in
            swk_transpose(xp + s0 * cols + c0, nb, c1 - c0, cols, xt + c0 * 64, 64)
        }
    }

    /// The lane kernel's stride-1 convolution: each sample's zero-padded input planes (rows
    /// sharing their side padding, as in `sparseConv2d`, but a row stride rounded up to 8) are
    /// written kw times, copy k shifted left by k, so that tap (c, ky, kx) reads copy kx at
    /// c·plane + ky·wp: every 8-float load is 32-byte aligned (an unaligned one that crosses a
    /// cache line costs two). At density ≤ 0.2 one copy without the rounding, tap (c, ky, kx) at
    /// c·plane + ky·wp + kx. 64 output positions per lane block, the input channels in tiles
    /// whose read windows fit 16 KB (32 KB at density ≤ 0.2). With `pool` (ReLU on, oh and ow
    /// ≥ 2) the output is 2×2 max-pooled (stride 2, floor) straight from the kernel's rows: [n, o,
    /// oh/2, ow/2], the bits of ReLU → conv → maxPool2x2 without the full-size output. No gradient
    /// (inference only).
    package func laneConv2d(_ x: Var, _ w: SparseWeight, _ b: Var?, _ g: ConvGeometry, relu: Bool, pool: Bool = false) throws -> Var {
        precondition(!pool || (relu && g.oh >= 2 && g.ow >= 2), "lane conv2d: pooling needs the ReLU and a 2×2 output")
        let out = Tensor(uninitialized: pool ? [g.n, g.o, g.oh / 2, g.ow / 2] : [g.n, g.o, g.oh, g.ow])
        let xp = x.value.data, op = out.data
        let bp: UnsafePointer<Float>? = b.map { UnsafePointer($0.value.data) }
        let up8 = { (v: Int) in (v + 7) / 8 * 8 }
        // Density ≤ 0.2 picks both the one-copy planes and the wider channel tiles below.
        let sparse = w.density <= 0.2
        // kw aligned shifted copies where loads bound the kernel (2:4 at 0.5); at density ≤ 0.2
        // one unpadded copy and unaligned loads: there the copies' memory traffic cost more
        // (Conv4 block 1×8 at 0.1: 35.1 → 32.1 ms, 35.6 → 32.7 ms in a second A/B; 2:4 at 0.5
        // 95.5 → 105.9 ms with one copy).
        let copies = sparse ? 1 : g.kw
        let al = { (v: Int) in copies > 1 ? up8(v) : v }
        let wp = al(g.w + g.pad), plane = al((g.h + 2 * g.pad) * wp + g.pad)
        // Blocks of 64 lanes, the last one 32 when that covers the tail (14 × 14 outputs, rows
        // of 16: 222 lanes, 224 computed instead of 256).
        let len = ((g.oh - 1) * wp + g.ow + 31) / 32 * 32
        let ldo = up8(max(len, g.oh * wp))
        let taps = g.kh * g.kw
        let copy = up8(g.c * plane + len + 64)  // one shifted copy of the padded planes
        // One channel's reads for a block of 64 outputs span (kh − 1) rows plus 64 values in
        // each of the kw shifted copies, or plus 64 + kw − 1 values in the one copy.
        let window = copies * ((g.kh - 1) * wp + 64 + (copies > 1 ? 0 : g.kw - 1))
        // 16 KB of windows (measured best of 4, 8, 16, 24 KB on Conv4 2:4), 32 KB at density
        // ≤ 0.2 (Conv4 block 1×8 at 0.1: 37.7 → 35.1 ms against 16 KB; 48 and 64 KB slower: few
        // kept weights per (tile, row) spend the time on the partial sums, as for linear layers),
        // rounded to whole chunks of the structure (2:4 over 3×3: 16 channels, 144 columns).
        let span = w.chunkSpan, unit = span / gcd(span, taps)
        let budget = sparse ? 8192 : 4096
        let tileChannels = max(unit, budget / window / unit * unit)
        let pack = try w.lanePacking(tileCols: tileChannels * taps, key: [tileChannels, plane, wp, copy, copies]) { col in
            let ci = col / taps, r = col % taps
            return copies > 1 ? (r % g.kw) * copy + ci * plane + (r / g.kw) * wp : ci * plane + (r / g.kw) * wp + r % g.kw
        }
        let baseCount = copies * copy
        let inStride = g.c * g.h * g.w, outStride = pool ? g.o * (g.oh / 2) * (g.ow / 2) : g.o * g.p
        let samplesSplit = g.n >= Parallel.threads
        pack.ptr.withUnsafeBufferPointer { pp in pack.offsets.withUnsafeBufferPointer { offp in pack.values.withUnsafeBufferPointer { vp in
            Parallel.forEachRange(g.n, workers: samplesSplit ? Parallel.workers(for: g.n) : 1) { _, lo, hi in
                let base = Tensor(shape: [baseCount])  // zero border for the padded planes
                let tmp = Tensor(uninitialized: [g.o * ldo])
                for s in lo..<hi {
                    let src = xp + s * inStride, dst = op + s * outStride
                    for k in 0..<copies { for ci in 0..<g.c {
                        // Copy k holds padded index j at j − k; the first k values of an unpadded
                        // plane fall before it and are never read (they would feed tap kx < k).
                        for y in 0..<g.h {
                            let at = ci * plane + (y + g.pad) * wp + g.pad - k, skip = max(0, -at)
                            (base.data + k * copy + at + skip).update(from: src + (ci * g.h + y) * g.w + skip, count: g.w - skip)
                        }
                    } }
                    Parallel.forEachRange(g.o, workers: samplesSplit ? 1 : Parallel.workers(for: g.o)) { _, r0, r1 in
                        for i0 in stride(from: 0, to: len, by: 64) {
                            if len - i0 >= 64 {
                                swk_lane_rows(pp.baseAddress!, offp.baseAddress!, vp.baseAddress!, g.o, pack.tiles, r0, r1,
                                              base.data + i0, tmp.data + i0, ldo, bp, relu ? 1 : 0, nil, 0, 0)
                            } else {
                                swk_lane_rows32(pp.baseAddress!, offp.baseAddress!, vp.baseAddress!, g.o, pack.tiles, r0, r1,
                                                base.data + i0, tmp.data + i0, ldo, bp, relu ? 1 : 0)
                            }
                        }
                    }
                    if pool {
                        swk_maxpool2x2_grid(tmp.data, ldo, wp, g.o, g.oh, g.ow, dst)
                    } else {
                        for o in 0..<g.o { for y in 0..<g.oh {
                            (dst + o * g.p + y * g.ow).update(from: tmp.data + o * ldo + y * wp, count: g.ow)
                        } }
                    }
                }
            }
        } } }
        return Var(out)
    }
}
