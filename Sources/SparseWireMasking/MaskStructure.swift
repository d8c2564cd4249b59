import SparseWireTensor

/// The shape of what a top-k policy keeps (`masking.structure.*`, docs/CONFIG.md).
///
/// A masked weight is seen as a matrix W[r, c] of `rows` = shape[0] (output units or filters)
/// by `cols` = count / rows (fan-in: input channels × kernel positions, in memory order); the
/// flat index of W[r, c] is r · cols + c.
///
/// - `unstructured`: any k weights.
/// - `nm(n, m)`: in every group of m consecutive weights along the fan-in (W[r, g·m ..< g·m + m])
///   exactly n are kept (2:4, 1:4, 2:8 …); the layer keeps count · n / m, so the density must be n / m.
/// - `block(rows, cols)`: whole rows × cols tiles of W are kept or dropped; a tile scores by the
///   sum of its criterion (by the sum of squares when ranking magnitudes); a layer keeps
///   k = max(1, round(density · tiles)) tiles.
/// - `channel`: whole rows of W (output channels / filters), scored like tiles;
///   k = max(1, round(density · rows)).
/// - `fanin`: every row keeps the same number of weights, max(1, round(density · cols)) — the
///   constant fan-in of SRigL.
public enum MaskStructure: Equatable, Sendable, CustomStringConvertible {
    /// Any weights (plain top-k).
    case unstructured
    /// n of every m consecutive weights along the fan-in.
    case nm(n: Int, m: Int)
    /// Whole rows × cols tiles of the weight matrix.
    case block(rows: Int, cols: Int)
    /// Whole output channels (rows of the weight matrix).
    case channel
    /// The same number of weights in every row (constant fan-in).
    case fanin

    /// The `masking.structure.type` values.
    public static let typeNames = ["unstructured", "nm", "block", "channel", "fanin"]

    /// "unstructured", "2:4", "block 1x8", "channel", "fanin": for messages and metadata.
    public var description: String {
        switch self {
        case .unstructured: return "unstructured"
        case let .nm(n, m): return "\(n):\(m)"
        case let .block(r, c): return "block \(r)x\(c)"
        case .channel: return "channel"
        case .fanin: return "fanin"
        }
    }

    /// Checks the structure's own numbers and the density it implies.
    /// Errors: `.config` naming the key: n or m out of range, n > m, a block side < 1, or (N:M)
    /// a density other than n / m.
    public func validate(density: Double) throws {
        switch self {
        case .unstructured, .channel, .fanin: return
        case let .nm(n, m):
            guard m >= 1, m <= 64 else { throw SparseWireError.config("masking.structure.m must be in 1…64, got \(m)") }
            guard n >= 1, n <= m else { throw SparseWireError.config("masking.structure.n must be in 1…m (\(m)), got \(n)") }
            guard abs(density - Double(n) / Double(m)) < 1e-9 else {
                throw SparseWireError.config("masking.structure \(n):\(m) keeps exactly \(n) of every \(m) weights (density \(Double(n) / Double(m))), "
                    + "but density is \(density); set density: \(Double(n) / Double(m))")
            }
        case let .block(r, c):
            guard r >= 1, c >= 1, r <= 65_536, c <= 65_536 else {
                throw SparseWireError.config("masking.structure.rows and .cols must be in 1…65536, got \(r)×\(c)")
            }
        }
    }

    /// The matrix view of a weight of `shape`: (rows = shape[0], cols = the rest).
    public static func matrix(_ shape: [Int]) -> (rows: Int, cols: Int) {
        let rows = shape.first ?? 1
        return (rows, rows > 0 ? shape.reduce(1, *) / rows : 0)
    }

    /// Whether a layer of `shape` can carry this structure. Errors: `.config` naming the layer:
    /// m does not divide the fan-in, or a block larger than / not dividing the layer.
    public func check(layer name: String, shape: [Int]) throws {
        let (rows, cols) = MaskStructure.matrix(shape)
        switch self {
        case .unstructured, .channel, .fanin: return
        case let .nm(_, m):
            guard cols % m == 0 else {
                throw SparseWireError.config("masking.structure \(self): m = \(m) does not divide the fan-in \(cols) of layer '\(name)' \(shape)"
                    + " (leave it dense with masking.first_layer_dense / last_layer_dense, or choose another m)")
            }
        case let .block(r, c):
            guard r <= rows, c <= cols else {
                throw SparseWireError.config("masking.structure \(self) is larger than layer '\(name)' (\(rows)×\(cols) as a matrix)")
            }
            guard rows % r == 0, cols % c == 0 else {
                let why = rows % r != 0 ? "rows = \(r) does not divide its \(rows) outputs" : "cols = \(c) does not divide its fan-in \(cols)"
                throw SparseWireError.config("masking.structure \(self) does not tile layer '\(name)' (\(rows)×\(cols) as a matrix: \(why);"
                    + " leave it dense with masking.first_layer_dense / last_layer_dense, or choose another tile)")
            }
        }
    }

    /// The tile a layer of `shape` is kept in: `block`'s, or one whole row for `channel`
    /// (a channel is a 1 × fan-in tile); nil for the element-wise structures.
    public func tile(_ shape: [Int]) -> (rows: Int, cols: Int)? {
        switch self {
        case let .block(r, c): return (r, c)
        case .channel: return (1, MaskStructure.matrix(shape).cols)
        case .unstructured, .nm, .fanin: return nil
        }
    }

    /// The exact number of weights a layer of `shape` keeps at `density` under this structure.
    public func keepCount(shape: [Int], density: Double) -> Int {
        let (rows, cols) = MaskStructure.matrix(shape)
        let count = rows * cols
        func atLeastOne(_ x: Double) -> Int { Swift.max(1, Int(x.rounded())) }
        switch self {
        case .unstructured: return Swift.min(count, atLeastOne(density * Double(count)))
        case let .nm(n, m): return count / m * n
        case .block, .channel:
            let (r, c) = tile(shape)!
            let tiles = (rows / r) * (cols / c)
            return Swift.min(tiles, atLeastOne(density * Double(tiles))) * r * c
        case .fanin: return rows * Swift.min(cols, atLeastOne(density * Double(cols)))
        }
    }

    /// Writes the mask of a layer of `shape` that keeps `keep` weights (`keepCount`) with this
    /// structure, ranking `values` (|values| with `.magnitude`); ties → lower index.
    /// `unstructured` is plain `TopK.mask`.
    public func select(_ values: UnsafePointer<Float>, shape: [Int], keep: Int, into mask: UnsafeMutablePointer<Float>,
                       order: TopK.Order, workspace: TopK.Workspace? = nil) {
        let (rows, cols) = MaskStructure.matrix(shape)
        let count = rows * cols
        @inline(__always) func score(_ x: Float) -> Float { order == .magnitude ? Swift.abs(x) : x }
        switch self {
        case .unstructured:
            TopK.mask(values, count: count, k: keep, into: mask, order: order, workspace: workspace)
        case let .nm(n, m):
            // n passes of "first largest not yet taken" per group: m is small (≤ 64).
            mask.update(repeating: 0, count: count)
            for g in stride(from: 0, to: count, by: m) {
                for _ in 0..<n {
                    var best = -1
                    var bestScore = -Float.infinity
                    for j in g..<(g + m) where mask[j] == 0 {
                        let s = score(values[j])
                        if best < 0 || s > bestScore { best = j; bestScore = s }
                    }
                    mask[best] = 1
                }
            }
        case .block, .channel:  // a channel is a 1 × fan-in tile
            let (r, c) = tile(shape)!
            let tileRows = rows / r, tileCols = cols / c
            let tiles = tileRows * tileCols
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: tiles)
            let chosen = UnsafeMutablePointer<Float>.allocate(capacity: tiles)
            defer { scores.deallocate(); chosen.deallocate() }
            for t in 0..<tiles {
                let r0 = (t / tileCols) * r, c0 = (t % tileCols) * c
                var s: Float = 0
                for i in r0..<(r0 + r) {
                    for j in c0..<(c0 + c) { let x = values[i * cols + j]; s += order == .magnitude ? x * x : x }
                }
                scores[t] = s
            }
            TopK.mask(scores, count: tiles, k: keep / (r * c), into: chosen)
            for t in 0..<tiles {
                let r0 = (t / tileCols) * r, c0 = (t % tileCols) * c
                for i in r0..<(r0 + r) { (mask + i * cols + c0).update(repeating: chosen[t], count: c) }
            }
        case .fanin:
            let perRow = keep / Swift.max(rows, 1)
            for i in 0..<rows {
                TopK.mask(values + i * cols, count: cols, k: perRow, into: mask + i * cols, order: order, workspace: workspace)
            }
        }
    }
}
