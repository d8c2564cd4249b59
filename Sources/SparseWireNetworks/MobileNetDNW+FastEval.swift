import SparseWireTensor
import SparseWireAutograd

/// What `Models.fastEval` removed from a MobileNetV1-DNW network and what it costs to run.
public struct FastEvalReport: Sendable {
    /// Per stage: input channels and group widths before and after, and the kept graph edges.
    public struct Stage: Sendable {
        /// Input channels before and after.
        public var inputs: (before: Int, after: Int)
        /// Group widths before and after (a group no later group reads is dropped: width 0).
        public var groups: [(before: Int, after: Int)]
        /// Non-zero graph edges before and after (edges into a removed channel go with it).
        public var edges: (before: Int, after: Int)
    }
    /// One entry per stage.
    public var stages: [Stage]
    /// Parameter elements of the whole network (dense tensors, masked zeros included), before and after.
    public var parameters: (before: Int, after: Int)
    /// Non-zero elements of the effective parameters (ŵ = w ⊙ m where masked), before and after:
    /// what a sparse store of the network would hold.
    public var nonZeroParameters: (before: Int, after: Int)
    /// Multiply-accumulates per example, counting graph layers by their non-zero edges (as the
    /// reference's profiling does) and norms as free: before and after.
    public var macs: (before: Double, after: Double)
}

extension Models {
    /// DNW's fast evaluation of a MobileNetV1-DNW network (allenai/dnw
    /// `prepare_for_fast_eval`): a copy without the channels nothing reads. Walking the stages
    /// backwards, a channel stays when a kept channel of a later group (or the next stage, or
    /// the head for the last stage's outputs) has a non-zero edge from it; a group with no such
    /// channel goes entirely; the stem keeps the first stage's used inputs. The copy's graph
    /// weights are ŵ = w ⊙ m (no masks); norms, depthwise filters and the stem are sliced; the
    /// head is shared with `net`. Only channels that contribute nothing go (a channel with no
    /// incoming edge stays: its constant output still reaches later nodes), so the logits are
    /// the same up to float summation order. Errors: `.unsupported` for another network.
    public static func fastEval(_ net: Network, input: InputSpec) throws -> (network: Network, report: FastEvalReport) {
        guard let seq = net.body as? Sequential, let stem = seq.layers.first as? Conv2d, !net.dnwMobileStages.isEmpty else {
            throw SparseWireError(.unsupported, "fast evaluation needs a mobilenetv1-dnw network, got '\(net.name)'")
        }
        let stages = net.dnwMobileStages
        let head = Array(seq.layers.drop { !($0 is DNWMobileStage) }.drop { $0 is DNWMobileStage })
        var needed = [Bool](repeating: true, count: stages.last!.outputs)
        var compact: [DNWMobileStage] = [], reports: [FastEvalReport.Stage] = []
        for (s, st) in stages.enumerated().reversed() {
            let (copy, usedInputs, report) = compacted(st, name: "stage\(s + 1)", needed: needed)
            compact.insert(copy, at: 0); reports.insert(report, at: 0)
            needed = usedInputs
        }
        let keepStem = indices(needed)
        let newStem = Conv2d(name: "conv1", inChannels: stem.weight.shape[1], outChannels: keepStem.count, kernel: stem.weight.shape[2],
                             stride: stem.stride, padding: stem.padding, bias: stem.bias != nil, maskable: false)
        copyRows(of: effective(stem.weight), keep: keepStem, into: newStem.weight.value)
        if let b = stem.bias, let nb = newStem.bias { for (r, c) in keepStem.enumerated() { nb.value[r] = b.value[c] } }
        let fast = Network(name: net.name, body: Sequential([newStem] + compact + head))
        let nonZero = { (n: Network) in
            n.parameters.reduce(0) { total, p in let t = effective(p); return total + (0..<t.count).reduce(0) { $0 + (t[$1] != 0 ? 1 : 0) } }
        }
        let report = FastEvalReport(stages: reports, parameters: (net.parameterCount, fast.parameterCount),
                                    nonZeroParameters: (nonZero(net), nonZero(fast)),
                                    macs: (macs(net, input: input, edges: reports.map(\.edges.before)),
                                           macs(fast, input: input, edges: reports.map(\.edges.after))))
        return (fast, report)
    }

    /// Multiply-accumulates per example of a MobileNetV1-DNW network (stem, depthwise filters,
    /// each stage's `edges` non-zero graph edges, classifier; norms free).
    static func macs(_ net: Network, input: InputSpec, edges: [Int]) -> Double {
        guard let seq = net.body as? Sequential, let stem = seq.layers.first as? Conv2d else { return 0 }
        var h = input.height, w = input.width
        var total = Double(stem.weight.count * h * w)
        for (st, e) in zip(net.dnwMobileStages, edges) {
            h = (h - 1) / st.stride + 1; w = (w - 1) / st.stride + 1
            let dw = st.depthwise.reduce(0) { $0 + $1.weight.count }
            total += Double((dw + e) * h * w)
        }
        if let fc = seq.layers.last as? Linear { total += Double(fc.weight.count) }
        return total
    }

    /// ŵ = w ⊙ m (a copy), or w itself without a mask.
    static func effective(_ p: Parameter) -> Tensor {
        guard let m = p.mask else { return p.value }
        let t = p.value.copy()
        for i in 0..<t.count { t[i] *= m[i] }
        return t
    }

    static func indices(_ flags: [Bool]) -> [Int] {
        let kept = flags.indices.filter { flags[$0] }
        return kept.isEmpty ? [0] : kept  // keep one channel rather than an empty layer (exact either way)
    }

    /// Rows `keep` of a [rows, …] tensor into `out` (same trailing size).
    static func copyRows(of t: Tensor, keep: [Int], into out: Tensor) {
        let per = t.count / t.shape[0]
        for (r, src) in keep.enumerated() { for i in 0..<per { out[r * per + i] = t[src * per + i] } }
    }

    /// One stage without unused channels; `needed` flags the output channels read downstream.
    /// Returns the copy, the flags of the input channels it reads, and its report.
    static func compacted(_ st: DNWMobileStage, name: String, needed: [Bool]) -> (DNWMobileStage, [Bool], FastEvalReport.Stage) {
        let w = st.graph.map { effective($0.weight) }
        let offsets = st.sourceOffsets
        var alive = st.groupWidths.map { [Bool](repeating: false, count: $0) }
        alive[st.blocks - 1] = needed
        // Source channel `col` of A_k is used when a kept row of a later group reads it.
        func used(_ col: Int, after j: Int) -> Bool {
            for k in (j + 1)..<st.blocks {
                let cols = w[k].shape[1]
                for r in 0..<st.groupWidths[k] where alive[k][r] && w[k][r * cols + col] != 0 { return true }
            }
            return false
        }
        for j in stride(from: st.blocks - 2, through: 0, by: -1) {
            for c in 0..<st.groupWidths[j] { alive[j][c] = used(offsets[j + 1] + c, after: j) }
        }
        let inputs = (0..<st.inputs).map { used($0, after: -1) }
        let keepIn = indices(inputs)
        // Kept groups (the last always); their kept channels.
        let groups = (0..<st.blocks).filter { $0 == st.blocks - 1 || alive[$0].contains(true) }
        let keep = groups.map { j in j == st.blocks - 1 ? indices(alive[j]) : alive[j].indices.filter { alive[j][$0] } }
        let kind: NormKind = st.norms[0] == nil ? .none : st.norms[0]!.gamma == nil ? .nonaffine : .affine
        let copy = DNWMobileStage(name: name, inputs: keepIn.count, groupWidths: keep.map(\.count), stride: st.stride, norm: kind)
        // Sources: the input, then every kept group but the last.
        let sources = [(0, keepIn)] + zip(groups, keep).dropLast().map { ($0.0 + 1, $0.1) }
        for (i, (src, rows)) in sources.enumerated() {
            copyRows(of: st.depthwise[src].weight.value, keep: rows, into: copy.depthwise[i].weight.value)
            if let from = st.norms[src], let to = copy.norms[i] {
                for (r, c) in rows.enumerated() {
                    to.runningMean[r] = from.runningMean[c]; to.runningVar[r] = from.runningVar[c]
                    if let g = from.gamma, let b = from.beta { to.gamma!.value[r] = g.value[c]; to.beta!.value[r] = b.value[c] }
                }
            }
        }
        // A'_j: kept rows of group j, columns of the kept input channels and kept earlier groups' channels.
        for (jj, j) in groups.enumerated() {
            let cols = w[j].shape[1]
            let keepCols = keepIn + zip(groups, keep).prefix(jj).flatMap { g, rows in rows.map { offsets[g + 1] + $0 } }
            let out = copy.graph[jj].weight.value
            for (r, row) in keep[jj].enumerated() {
                for (c, col) in keepCols.enumerated() { out[r * keepCols.count + c] = w[j][row * cols + col] }
            }
        }
        func nonzero(_ ts: [Tensor]) -> Int { ts.reduce(0) { sum, t in sum + (0..<t.count).filter { t[$0] != 0 }.count } }
        let edges = (nonzero(w), nonzero(copy.graph.map(\.weight.value)))
        let report = FastEvalReport.Stage(inputs: (st.inputs, keepIn.count),
                                          groups: (0..<st.blocks).map { j in (st.groupWidths[j], groups.firstIndex(of: j).map { keep[$0].count } ?? 0) },
                                          edges: edges)
        return (copy, inputs, report)
    }
}
