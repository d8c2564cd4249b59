import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

extension ONNXEmitter {
    /// A RandWire stage as the engine evaluates it (no edge drop): each node in order takes the
    /// stage input (no predecessors), its one predecessor's output, or Σ σ(ℓᵢ)·outᵢ over its
    /// active in-edges (σ(ℓᵢ) baked as constants), then ReLU → depthwise 3×3 → pointwise 1×1 →
    /// BatchNorm; the stage output is the mean of its output nodes. Errors: `.unsupported` for a
    /// damaged stage where a node or the stage has no live input (the engine feeds zeros there).
    func randWire(_ stage: RandWireStage, _ x: String) throws -> String {
        var outs = [String?](repeating: nil, count: stage.nodes.count)
        for node in stage.nodes where !stage.disabledNodes.contains(node.index) {
            let v = node.index
            var input = x
            if !node.predecessors.isEmpty {
                let live = node.predecessors.enumerated().filter { _, u in
                    outs[u] != nil && !stage.disabledEdges.contains(RandomGraph.Edge(u, v))
                }
                guard !live.isEmpty else {
                    throw SparseWireError(.unsupported, "ONNX export of \(network): \(stage.name) node \(v) has every input removed (damage ablation)")
                }
                if let logits = node.logits {
                    let terms = live.map { i, u -> String in
                        let w = 1 / (1 + expf(-logits.value[i]))  // as the engine computes σ
                        let c = graph.initializer(graph.fresh("\(stage.name).node\(v).sigmoid_w\(i)"), Tensor(shape: [1], repeating: w))
                        return graph.node("Mul", [outs[u]!, c], name: "\(stage.name).node\(v).edge\(u)")
                    }
                    input = terms.count == 1 ? terms[0] : graph.node("Sum", terms, name: "\(stage.name).node\(v).sum")
                } else {
                    input = outs[node.predecessors[0]]!
                }
            }
            var h = graph.node("Relu", [input], name: "\(stage.name).node\(v).relu")
            h = try emit(node.depthwise, h)
            h = try emit(node.pointwise, h)
            outs[v] = try emit(node.norm, h)
        }
        let finals = stage.outputNodes.compactMap { outs[$0] }
        guard let first = finals.first else {
            throw SparseWireError(.unsupported, "ONNX export of \(network): \(stage.name) has no live output node (damage ablation)")
        }
        if finals.count == 1 { return first }
        let sum = graph.node("Sum", finals, name: "\(stage.name).outputs")
        let scale = graph.initializer(graph.fresh("\(stage.name).mean"), Tensor(shape: [1], repeating: 1 / Float(finals.count)))
        return graph.node("Mul", [sum, scale], name: "\(stage.name).mean")
    }
}
