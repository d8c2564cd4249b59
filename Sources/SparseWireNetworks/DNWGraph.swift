import SparseWireTensor
import SparseWireAutograd
/// DNW's channel-level wiring graphs (Wortsman et al. 2019, "Discovering Neural Wirings").
///
/// Nodes are channels. A graph layer is a 1×1 convolution whose weight matrix is the channel
/// adjacency; the mask policy of the run (dnw by default, random-static for the "Random Graph"
/// baseline, any other policy) chooses which edges exist. Node op: ReLU → depthwise 3×3 →
/// (aggregation through the graph) → instance norm. Three settings:
///
/// - static: blocks of channels [b₀, b₁, …]; block 0 is the stem output, every later block
///   reads only earlier blocks (a DAG). Block i's state is the raw sum of what earlier blocks
///   sent it; its node op IN → ReLU → dw feeds every later block. One graph matrix per block,
///   masked together.
/// - discrete time: one graph over all channels (cycles allowed) applied T times with shared
///   weights: Z ← IN(A · dw(ReLU(Z))).
/// - continuous time: dZ/dt = IN(A · dw(ReLU(Z))) on t ∈ [0, 1], integrated with fixed-step
///   RK4; gradients by exact backpropagation through every solver stage (not the adjoint).
///
/// IN is an affine instance norm (one γ, β per node), as in the reference implementation. In
/// every setting the state starts as [stem output, zeros] and the classifier reads the last
/// `readout` channels: ReLU → average pool → FC.
public enum DNWSetting: String, Sendable, CaseIterable {
    case staticGraph = "static", discrete, continuous
}

/// The shape of a DNW graph: setting, channel blocks, time steps and readout width (`model.*` keys).
public struct DNWSpec: Sendable {
    /// Static, discrete-time or continuous-time graph.
    public var setting: DNWSetting
    /// Channels per block; the first block is the stem's output.
    public var blocks: [Int]
    /// Discrete time: applications of the graph. Continuous time: RK4 steps on [0, 1].
    public var steps: Int
    /// How many of the last channels the classifier reads (1 ≤ readout ≤ nodes, checked by `Models.dnwTiny`).
    public var readout: Int

    /// A spec; the defaults are blocks [32, 192, 192, 192, 192], 5 steps and readout 100.
    public init(setting: DNWSetting, blocks: [Int] = [32, 192, 192, 192, 192], steps: Int = 5, readout: Int = 100) {
        self.setting = setting; self.blocks = blocks; self.steps = steps; self.readout = readout
    }
    /// The total number of channels (graph nodes): the sum of `blocks`.
    public var nodes: Int { blocks.reduce(0, +) }
}

/// The graph part of a DNW network: state of `nodes` channels in, the final state out.
public final class DNWGraphModule: Module {
    /// The spec the graph was built from.
    public let spec: DNWSpec
    /// Static: one adjacency per block b ≥ 1, shape [b, channels before b, 1, 1].
    /// Dynamic: one adjacency [nodes, nodes, 1, 1].
    public let adjacency: [Parameter]
    /// One 3×3 depthwise filter per node.
    package let depthwise: DepthwiseConv2d
    /// Affine instance norm, one (γ, β) per node (as the reference's `InstanceNorm2d(affine=True)`):
    /// without them every normalised state has spatial mean 0 and unit variance, and the readout
    /// loses the per-sample magnitude of each channel.
    public let normWeight: Parameter, normBias: Parameter

    /// Builds the depthwise filters, norm γ = 1 and β = 0, and zero-filled adjacency parameters
    /// (fill them with `Models.initialize`).
    public init(spec: DNWSpec) {
        self.spec = spec
        depthwise = DepthwiseConv2d(name: "graph.dw", channels: spec.nodes, kernel: 3, padding: 1)
        normWeight = Parameter(name: "graph.norm.weight", shape: [spec.nodes], role: .normWeight, maskable: false)
        normBias = Parameter(name: "graph.norm.bias", shape: [spec.nodes], role: .normBias, maskable: false)
        normWeight.value.fill(1)
        switch spec.setting {
        case .staticGraph:
            var before = spec.blocks[0]
            adjacency = spec.blocks.dropFirst().enumerated().map { i, b in
                defer { before += b }
                return Parameter(name: "graph.block\(i + 1)", shape: [b, before, 1, 1], role: .weight, maskable: true)
            }
        case .discrete, .continuous:
            adjacency = [Parameter(name: "graph.adjacency", shape: [spec.nodes, spec.nodes, 1, 1], role: .weight, maskable: true)]
        }
    }

    /// One application of the dynamic graph: IN(A · dw(ReLU(Z))).
    package func field(_ z: Var, _ ctx: Context) throws -> Var {
        let h = try depthwise.forward(ctx.relu(z), ctx)
        let a = try ctx.maskedConv2d(h, adjacency[0], nil)
        return try ctx.instanceNorm(a, gamma: normWeight.variable, beta: normBias.variable)
    }

    /// `x` is the full initial state [N, nodes, H, W].
    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        guard x.shape.count == 4, x.shape[1] == spec.nodes else {
            throw SparseWireError.shape("DNW graph: expected [N, \(spec.nodes), H, W], got \(x.shape)")
        }
        switch spec.setting {
        case .staticGraph:
            // As the reference's static graph: a block's state is the raw sum of what earlier
            // blocks sent it; its node op IN → ReLU → dw runs when the block's turn comes, and the
            // result feeds every later block through Aᵢ. The last block stays a raw sum (readout).
            var z = try ctx.sliceChannels(x, 0..<spec.blocks[0])
            var states = [z]
            var transformed: [Var] = []
            var start = 0
            for i in 0..<(spec.blocks.count - 1) {
                let range = start..<(start + spec.blocks[i])
                let w = try ctx.sliceDepthwise(depthwise.weight.variable, range)
                let activated = try ctx.instanceNorm(z, gamma: ctx.slice1D(normWeight.variable, range),
                                                     beta: ctx.slice1D(normBias.variable, range), relu: true)
                transformed.append(try ctx.depthwiseConv2d(activated, w, nil, stride: 1, padding: 1))
                start += spec.blocks[i]
                z = try ctx.maskedConv2d(ctx.concatChannels(transformed), adjacency[i], nil)
                states.append(z)
            }
            return try ctx.concatChannels(states)
        case .discrete:
            var z = x
            for _ in 0..<spec.steps { z = try field(z, ctx) }
            return z
        case .continuous:
            let h = 1 / Float(spec.steps)
            func scaled(_ v: Var, _ s: Float) throws -> Var { try ctx.scale(v, by: Var(Tensor(shape: [1], repeating: s))) }
            var z = x
            for _ in 0..<spec.steps {
                let k1 = try field(z, ctx)
                let k2 = try field(ctx.add(z, scaled(k1, h / 2)), ctx)
                let k3 = try field(ctx.add(z, scaled(k2, h / 2)), ctx)
                let k4 = try field(ctx.add(z, scaled(k3, h)), ctx)
                let sum = try ctx.add(ctx.add(k1, scaled(k2, 2)), ctx.add(scaled(k3, 2), k4))
                z = try ctx.add(z, scaled(sum, h / 6))
            }
            return z
        }
    }

    /// The depthwise filters, norm γ and β, then the adjacency parameters.
    public var parameters: [Parameter] { depthwise.parameters + [normWeight, normBias] + adjacency }

    /// Kept edges (u → v) of the current masks, as (from channel, to channel, weight).
    public func edges() -> [(from: Int, to: Int, weight: Float)] {
        var out: [(Int, Int, Float)] = []
        switch spec.setting {
        case .staticGraph:
            var rowStart = spec.blocks[0]
            for (i, p) in adjacency.enumerated() {
                let rows = p.shape[0], cols = p.shape[1]
                for r in 0..<rows {
                    for c in 0..<cols {
                        let m = p.mask?[r * cols + c] ?? 1
                        if m != 0 { out.append((c, rowStart + r, p.value[r * cols + c] * m)) }
                    }
                }
                rowStart += spec.blocks[i + 1]
            }
        case .discrete, .continuous:
            let p = adjacency[0], n = spec.nodes
            for r in 0..<n { for c in 0..<n where (p.mask?[r * n + c] ?? 1) != 0 { out.append((c, r, p.value[r * n + c])) } }
        }
        return out
    }
}

extension Models {
    /// DNW's tiny classifier adapted to `input` (1×28×28 here): stem conv 3×3 stride 2 (→16) →
    /// BN → ReLU → depthwise 3×3 stride 2 → 1×1 (16 → blocks[0]) → BN gives the first block of
    /// the state (7×7 maps for 28×28), the rest of the state starts at zero; the graph; the
    /// last `readout` channels → average pool → FC. Only the graph adjacency is maskable.
    public static func dnwTiny(input: InputSpec, spec: DNWSpec) throws -> Network {
        guard spec.blocks.count >= 2, spec.blocks.allSatisfy({ $0 >= 1 }) else {
            throw SparseWireError.config("dnw: model.blocks needs ≥ 2 positive block sizes, got \(spec.blocks)")
        }
        guard spec.steps >= 1 else { throw SparseWireError.config("dnw: model.steps must be ≥ 1, got \(spec.steps)") }
        guard spec.readout >= 1, spec.readout <= spec.nodes else {
            throw SparseWireError.config("dnw: model.readout must be in 1…\(spec.nodes), got \(spec.readout)")
        }
        let stemOut = spec.blocks[0]
        let graph = DNWGraphModule(spec: spec)
        let nodes = spec.nodes, readout = spec.readout
        let layers: [any Module] = [
            Conv2d(name: "stem.conv", inChannels: input.channels, outChannels: 16, kernel: 3, stride: 2, padding: 1, bias: false, maskable: false),
            BatchNorm(name: "stem.bn", channels: 16), Lambda.relu,
            DepthwiseConv2d(name: "stem.dw", channels: 16, kernel: 3, stride: 2, padding: 1),
            Conv2d(name: "stem.pw", inChannels: 16, outChannels: stemOut, kernel: 1, bias: false, maskable: false),
            BatchNorm(name: "stem.bn2", channels: stemOut),
            Lambda.padChannels(to: nodes),  // the initial state: stem output in block 0, zeros elsewhere
            graph,
            // ReLU before pooling: the states are instance-normalised, so their spatial mean is exactly 0.
            Lambda.sliceChannels((nodes - readout)..<nodes), Lambda.relu,
            Lambda.globalAvgPool, Lambda.flatten,
            Linear(name: "fc", inFeatures: readout, outFeatures: input.classes, maskable: false),
        ]
        return Network(name: "dnw-\(spec.setting.rawValue)", body: Sequential(layers))
    }
}

extension Network {
    /// The DNW graph module of this network, if any.
    public var dnwGraph: DNWGraphModule? {
        (body as? Sequential)?.layers.compactMap { $0 as? DNWGraphModule }.first
    }
}
