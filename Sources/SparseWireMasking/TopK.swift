import CKernels
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

/// Top-k selection in O(n): a radix select on the float bit patterns (three histogram rounds of
/// 11/11/10 bits, the later rounds only over the few candidates that share the prefix), then one
/// pass that writes the mask. No sort, no comparison-based partitioning.
///
/// Ties are broken deterministically: among equal values the lower index wins (over several
/// segments, the earlier segment first). The result is a 0/1 mask with exactly `k` ones.
/// NaN ranks above +∞; −0 equals +0.
public enum TopK {
    /// How values are ranked.
    public enum Order: Sendable {
        /// By value.
        case value
        /// By absolute value (no |x| tensor is materialised).
        case magnitude
    }

    /// A region of values and the mask to write for it.
    public struct Segment {
        /// The `count` values to rank (not copied).
        public let values: UnsafePointer<Float>
        /// Where the `count` 0/1 mask entries are written.
        public let mask: UnsafeMutablePointer<Float>
        /// Number of values (and of mask entries).
        public let count: Int
        /// A segment over caller-owned buffers, which must outlive the selection.
        public init(values: UnsafePointer<Float>, mask: UnsafeMutablePointer<Float>, count: Int) {
            self.values = values; self.mask = mask; self.count = count
        }
    }

    /// Walks a histogram from the top bin down; returns the bin holding the `k`-th largest key
    /// and how many keys lie in the bins above it.
    @inline(__always)
    private static func findBin(_ h: UnsafeMutablePointer<Int64>, bins: Int, k: Int) -> (bin: Int, above: Int) {
        var cum = 0
        var b = bins - 1
        while b > 0 && cum + Int(h[b]) < k { cum += Int(h[b]); b -= 1 }
        return (b, cum)
    }

    /// Worker ranges of a segment: large segments are split over the engine's threads.
    private static func workers(_ n: Int) -> Int { Parallel.workers(for: n, grain: Parallel.defaultGrain) }

    /// The key of the k-th largest value over all segments (1 ≤ k ≤ total), the number of
    /// values with a strictly larger key, and how many candidates (keys sharing the threshold's
    /// top 11 bits, in index order, global index over the concatenated segments) the workspace holds.
    package static func threshold(_ segs: [Segment], k: Int, order: Order, _ ws: Workspace) -> (key: UInt32, above: Int, candidates: Int) {
        let mag: Int32 = order == .magnitude ? 1 : 0
        // Round 1: top 11 bits of every key, one histogram per (segment, worker).
        let slots = segs.map { workers($0.count) }
        let slotStart = slots.reduce(into: [0]) { $0.append($0.last! + $1) }
        ws.reserve(histograms: slotStart.last! + 1)
        let hs = ws.histograms
        hs.initialize(repeating: 0, count: (slotStart.last! + 1) * 2048)
        for (si, s) in segs.enumerated() {
            let base = hs + 2048 * slotStart[si]
            Parallel.forEachRange(s.count, workers: slots[si]) { w, lo, hi in
                swk_radix_hist(s.values + lo, hi - lo, mag, base + 2048 * w)
            }
        }
        let total = hs + 2048 * slotStart.last!
        for slot in 0..<slotStart.last! { for b in 0..<2048 { total[b] += hs[2048 * slot + b] } }
        let (b1, above1) = findBin(total, bins: 2048, k: k)
        // Collect the candidates sharing that prefix, each worker at its known offset.
        ws.reserve(candidates: Int(total[b1]) + 8 * slotStart.last!)  // + 8 slack per worker (whole-vector writes)
        let keys = ws.keys, index = ws.index
        var offset = 0, globalBase = 0
        var regions: [(start: Int, count: Int)] = []
        for (si, s) in segs.enumerated() {
            var offsets: [Int] = []
            for w in 0..<slots[si] {
                let c = Int(hs[2048 * (slotStart[si] + w) + b1])
                offsets.append(offset); regions.append((offset, c))
                offset += c + 8
            }
            let gb = globalBase
            offsets.withUnsafeBufferPointer { off in
                Parallel.forEachRange(s.count, workers: slots[si]) { w, lo, hi in
                    _ = swk_radix_collect(s.values + lo, hi - lo, mag, UInt32(b1), keys + off[w], index + off[w], Int64(gb + lo))
                }
            }
            globalBase += s.count
        }
        let m = ws.compact(regions)
        // Round 2: the next 11 bits; round 3: the last 10, over the round-2 bin.
        var k2 = k - above1
        let h = total
        h.initialize(repeating: 0, count: 2048)
        for i in 0..<m { h[Int((keys[i] >> 10) & 0x7FF)] += 1 }
        let (b2, above2) = findBin(h, bins: 2048, k: k2)
        k2 -= above2
        h.initialize(repeating: 0, count: 1024)
        for i in 0..<m where Int((keys[i] >> 10) & 0x7FF) == b2 { h[Int(keys[i] & 0x3FF)] += 1 }
        let (b3, above3) = findBin(h, bins: 1024, k: k2)
        return (UInt32(b1) << 21 | UInt32(b2) << 10 | UInt32(b3), above1 + above2 + above3, m)
    }

    /// The window pass: masks of the keys above the window written, the keys inside collected.
    /// Returns the threshold key when the k-th largest key lies in the window (then the masks are
    /// complete), nil otherwise (then they are partial and the full select must run).
    private static func selectInWindow(_ segs: [Segment], total: Int, k: Int, order: Order, _ ws: Workspace, _ w: Window) -> UInt32? {
        let mag: Int32 = order == .magnitude ? 1 : 0
        let lo = w.t >= w.delta ? w.t - w.delta : 0
        let hi = UInt32.max - w.t >= w.delta ? w.t + w.delta : UInt32.max
        let slots = segs.map { workers($0.count) }
        ws.reserve(candidates: total + 8 * slots.reduce(0, +))
        let keys = ws.keys, index = ws.index
        var regions: [(start: Int, count: Int)] = []
        var above = 0, offset = 0, globalBase = 0
        for (si, s) in segs.enumerated() {
            let nw = slots[si]
            // Worker w's range is [count·w/nw, count·(w+1)/nw) (Parallel.forEachRange); it may
            // collect all of it, plus 8 entries of slack.
            var starts: [Int] = []
            for wi in 0..<nw {
                starts.append(offset)
                offset += s.count * (wi + 1) / nw - s.count * wi / nw + 8
            }
            var counts = [Int](repeating: 0, count: nw), aboveCounts = [Int64](repeating: 0, count: nw)
            let gb = globalBase
            counts.withUnsafeMutableBufferPointer { cp in aboveCounts.withUnsafeMutableBufferPointer { ap in starts.withUnsafeBufferPointer { st in
                Parallel.forEachRange(s.count, workers: nw) { wi, a, b in
                    cp[wi] = swk_radix_window(s.values + a, b - a, mag, lo, hi, s.mask + a, keys + st[wi], index + st[wi],
                                              Int64(gb + a), ap.baseAddress! + wi)
                }
            } } }
            for wi in 0..<nw { regions.append((starts[wi], counts[wi])); above += Int(aboveCounts[wi]) }
            globalBase += s.count
        }
        var m = 0
        for r in regions { m += r.count }
        guard above < k && k <= above + m else { return nil }
        m = ws.compact(regions)
        let need = k - above
        let (t, aboveT) = kthLargest(keys, m, need, ws.histograms)
        // Inside the window: the keys above t, then ties in index order.
        markCandidates(segs, ws, count: m, threshold: t, ties: need - aboveT, markAbove: true)
        return t
    }

    /// The k-th largest of m keys (1 ≤ k ≤ m) and how many keys are strictly larger: radix
    /// rounds of 11, 11 and 10 bits. `h` holds 2048 counters.
    private static func kthLargest(_ keys: UnsafeMutablePointer<UInt32>, _ m: Int, _ k: Int, _ h: UnsafeMutablePointer<Int64>) -> (UInt32, Int) {
        h.initialize(repeating: 0, count: 2048)
        for i in 0..<m { h[Int(keys[i] >> 21)] += 1 }
        let (b1, a1) = findBin(h, bins: 2048, k: k)
        h.initialize(repeating: 0, count: 2048)
        for i in 0..<m where Int(keys[i] >> 21) == b1 { h[Int((keys[i] >> 10) & 0x7FF)] += 1 }
        let (b2, a2) = findBin(h, bins: 2048, k: k - a1)
        let top = UInt32(b1) << 11 | UInt32(b2)
        h.initialize(repeating: 0, count: 1024)
        for i in 0..<m where keys[i] >> 10 == top { h[Int(keys[i] & 0x3FF)] += 1 }
        let (b3, a3) = findBin(h, bins: 1024, k: k - a1 - a2)
        return (top << 10 | UInt32(b3), a1 + a2 + a3)
    }

    /// Writes masks with exactly `k` ones at the `k` largest values over all segments (in
    /// segment order for ties).
    public static func select(_ segs: [Segment], k: Int, order: Order = .value, workspace: Workspace? = nil) {
        let total = segs.reduce(0) { $0 + $1.count }
        let k = Swift.max(0, Swift.min(k, total))
        if k == 0 || k == total {
            for s in segs { s.mask.update(repeating: k == 0 ? 0 : 1, count: s.count) }
            return
        }
        let ws = workspace ?? Workspace()
        // Masks change little from one training step to the next: first try one pass that
        // writes the mask above a window around the last threshold and collects the few keys
        // inside it; the full radix select runs when the k-th key is not in the window.
        let id = WindowID(values: UInt(bitPattern: segs[0].values), total: total, k: k, magnitude: order == .magnitude,
                          segments: segs.count)
        let remembered = ws.windows[id]
        if let w = remembered, let t = selectInWindow(segs, total: total, k: k, order: order, ws, w) {
            ws.windows[id] = w.next(t, hit: true)
            ws.windowHits += 1
            return
        }
        if remembered != nil { ws.windowMisses += 1 }
        let (t, above, m) = threshold(segs, k: k, order: order, ws)
        if ws.windows.count >= 1024 { ws.windows.removeAll(keepingCapacity: true) }  // bounded: temporaries come and go
        ws.windows[id] = remembered?.next(t, hit: false) ?? Window(t: t, delta: Window.initialDelta)
        // Vectorised pass for the strictly larger keys ...
        let mag: Int32 = order == .magnitude ? 1 : 0
        for s in segs {
            Parallel.forEachRange(s.count, workers: workers(s.count)) { _, lo, hi in
                swk_mask_above(s.values + lo, hi - lo, mag, t, s.mask + lo)
            }
        }
        // ... then the ties, lowest index first: they are among the candidates, in index order.
        markCandidates(segs, ws, count: m, threshold: t, ties: k - above, markAbove: false)
    }

    /// Sets the mask of the first `ties` candidates whose key equals `threshold` (candidates are
    /// in index order) and, with `markAbove`, of every candidate whose key is larger.
    private static func markCandidates(_ segs: [Segment], _ ws: Workspace, count m: Int, threshold t: UInt32, ties: Int, markAbove: Bool) {
        var tiesLeft = ties
        var si = 0, segBase = 0
        for i in 0..<m where ws.keys[i] >= t {
            if ws.keys[i] == t {
                if tiesLeft == 0 { if markAbove { continue } else { break } }
                tiesLeft -= 1
            } else if !markAbove {
                continue
            }
            let g = Int(ws.index[i])
            while g >= segBase + segs[si].count { segBase += segs[si].count; si += 1 }
            segs[si].mask[g - segBase] = 1
        }
    }

    /// Writes a mask with exactly k ones at the k largest `values` (ties → lower index).
    public static func mask(_ values: UnsafePointer<Float>, count n: Int, k: Int, into mask: UnsafeMutablePointer<Float>,
                            order: Order = .value, workspace: Workspace? = nil) {
        select([Segment(values: values, mask: mask, count: n)], k: k, order: order, workspace: workspace)
    }

    /// Convenience over tensors: the mask of the k largest entries of `values`.
    public static func mask(of values: Tensor, k: Int) -> Tensor {
        let m = Tensor(shape: values.shape)
        mask(values.data, count: values.count, k: k, into: m.data)
        return m
    }

    /// Indices of the k largest entries (ties → lower index), in increasing index order.
    public static func indices(_ values: UnsafePointer<Float>, count n: Int, k: Int) -> [Int] {
        let m = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(n, 1))
        defer { m.deallocate() }
        mask(values, count: n, k: k, into: m)
        var out = [Int]()
        out.reserveCapacity(k)
        for i in 0..<n where m[i] != 0 { out.append(i) }
        return out
    }
}
