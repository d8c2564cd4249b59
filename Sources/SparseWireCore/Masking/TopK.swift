/// Top-k selection in expected O(n) (quickselect on a scratch copy, no full sort).
///
/// Ties are broken deterministically: among equal values the lower index wins. The result is a
/// 0/1 mask with exactly `k` ones.
public enum TopK {
    /// The k-th largest value of `values[0..<n]` (1 ≤ k ≤ n). `scratch` must hold n floats.
    static func kthLargest(_ values: UnsafePointer<Float>, _ n: Int, _ k: Int, scratch: UnsafeMutablePointer<Float>) -> Float {
        scratch.update(from: values, count: n)
        // Select index (k-1) in descending order.
        var lo = 0, hi = n - 1
        let target = k - 1
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: n &+ k)
        while lo < hi {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let pivot = scratch[lo + Int(seed >> 33) % (hi - lo + 1)]
            // Three-way partition: [> pivot | == pivot | < pivot]
            var lt = lo, i = lo, gt = hi
            while i <= gt {
                let v = scratch[i]
                if v > pivot { scratch[i] = scratch[lt]; scratch[lt] = v; lt += 1; i += 1 }
                else if v < pivot { scratch[i] = scratch[gt]; scratch[gt] = v; gt -= 1 }
                else { i += 1 }
            }
            if target < lt { hi = lt - 1 }
            else if target > gt { lo = gt + 1 }
            else { return pivot }
        }
        return scratch[target]
    }

    /// Writes a mask with exactly k ones at the k largest `values` (ties → lower index).
    public static func mask(_ values: UnsafePointer<Float>, count n: Int, k: Int, into mask: UnsafeMutablePointer<Float>) {
        let k = Swift.max(0, Swift.min(k, n))
        if k == 0 { mask.update(repeating: 0, count: n); return }
        if k == n { mask.update(repeating: 1, count: n); return }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { scratch.deallocate() }
        let t = kthLargest(values, n, k, scratch: scratch)
        var above = 0
        for i in 0..<n where values[i] > t { above += 1 }
        var tiesLeft = k - above
        for i in 0..<n {
            let v = values[i]
            if v > t { mask[i] = 1 }
            else if v == t && tiesLeft > 0 { mask[i] = 1; tiesLeft -= 1 }
            else { mask[i] = 0 }
        }
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
