import SparseWireTensor
import SparseWireAutograd
/// Randomly wired networks (Xie et al. 2019, "Exploring Randomly Wired Neural Networks").
///
/// A stage is a random DAG (from `GraphGenerator`) whose nodes all have C channels. Node op:
/// aggregation Σ σ(wᵢ)·xᵢ over the incoming edges (positive learnable weights) → ReLU → 3×3
/// separable conv (depthwise + pointwise) → BN. Nodes without predecessors read the stage input
/// through the unique input node and use stride 2; the unique output node averages the nodes
/// without successors. Channels double from stage to stage.
public final class RandWireNode {
    /// The node's index in its stage's graph.
    public let index: Int
    /// Predecessors in the graph; empty = fed by the stage's input node.
    public let predecessors: [Int]
    package let logits: Parameter?
    package let depthwise: DepthwiseConv2d
    package let pointwise: Conv2d
    package let norm: BatchNorm

    package init(stage: String, index: Int, predecessors: [Int], inChannels: Int, channels: Int) {
        self.index = index
        self.predecessors = predecessors
        let name = "\(stage).node\(index)"
        logits = predecessors.count > 1
            ? Parameter(name: "\(name).edge_weights", shape: [predecessors.count], role: .other, maskable: false) : nil
        let stride = predecessors.isEmpty ? 2 : 1
        depthwise = DepthwiseConv2d(name: "\(name).dw", channels: inChannels, kernel: 3, stride: stride, padding: 1)
        pointwise = Conv2d(name: "\(name).pw", inChannels: inChannels, outChannels: channels, kernel: 1, bias: false)
        norm = BatchNorm(name: "\(name).bn", channels: channels)
    }

    package var parameters: [Parameter] {
        (logits.map { [$0] } ?? []) + depthwise.parameters + pointwise.parameters + norm.parameters
    }
}

/// One random stage of RandWire: a `RandomGraph` whose nodes each have `channels` channels.
public final class RandWireStage: Module {
    /// The stage name, prefix of its parameter names.
    public let name: String
    /// The random DAG the stage is wired by.
    public let graph: RandomGraph
    /// Channels of the stage input and of every node.
    public let inChannels: Int, channels: Int
    /// The nodes, indexed as in `graph`.
    public let nodes: [RandWireNode]
    /// Probability of dropping one edge (whose target has in-degree > 1) per training pass.
    public var edgeDrop: Double
    /// Damage ablation: nodes and edges removed from the evaluation (and training) passes.
    public var disabledNodes: Set<Int> = []
    /// Damage ablation: edges removed from the passes.
    public var disabledEdges: Set<RandomGraph.Edge> = []

    /// One node per graph node; input-fed nodes read `inChannels` channels with stride 2.
    public init(name: String, graph: RandomGraph, inChannels: Int, channels: Int, edgeDrop: Double = 0) {
        self.name = name
        self.graph = graph
        self.inChannels = inChannels
        self.channels = channels
        self.edgeDrop = edgeDrop
        let preds = graph.predecessors
        nodes = (0..<graph.nodeCount).map { v in
            RandWireNode(stage: name, index: v, predecessors: preds[v], inChannels: preds[v].isEmpty ? inChannels : channels,
                         channels: channels)
        }
    }

    /// Nodes read by the output node (no successors).
    public var outputNodes: [Int] {
        let succ = graph.successors
        return (0..<graph.nodeCount).filter { succ[$0].isEmpty }
    }
    /// Nodes fed by the input node (no predecessors).
    public var inputNodes: [Int] { nodes.filter { $0.predecessors.isEmpty }.map(\.index) }

    /// Graph edges that take part now (not removed, neither end removed).
    public var activeEdges: [RandomGraph.Edge] {
        graph.edges.filter { !disabledEdges.contains($0) && !disabledNodes.contains($0.from) && !disabledNodes.contains($0.to) }
    }

    /// Edges eligible for edge drop: the target keeps at least one other input.
    package var droppableEdges: [RandomGraph.Edge] {
        let indeg = graph.predecessors.map(\.count)
        return graph.edges.filter { indeg[$0.to] > 1 }
    }

    /// Runs the nodes in index order and averages the output nodes: [N, inChannels, H, W] →
    /// [N, channels, ⌈H/2⌉, ⌈W/2⌉]. Errors: `.shape` when `x` is not [N, inChannels, H, W].
    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        guard x.shape.count == 4, x.shape[1] == inChannels else {
            throw SparseWireError.shape("\(name): expected [N, \(inChannels), H, W], got \(x.shape)")
        }
        var dropped: RandomGraph.Edge?
        if ctx.training && edgeDrop > 0 && Double(ctx.rng.uniform()) < edgeDrop {
            let candidates = droppableEdges
            if !candidates.isEmpty { dropped = candidates[ctx.rng.int(below: candidates.count)] }
        }
        var outs = [Var?](repeating: nil, count: nodes.count)
        var zero: Var?
        for node in nodes {
            let v = node.index
            if disabledNodes.contains(v) { continue }
            let input: Var
            if node.predecessors.isEmpty {
                input = x
            } else {
                let active = node.predecessors.map { u in
                    let e = RandomGraph.Edge(u, v)
                    return outs[u] != nil && !disabledEdges.contains(e) && e != dropped
                }
                if !active.contains(true) {
                    // every input removed (damage): the node sees zeros
                    if zero == nil {
                        let h = (x.shape[2] + 1) / 2, w = (x.shape[3] + 1) / 2
                        zero = ctx.zeros([x.shape[0], channels, h, w])
                    }
                    input = zero!
                } else if let logits = node.logits {
                    let xs = node.predecessors.enumerated().map { i, u in active[i] ? outs[u]! : outs.compactMap { $0 }.first! }
                    input = try ctx.sigmoidWeightedSum(xs, logits: logits.variable, active: active)
                } else {
                    input = outs[node.predecessors[0]]!
                }
            }
            var h = ctx.relu(input)
            h = try node.depthwise.forward(h, ctx)
            h = try node.pointwise.forward(h, ctx)
            outs[v] = try node.norm.forward(h, ctx)
        }
        let finals = outputNodes.compactMap { outs[$0] }
        guard let first = finals.first else {
            let h = (x.shape[2] + 1) / 2, w = (x.shape[3] + 1) / 2
            return ctx.zeros([x.shape[0], channels, h, w])
        }
        if finals.count == 1 { return first }
        var sum = first
        for f in finals.dropFirst() { sum = try ctx.add(sum, f) }
        return try ctx.scale(sum, by: Var(Tensor(shape: [1], repeating: 1 / Float(finals.count))))
    }

    /// Every node's parameters, in node order.
    public var parameters: [Parameter] { nodes.flatMap(\.parameters) }
    /// Every node's batch-norm running statistics.
    public var buffers: [(String, Tensor)] { nodes.flatMap { $0.norm.buffers } }
}

/// How a RandWire network is built.
public struct RandWireSpec: Sendable {
    /// The graph generator of every stage.
    public var generator: GraphGenerator
    /// Graph seed of the first stage; stage s uses `seed + s`.
    public var seed: UInt64
    /// Channels C of the first random stage (the stem has C/2, then C).
    public var channels: Int
    /// Number of random stages (channels C, 2C, 4C, ...).
    public var stages: Int
    /// Width of the 1×1 conv before pooling.
    public var head: Int
    /// Edge-drop probability per training pass, in [0, 1] (`model.edge_drop`).
    public var edgeDrop: Double

    /// A spec; the defaults are C = 32, 2 stages, head 256 and edge drop 0.1.
    public init(generator: GraphGenerator, seed: UInt64, channels: Int = 32, stages: Int = 2, head: Int = 256, edgeDrop: Double = 0.1) {
        self.generator = generator; self.seed = seed; self.channels = channels; self.stages = stages
        self.head = head; self.edgeDrop = edgeDrop
    }
}

extension Models {
    /// The small-regime RandWire adapted to small inputs (28×28 or 32×32): conv 3×3 (C/2) → BN
    /// → ReLU → conv 3×3 stride 2 (C) → BN, then `stages` random stages (each halves the
    /// resolution: its input-fed nodes use stride 2) with C, 2C, 4C… channels, then ReLU → 1×1
    /// conv (head) → BN → ReLU → global average pool → FC. Stage s uses graph seed `seed + s`.
    public static func randWire(input: InputSpec, spec: RandWireSpec) throws -> Network {
        try spec.generator.validate()
        guard spec.channels >= 2, spec.stages >= 1, spec.head >= 1 else {
            throw SparseWireError.config("randwire: needs model.channels ≥ 2, model.stages ≥ 1, model.head ≥ 1")
        }
        guard (0...1).contains(spec.edgeDrop) else { throw SparseWireError.config("randwire: edge_drop must be in [0, 1]") }
        let c = spec.channels
        var layers: [any Module] = [
            Conv2d(name: "conv1", inChannels: input.channels, outChannels: c / 2, kernel: 3, padding: 1, bias: false),
            BatchNorm(name: "bn1", channels: c / 2), Lambda.relu,
            Conv2d(name: "conv2", inChannels: c / 2, outChannels: c, kernel: 3, stride: 2, padding: 1, bias: false),
            BatchNorm(name: "bn2", channels: c),
        ]
        var ch = c
        for s in 0..<spec.stages {
            let out = c << s
            let graph = try spec.generator.generate(seed: spec.seed &+ UInt64(s))
            layers.append(RandWireStage(name: "stage\(s + 1)", graph: graph, inChannels: ch, channels: out, edgeDrop: spec.edgeDrop))
            ch = out
        }
        layers += [
            Lambda.relu,
            Conv2d(name: "head", inChannels: ch, outChannels: spec.head, kernel: 1, bias: false),
            BatchNorm(name: "head_bn", channels: spec.head), Lambda.relu,
            Lambda.globalAvgPool, Lambda.flatten,
            Linear(name: "fc", inFeatures: spec.head, outFeatures: input.classes),
        ]
        return Network(name: "randwire", body: Sequential(layers))
    }
}

extension Network {
    /// The RandWire stages of this network, in order.
    public var randWireStages: [RandWireStage] {
        guard let seq = body as? Sequential else { return [] }
        return seq.layers.compactMap { $0 as? RandWireStage }
    }
}
