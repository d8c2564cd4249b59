import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
/// Spreads a global density over layers, returning exact kept counts per layer.
public enum DensityAllocation {
    /// Kept counts per layer for `shapes` at global density `k`.
    ///
    /// - uniform: round(k·n_l) in each layer.
    /// - erk: raw p_l = Σ(shape)/Π(shape); ε is solved so that Σ min(1, ε·p_l)·n_l = k·Σn_l, layers with
    ///   ε·p_l > 1 become dense and ε is recomputed. Counts are rounded by largest remainder, so
    ///   their sum equals round(k·Σn_l) exactly.
    public static func keptCounts(shapes: [[Int]], density k: Double, distribution: DensityDistribution) -> [Int] {
        let sizes = shapes.map { $0.reduce(1, *) }
        switch distribution {
        case .uniform:
            return sizes.map { Swift.max(1, Int((k * Double($0)).rounded())) }
        case .erk:
            let raw = shapes.map { Double($0.reduce(0, +)) / Double($0.reduce(1, *)) }
            let total = Double(sizes.reduce(0, +))
            var dense = Set<Int>()
            var fractions = [Double](repeating: 0, count: shapes.count)
            while true {
                let denseCount = dense.reduce(0.0) { $0 + Double(sizes[$1]) }
                let rest = (0..<shapes.count).filter { !dense.contains($0) }.reduce(0.0) { $0 + raw[$1] * Double(sizes[$1]) }
                let eps = rest > 0 ? (k * total - denseCount) / rest : 0
                var changed = false
                for i in 0..<shapes.count where !dense.contains(i) && eps * raw[i] > 1 {
                    dense.insert(i); changed = true
                }
                if !changed {
                    for i in 0..<shapes.count { fractions[i] = dense.contains(i) ? 1 : eps * raw[i] }
                    break
                }
            }
            let exact = (0..<shapes.count).map { fractions[$0] * Double(sizes[$0]) }
            var counts = exact.map { Int($0.rounded(.down)) }
            let target = Int((k * total).rounded())
            var short = target - counts.reduce(0, +)
            let remainder: [Double] = (0..<shapes.count).map { exact[$0] - Double(counts[$0]) }
            let order = (0..<shapes.count).sorted { a, b in
                remainder[a] != remainder[b] ? remainder[a] > remainder[b] : a < b
            }
            var j = 0
            while short > 0 && !order.isEmpty {
                let i = order[j % order.count]
                if counts[i] < sizes[i] { counts[i] += 1; short -= 1 }
                j += 1
            }
            return zip(counts, sizes).map { Swift.min(Swift.max(1, $0), $1) }
        }
    }
}
