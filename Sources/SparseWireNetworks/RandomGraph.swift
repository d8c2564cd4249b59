import SparseWireTensor
import SparseWireAutograd
/// An undirected simple graph on nodes 0..<n whose node indices already follow the generator's
/// order (ER: a random permutation, BA: insertion order, WS: ring order), so orienting every edge
/// from the lower to the higher index gives the DAG of RandWire (Xie et al. 2019).
public struct RandomGraph: Equatable, Sendable {
    /// The number of nodes, indexed 0..<nodeCount.
    public let nodeCount: Int
    /// Edges (a, b) with a < b, sorted.
    public let edges: [Edge]

    /// An edge `from` → `to` (from < to unless the graph was built from directed edges).
    public struct Edge: Hashable, Comparable, Sendable, CustomStringConvertible {
        /// The edge's source and target nodes.
        public let from: Int, to: Int
        /// The edge `from` → `to`.
        public init(_ from: Int, _ to: Int) { self.from = from; self.to = to }
        /// Lexicographic order on (from, to).
        public static func < (a: Edge, b: Edge) -> Bool { (a.from, a.to) < (b.from, b.to) }
        public var description: String { "\(from)->\(to)" }
    }

    package init(nodeCount: Int, undirected: Set<Edge>) {
        self.nodeCount = nodeCount
        edges = undirected.map { $0.from < $0.to ? $0 : Edge($0.to, $0.from) }.sorted()
    }

    /// Renumbers nodes: node i becomes order[i].
    package func relabeled(_ order: [Int]) -> RandomGraph {
        RandomGraph(nodeCount: nodeCount, undirected: Set(edges.map { Edge(order[$0.from], order[$0.to]) }))
    }

    /// The number of edges touching `v`.
    public func degree(_ v: Int) -> Int { edges.reduce(0) { $0 + (($1.from == v || $1.to == v) ? 1 : 0) } }
    /// The degree of every node.
    public var degrees: [Int] {
        var d = [Int](repeating: 0, count: nodeCount)
        for e in edges { d[e.from] += 1; d[e.to] += 1 }
        return d
    }
    /// Predecessors of each node in the DAG orientation (lower index → higher index).
    public var predecessors: [[Int]] {
        var p = [[Int]](repeating: [], count: nodeCount)
        for e in edges { p[e.to].append(e.from) }
        return p
    }
    /// Successors of each node in the DAG orientation (lower index → higher index).
    public var successors: [[Int]] {
        var s = [[Int]](repeating: [], count: nodeCount)
        for e in edges { s[e.from].append(e.to) }
        return s
    }

    /// Whether the oriented graph has no directed cycle (always true for index orientation;
    /// checked by Kahn's algorithm for tests and for graphs built elsewhere).
    public var isAcyclic: Bool {
        var indeg = predecessors.map(\.count)
        var ready = (0..<nodeCount).filter { indeg[$0] == 0 }
        var seen = 0
        let succ = successors
        while let v = ready.popLast() {
            seen += 1
            for w in succ[v] { indeg[w] -= 1; if indeg[w] == 0 { ready.append(w) } }
        }
        return seen == nodeCount
    }
}

/// The three classical generators, seeded and deterministic.
public enum GraphGenerator: Equatable, Sendable {
    /// Erdős–Rényi: every pair is an edge with probability p; nodes indexed in a random order.
    case er(n: Int, p: Double)
    /// Barabási–Albert: start from m isolated nodes, add nodes with m edges each, attached with
    /// probability proportional to degree; exactly m(n − m) edges; indexed in insertion order.
    case ba(n: Int, m: Int)
    /// Watts–Strogatz: ring where each node links its k/2 nearest neighbours on each side, then
    /// every clockwise edge is rewired with probability p; indexed in ring order.
    case ws(n: Int, k: Int, p: Double)

    /// The number of nodes n of the generated graph.
    public var nodeCount: Int {
        switch self { case let .er(n, _), let .ba(n, _), let .ws(n, _, _): return n }
    }

    /// Checks the parameters. Errors: `.config` unless er: n ≥ 2, p ∈ [0, 1]; ba: 1 ≤ m < n;
    /// ws: even k with 2 ≤ k < n, p ∈ [0, 1].
    public func validate() throws {
        switch self {
        case let .er(n, p):
            guard n >= 2, (0...1).contains(p) else { throw SparseWireError.config("graph er: needs n ≥ 2 and p in [0, 1], got n \(n), p \(p)") }
        case let .ba(n, m):
            guard m >= 1, m < n else { throw SparseWireError.config("graph ba: needs 1 ≤ m < n, got n \(n), m \(m)") }
        case let .ws(n, k, p):
            guard k >= 2, k % 2 == 0, k < n, (0...1).contains(p) else {
                throw SparseWireError.config("graph ws: needs an even k with 2 ≤ k < n and p in [0, 1], got n \(n), k \(k), p \(p)")
            }
        }
    }

    /// Generates the graph for `seed` (same seed → same graph).
    public func generate(seed: UInt64) throws -> RandomGraph {
        try validate()
        var rng = RNG(seed: seed)
        typealias E = RandomGraph.Edge
        switch self {
        case let .er(n, p):
            var edges = Set<E>()
            for a in 0..<n { for b in (a + 1)..<n where Double(rng.uniform()) < p { edges.insert(E(a, b)) } }
            var order = Array(0..<n)
            rng.shuffle(&order)
            return RandomGraph(nodeCount: n, undirected: edges).relabeled(order)
        case let .ba(n, m):
            var edges = Set<E>()
            var degree = [Int](repeating: 0, count: n)
            for v in m..<n {
                var targets = Set<Int>()
                let existing = Array(0..<v)
                let total = existing.reduce(0) { $0 + degree[$1] }
                while targets.count < m {
                    let u: Int
                    if total == 0 {
                        u = existing[rng.int(below: existing.count)]  // no edges yet: uniform
                    } else {
                        var r = rng.int(below: total), pick = existing.last!
                        for w in existing { r -= degree[w]; if r < 0 { pick = w; break } }
                        u = pick
                    }
                    targets.insert(u)
                }
                for u in targets.sorted() { edges.insert(E(u, v)); degree[u] += 1; degree[v] += 1 }
            }
            return RandomGraph(nodeCount: n, undirected: edges)
        case let .ws(n, k, p):
            var adj = [Set<Int>](repeating: [], count: n)
            for v in 0..<n { for j in 1...(k / 2) { let w = (v + j) % n; adj[v].insert(w); adj[w].insert(v) } }
            for j in 1...(k / 2) {
                for v in 0..<n {
                    let w = (v + j) % n
                    guard adj[v].contains(w), Double(rng.uniform()) < p else { continue }
                    let choices = (0..<n).filter { $0 != v && !adj[v].contains($0) }
                    guard !choices.isEmpty else { continue }
                    let u = choices[rng.int(below: choices.count)]
                    adj[v].remove(w); adj[w].remove(v)
                    adj[v].insert(u); adj[u].insert(v)
                }
            }
            var edges = Set<E>()
            for v in 0..<n { for w in adj[v] where v < w { edges.insert(E(v, w)) } }
            return RandomGraph(nodeCount: n, undirected: edges)
        }
    }
}

extension RandomGraph {
    /// A graph from directed edges as given (for tests and imported wirings); `isAcyclic`
    /// checks the orientation as given.
    public static func fromDirected(nodeCount: Int, edges: [(Int, Int)]) -> RandomGraph {
        RandomGraph(nodeCount: nodeCount, directed: edges.map { Edge($0.0, $0.1) })
    }

    package init(nodeCount: Int, directed: [Edge]) {
        self.nodeCount = nodeCount
        edges = directed.sorted()
    }
}
