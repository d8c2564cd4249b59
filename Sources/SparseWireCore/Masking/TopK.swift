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

    /// Reusable scratch for the candidate keys, so that per-step selection does not allocate.
    /// Not thread-safe: one workspace per caller (the masking engine keeps its own).
    public final class Workspace {
        fileprivate var keys: UnsafeMutablePointer<UInt32>
        fileprivate var capacity: Int
        fileprivate let histogram = UnsafeMutablePointer<Int>.allocate(capacity: 2048)

        public init(capacity: Int = 0) {
            self.capacity = capacity
            keys = .allocate(capacity: Swift.max(capacity, 1))
        }

        fileprivate func reserve(_ n: Int) {
            guard n > capacity else { return }
            keys.deallocate()
            capacity = n
            keys = .allocate(capacity: n)
        }

        deinit { keys.deallocate(); histogram.deallocate() }
    }

    /// Order-preserving map from a float to an unsigned key.
    @inline(__always)
    static func key(_ v: Float, _ order: Order) -> UInt32 {
        let b = v.bitPattern
        switch order {
        case .magnitude:
            return (b & 0x7FFF_FFFF) | 0x8000_0000
        case .value:
            if b == 0x8000_0000 { return 0x8000_0000 }  // −0 → +0
            return (b & 0x8000_0000) != 0 ? ~b : b | 0x8000_0000
        }
    }

    /// Walks a histogram from the top bin down; returns the bin holding the `k`-th largest key
    /// and how many keys lie in the bins above it.
    @inline(__always)
    private static func findBin(_ h: UnsafeMutablePointer<Int>, bins: Int, k: Int) -> (bin: Int, above: Int) {
        var cum = 0
        var b = bins - 1
        while b > 0 && cum + h[b] < k { cum += h[b]; b -= 1 }
        return (b, cum)
    }

    /// The key of the k-th largest value over all segments (1 ≤ k ≤ total) and the number of
    /// values with a strictly larger key.
    static func threshold(_ segs: [Segment], total: Int, k: Int, order: Order, _ ws: Workspace) -> (key: UInt32, above: Int) {
        let h = ws.histogram
        // Round 1: top 11 bits of every key.
        h.initialize(repeating: 0, count: 2048)
        for s in segs {
            let v = s.values
            switch order {
            case .magnitude: for i in 0..<s.count { h[Int((v[i].bitPattern & 0x7FFF_FFFF) >> 21) | 1024] += 1 }
            case .value: for i in 0..<s.count { h[Int(key(v[i], .value) >> 21)] += 1 }
            }
        }
        let (b1, above1) = findBin(h, bins: 2048, k: k)
        let prefix1 = UInt32(b1)
        // Collect the candidates that share the prefix (typically a small fraction of n).
        ws.reserve(h[b1])
        let keys = ws.keys
        var m = 0
        for s in segs {
            let v = s.values
            for i in 0..<s.count {
                let kk = key(v[i], order)
                if kk >> 21 == prefix1 { keys[m] = kk; m += 1 }
            }
        }
        // Round 2: the next 11 bits.
        var k2 = k - above1
        h.initialize(repeating: 0, count: 2048)
        for i in 0..<m { h[Int((keys[i] >> 10) & 0x7FF)] += 1 }
        let (b2, above2) = findBin(h, bins: 2048, k: k2)
        k2 -= above2
        // Round 3: the last 10 bits, over the candidates of bin b2 (compacted in place).
        var m3 = 0
        for i in 0..<m where Int((keys[i] >> 10) & 0x7FF) == b2 { keys[m3] = keys[i]; m3 += 1 }
        h.initialize(repeating: 0, count: 1024)
        for i in 0..<m3 { h[Int(keys[i] & 0x3FF)] += 1 }
        let (b3, above3) = findBin(h, bins: 1024, k: k2)
        return (prefix1 << 21 | UInt32(b2) << 10 | UInt32(b3), above1 + above2 + above3)
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
        let (t, above) = threshold(segs, total: total, k: k, order: order, ws)
        // Branch-free pass for the strictly larger keys, then the ties in index order.
        for s in segs {
            let v = s.values, out = s.mask
            switch order {
            case .magnitude: for i in 0..<s.count { out[i] = key(v[i], .magnitude) > t ? 1 : 0 }
            case .value: for i in 0..<s.count { out[i] = key(v[i], .value) > t ? 1 : 0 }
            }
        }
        var tiesLeft = k - above
        for s in segs where tiesLeft > 0 {
            let v = s.values, out = s.mask
            var i = 0
            while i < s.count && tiesLeft > 0 {
                if key(v[i], order) == t { out[i] = 1; tiesLeft -= 1 }
                i += 1
            }
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
