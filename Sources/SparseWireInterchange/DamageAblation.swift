import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
import SparseWireConfig
import SparseWireTraining
/// RandWire's graph damage: evaluate a trained network with one node (or one edge) of one stage
/// removed at a time and report the accuracy drop against the intact network.
public enum DamageAblation {
    /// What one evaluation removes: one node, or one edge.
    public enum Target: String, Sendable, CaseIterable { case node, edge }

    /// One evaluation with one node or one edge of one stage removed.
    public struct Row: Sendable {
        /// The stage, 1-based.
        public let stage: Int          // 1-based
        /// The removed node (nil when an edge was removed).
        public let node: Int?          // removed node
        /// The removed edge (nil when a node was removed).
        public let edge: RandomGraph.Edge?
        /// Out-degree of the removed node, or of the removed edge's source.
        public let outDegree: Int      // of the node (edge: of its source)
        /// In-degree of the removed node, or of the removed edge's target.
        public let inDegree: Int       // of the node (edge: of its target)
        /// Test accuracy with it removed, as a fraction in [0, 1].
        public let accuracy: Double
        /// Accuracy lost against the intact network: baseline − accuracy (< 0 if removal helped).
        public let drop: Double        // baseline − accuracy
    }

    /// Runs the ablation on `trainer`'s test set. `progress(done, total)` after each evaluation.
    /// Each stage it visits is left with no disabled nodes or edges, also on error.
    /// Errors: `.unsupported` when the network has no RandWire stages; else what `evaluate` throws.
    public static func run(_ trainer: Trainer, remove target: Target,
                           progress: (Int, Int) -> Void = { _, _ in }) throws -> (baseline: Double, rows: [Row]) {
        let stages = trainer.network.randWireStages
        guard !stages.isEmpty else {
            throw SparseWireError(.unsupported, "damage ablation needs a RandWire network (model.name: randwire), got '\(trainer.network.name)'")
        }
        let baseline = try trainer.evaluate().accuracy
        var rows: [Row] = []
        let total = stages.reduce(0) { $0 + (target == .node ? $1.graph.nodeCount : $1.graph.edges.count) }
        var done = 0
        for (si, s) in stages.enumerated() {
            let succ = s.graph.successors, pred = s.graph.predecessors
            defer { s.disabledNodes = []; s.disabledEdges = [] }
            switch target {
            case .node:
                for v in 0..<s.graph.nodeCount {
                    s.disabledNodes = [v]
                    let acc = try trainer.evaluate().accuracy
                    rows.append(Row(stage: si + 1, node: v, edge: nil, outDegree: succ[v].count, inDegree: pred[v].count,
                                    accuracy: acc, drop: baseline - acc))
                    done += 1; progress(done, total)
                }
                s.disabledNodes = []
            case .edge:
                for e in s.graph.edges {
                    s.disabledEdges = [e]
                    let acc = try trainer.evaluate().accuracy
                    rows.append(Row(stage: si + 1, node: nil, edge: e, outDegree: succ[e.from].count, inDegree: pred[e.to].count,
                                    accuracy: acc, drop: baseline - acc))
                    done += 1; progress(done, total)
                }
                s.disabledEdges = []
            }
        }
        return (baseline, rows)
    }
}
