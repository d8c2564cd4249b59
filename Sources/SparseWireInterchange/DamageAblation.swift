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
    public enum Target: String, Sendable, CaseIterable { case node, edge }

    public struct Row: Sendable {
        public let stage: Int          // 1-based
        public let node: Int?          // removed node
        public let edge: RandomGraph.Edge?
        public let outDegree: Int      // of the node (edge: of its source)
        public let inDegree: Int       // of the node (edge: of its target)
        public let accuracy: Double
        public let drop: Double        // baseline − accuracy
    }

    /// Runs the ablation on `trainer`'s test set. `progress(done, total)` after each evaluation.
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
