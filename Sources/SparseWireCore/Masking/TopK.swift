import CKernels

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
        public let values: UnsafePointer<Float>
        public let mask: UnsafeMutablePointer<Float>
        public let count: Int
        public init(values: UnsafePointer<Float>, mask: UnsafeMutablePointer<Float>, count: Int) {
            self.values = values; self.mask = mask; self.count = count
        }
    }

    /// Reusable scratch (candidate keys and indices, per-thread histograms), so that per-step
    /// selection does not allocate once warm. Not thread-safe: one workspace per caller (each
    /// policy context keeps its own).
    public final class Workspace {
        fileprivate var keys: UnsafeMutablePointer<UInt32>
        fileprivate var index: UnsafeMutablePointer<Int64>
        fileprivate var capacity: Int
        fileprivate var histograms: UnsafeMutablePointer<Int64>
        fileprivate var histogramSlots: Int

        public init(capacity: Int = 0) {
            self.capacity = Swift.max(capacity, 1)
            keys = .allocate(capacity: self.capacity)
            index = .allocate(capacity: self.capacity)
            histogramSlots = 1
            histograms = .allocate(capacity: 2048)
        }

        fileprivate func reserve(candidates n: Int) {
            guard n > capacity else { return }
            keys.deallocate(); index.deallocate()
            capacity = n
            keys = .allocate(capacity: n)
            index = .allocate(capacity: n)
        }

        fileprivate func reserve(histograms n: Int) {
            guard n > histogramSlots else { return }
            histograms.deallocate()
            histogramSlots = n
            histograms = .allocate(capacity: n * 2048)
        }

        deinit { keys.deallocate(); index.deallocate(); histograms.deallocate() }
    }

    /// Order-preserving map from a float to an unsigned key (the C kernels use the same one).
    @inline(__always)
    static func key(_ v: Float, _ order: Order) -> UInt32 {
        let b = v.bitPattern
        switch order {
        case .magnitude:
            return b << 1  // sign dropped: the first digit is exponent + 3 mantissa bits
        case .value:
            if b == 0x8000_0000 { return 0x8000_0000 }  // −0 → +0
            return (b & 0x8000_0000) != 0 ? ~b : b | 0x8000_0000
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
    private static func workers(_ n: Int) -> Int { Swift.max(1, Swift.min(Parallel.threads, n / 8192)) }

    /// The key of the k-th largest value over all segments (1 ≤ k ≤ total), the number of
    /// values with a strictly larger key, and how many candidates (keys sharing the threshold's
    /// top 11 bits, in index order, global index over the concatenated segments) the workspace holds.
    static func threshold(_ segs: [Segment], k: Int, order: Order, _ ws: Workspace) -> (key: UInt32, above: Int, candidates: Int) {
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
        // Close the gaps between the workers' regions (index order is kept).
        var m = 0
        for r in regions {
            if r.start != m {
                (keys + m).update(from: keys + r.start, count: r.count)
                (index + m).update(from: index + r.start, count: r.count)
            }
            m += r.count
        }
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
        let (t, above, m) = threshold(segs, k: k, order: order, ws)
        // Vectorised pass for the strictly larger keys ...
        let mag: Int32 = order == .magnitude ? 1 : 0
        for s in segs {
            Parallel.forEachRange(s.count, workers: workers(s.count)) { _, lo, hi in
                swk_mask_above(s.values + lo, hi - lo, mag, t, s.mask + lo)
            }
        }
        // ... then the ties, lowest index first: they are among the candidates, in index order.
        var tiesLeft = k - above
        var si = 0, segBase = 0
        for i in 0..<m where tiesLeft > 0 && ws.keys[i] == t {
            let g = Int(ws.index[i])
            while g >= segBase + segs[si].count { segBase += segs[si].count; si += 1 }
            segs[si].mask[g - segBase] = 1
            tiesLeft -= 1
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
