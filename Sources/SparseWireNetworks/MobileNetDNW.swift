import SparseWireTensor
import SparseWireAutograd

/// One stage of MobileNetV1 whose pointwise wiring is a learned channel graph (DNW's
/// MobileNetV1-like model, allenai/dnw `models/graphs/mobilenetv1like.py`).
///
/// The stage has `blocks` groups of `outputs` channels. Its sources are the stage input, after
/// norm → ReLU → depthwise 3×3 with the stage's stride, and each group but the last, after its
/// own norm → ReLU → depthwise 3×3. Group j is the raw sum z_j = A_j · [source 0, …, source j]
/// (a 1×1 conv over the concatenated sources: A_j is [outputs, inputs + j·outputs]); the stage's
/// output is the last group's raw sum, which the next stage (or the head) normalises. Every A_j
/// is a maskable weight: the run's policy chooses which of the edges into group j exist, from
/// the stage input and every earlier group. There is no other skip connection.
public final class DNWMobileStage: Module {
    /// Channels in, stride of the input's depthwise conv.
    public let inputs: Int, stride: Int
    /// Channels of each group (all equal when built; a fast-evaluated copy keeps what is used).
    public let groupWidths: [Int]
    /// Norms (nil with `NormKind.none`) and depthwise convs of the sources: index 0 is the
    /// stage input's (with the stride), index j ≥ 1 group j − 1's.
    public let norms: [BatchNorm?]
    /// See `norms`.
    public let depthwise: [DepthwiseConv2d]
    /// A_j as 1×1 convs without bias, one per group (maskable, `keepBudget` set by the builder).
    public let graph: [Conv2d]
    /// The stage's output channels: the last group's.
    public var outputs: Int { groupWidths[groupWidths.count - 1] }
    /// The number of groups.
    public var blocks: Int { groupWidths.count }
    /// Channel offset of each source in the concatenated sources (the input at 0, group j at
    /// inputs + Σ widths before j), which is also A's column offset.
    public var sourceOffsets: [Int] { Array(([inputs] + groupWidths.dropLast()).reduce(into: [0]) { $0.append($0.last! + $1) }.dropLast()) }

    /// A stage named `name` of `blocks` groups of `outputs` channels (parameters
    /// `<name>.dw0`, `<name>.bn0`, `<name>.graph<j>` …).
    public convenience init(name: String, inputs: Int, outputs: Int, blocks: Int, stride: Int, norm: NormKind) {
        self.init(name: name, inputs: inputs, groupWidths: Array(repeating: outputs, count: blocks), stride: stride, norm: norm)
    }

    /// A stage with groups of the given widths (each ≥ 1).
    public init(name: String, inputs: Int, groupWidths: [Int], stride: Int, norm: NormKind) {
        precondition(!groupWidths.isEmpty && groupWidths.allSatisfy { $0 > 0 } && inputs > 0, "a stage needs channels in every source")
        self.inputs = inputs; self.groupWidths = groupWidths; self.stride = stride
        let sources = [inputs] + groupWidths.dropLast()
        norms = sources.enumerated().map { i, c in norm == .none ? nil : BatchNorm(name: "\(name).bn\(i)", channels: c, affine: norm == .affine) }
        depthwise = sources.enumerated().map { i, c in
            DepthwiseConv2d(name: "\(name).dw\(i)", channels: c, kernel: 3, stride: i == 0 ? stride : 1, padding: 1)
        }
        var width = inputs
        graph = groupWidths.enumerated().map { j, out in
            defer { width += out }
            return Conv2d(name: "\(name).graph\(j)", inChannels: width, outChannels: out, kernel: 1, bias: false)
        }
    }

    /// Source i: norm → ReLU → depthwise 3×3 of `x`.
    func source(_ i: Int, _ x: Var, _ ctx: Context) throws -> Var {
        try depthwise[i].forward(ctx.relu(try norms[i]?.forward(x, ctx) ?? x), ctx)
    }

    /// The last group's raw sum [N, outputs, H / stride, W / stride]. Errors: `.shape` for
    /// an input without `inputs` channels, or what a layer throws.
    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        guard x.shape.count == 4, x.shape[1] == inputs else {
            throw SparseWireError.shape("DNW MobileNet stage: expected [N, \(inputs), H, W], got \(x.shape)")
        }
        var sources = [try source(0, x, ctx)]
        var z = sources[0]
        for j in 0..<blocks {
            z = try graph[j].forward(sources.count == 1 ? sources[0] : ctx.concatChannels(sources), ctx)
            if j + 1 < blocks { sources.append(try source(j + 1, z, ctx)) }
        }
        return z
    }

    /// Kept edges of the current masks (all edges without a mask) as (from, to, weight): node
    /// ids number the stage input's channels 0..<inputs, then group j's channels from
    /// inputs + Σ widths before j. An edge runs from a source channel to a later group's channel.
    public func edges() -> [(from: Int, to: Int, weight: Float)] {
        var out: [(Int, Int, Float)] = []
        var first = inputs  // node id of the current group's channel 0
        for (j, g) in graph.enumerated() {
            let w = g.weight.value, m = g.weight.mask, width = g.weight.shape[1]
            for c in 0..<groupWidths[j] {
                for src in 0..<width where m.map({ $0[c * width + src] != 0 }) ?? true {
                    out.append((src, first + c, w[c * width + src]))  // columns are the sources in node order
                }
            }
            first += groupWidths[j]
        }
        return out
    }

    /// Norms and depthwise filters per source, then the graph weights.
    public var parameters: [Parameter] {
        zip(norms, depthwise).flatMap { ($0.0?.parameters ?? []) + $0.1.parameters } + graph.flatMap(\.parameters)
    }
    /// The norms' running statistics.
    public var buffers: [(String, Tensor)] { norms.flatMap { $0?.buffers ?? [] } }
}

extension Network {
    /// The MobileNetV1-DNW stages of this network, in order (empty for other models).
    public var dnwMobileStages: [DNWMobileStage] {
        ((body as? Sequential)?.layers ?? []).compactMap { $0 as? DNWMobileStage }
    }
}

extension Models {
    /// The stages of DNW's MobileNetV1-like model: (input channels, output channels, stride,
    /// groups); 1 + 2 + 2 + 6 + 2 = MobileNetV1's 13 blocks.
    static let mobileNetDNWStages: [(inputs: Int, outputs: Int, stride: Int, blocks: Int)] = [
        (32, 64, 1, 1), (64, 128, 2, 2), (128, 256, 2, 2), (256, 512, 2, 6), (512, 1024, 2, 2),
    ]

    /// The edges group j of a stage keeps at edge budget b: as many as the pointwise conv of the
    /// same block in dense MobileNetV1 ×b has, round(b² · c_in · c_out) with c_in the stage input
    /// for j = 0 and the group width after (the reference's per-stage budget, split by block).
    static func mobileNetDNWBudget(_ budget: Double, inputs: Int, outputs: Int, group j: Int) -> Int {
        Int((budget * budget * Double(j == 0 ? inputs : outputs) * Double(outputs)).rounded())
    }

    /// MobileNetV1 with DNW-learned wiring (Wortsman et al. 2019, the MobileNetV1 experiments):
    /// stem conv 3×3 to 32·α channels (stride 1 for small images, no norm: the first stage
    /// normalises), five `DNWMobileStage`s, then norm → ReLU → global average pooling → the dense
    /// linear classifier `fc`. `width` α scales every channel count (the reference runs α = 1);
    /// `edgeBudget` b sets each graph group's kept edges to round(b²·c_in·c_out), the pointwise
    /// weights of dense MobileNetV1 ×b's block (the reference's ×0.225 is prune_rate 0.775; at
    /// least 1), as the weights' `keepBudget`. Only the graph weights are maskable. Errors: `.config` for a
    /// width ≤ 0 or a budget outside (0, 1].
    public static func mobileNetV1DNW(input: InputSpec, width: Double = 1, edgeBudget: Double = 0.225,
                                      norm: NormKind = .affine) throws -> Network {
        guard width > 0 else { throw SparseWireError.config("model.width must be > 0, got \(width)") }
        guard edgeBudget > 0, edgeBudget <= 1 else {
            throw SparseWireError.config("model.edge_budget must be in (0, 1] (a MobileNetV1 width multiplier), got \(edgeBudget)")
        }
        func scaled(_ c: Int) -> Int { max(1, Int((Double(c) * width).rounded())) }
        let stem = scaled(32)
        var layers: [any Module] = [Conv2d(name: "conv1", inChannels: input.channels, outChannels: stem, kernel: 3, padding: 1,
                                           bias: false, maskable: false)]
        var ch = stem
        for (s, st) in mobileNetDNWStages.enumerated() {
            let out = scaled(st.outputs)
            let stage = DNWMobileStage(name: "stage\(s + 1)", inputs: ch, outputs: out, blocks: st.blocks, stride: st.stride, norm: norm)
            for (j, g) in stage.graph.enumerated() {
                g.weight.keepBudget = max(1, mobileNetDNWBudget(edgeBudget, inputs: ch, outputs: out, group: j))  // ≤ its size as b ≤ 1
            }
            layers.append(stage)
            ch = out
        }
        layers += (norm == .none ? [] : [BatchNorm(name: "bn", channels: ch, affine: norm == .affine)] as [any Module])
            + [Lambda.relu, Lambda.globalAvgPool, Linear(name: "fc", inFeatures: ch, outFeatures: input.classes, maskable: false)]
        return Network(name: "mobilenetv1-dnw", body: Sequential(layers))
    }
}
