extension MaskStructure {
    /// Where a 0/1 mask of a layer of `shape` breaks this structure, in words, or nil when it
    /// honours it: N:M — every group of m consecutive entries of a row keeps exactly n; fanin —
    /// every row keeps the same count (`keep` / rows); block and channel — every tile is all
    /// kept or all dropped. `unstructured` always holds. One pass over the mask.
    public func violation(of mask: UnsafePointer<Float>, shape: [Int], keep: Int) -> String? {
        let (rows, cols) = MaskStructure.matrix(shape)
        switch self {
        case .unstructured:
            return nil
        case let .nm(n, m):
            for g in stride(from: 0, to: rows * cols, by: m) {
                var kept = 0
                for j in g..<(g + m) where mask[j] != 0 { kept += 1 }
                if kept != n {
                    return "the group of \(m) at row \(g / cols), columns \(g % cols)…\(g % cols + m - 1) keeps \(kept); \(description) keeps \(n) of each"
                }
            }
            return nil
        case .fanin:
            let per = keep / Swift.max(rows, 1)
            for r in 0..<rows {
                var kept = 0
                for c in 0..<cols where mask[r * cols + c] != 0 { kept += 1 }
                if kept != per { return "row \(r) keeps \(kept) of \(cols); fanin keeps \(per) in every row" }
            }
            return nil
        case .block, .channel:
            let (tr, tc) = tile(shape)!
            for r0 in stride(from: 0, to: rows, by: tr) {
                for c0 in stride(from: 0, to: cols, by: tc) {
                    let first = mask[r0 * cols + c0] != 0
                    for r in r0..<(r0 + tr) {
                        for c in c0..<(c0 + tc) where (mask[r * cols + c] != 0) != first {
                            return "the \(tr)×\(tc) tile at row \(r0), column \(c0) is partly kept (\(description) keeps whole tiles)"
                        }
                    }
                }
            }
            return nil
        }
    }
}
