import XCTest
import SparseWireCore

/// MobileNetV1 with DNW's per-stage channel graphs: the reference's stage plan and edge budgets,
/// the stage's arithmetic against the reference's accumulator form, exact kept counts while
/// training, and clear config errors.
final class MobileNetDNWTests: XCTestCase {
    let fmnist = InputSpec(channels: 1, height: 28, width: 28, classes: 10)

    func testStagesAndEdgeBudgetsAreTheReferences() throws {
        let net = try Models.mobileNetV1DNW(input: InputSpec(channels: 3, height: 32, width: 32, classes: 10))
        let graph = net.parameters.filter(\.maskable)
        XCTAssertEqual(graph.count, 13)  // one graph group per MobileNetV1 block
        XCTAssertEqual(graph.filter { $0.name.hasPrefix("stage4.") }.map(\.shape),
                       (0..<6).map { [512, 256 + $0 * 512, 1, 1] })  // group j reads the stage input and groups 0..<j
        // allenai/dnw keeps (c_in·c_out + (blocks − 1)·c_out²)·0.225² edges per stage (prune_rate
        // 0.775): 104, 1245, 4977, 72991, 79627. Here each group rounds its own share: within 1 per group.
        let reference = [104, 1245, 4977, 72991, 79627]
        for (s, want) in reference.enumerated() {
            let mine = graph.filter { $0.name.hasPrefix("stage\(s + 1).") }
            let kept = mine.reduce(0) { $0 + $1.keepBudget! }
            XCTAssertLessThanOrEqual(abs(kept - want), mine.count, "stage \(s + 1): \(kept) vs \(want)")
        }
        XCTAssertEqual(try net.forward(Var(Tensor(shape: [2, 3, 32, 32], repeating: 0.1)), Context(training: false)).shape, [2, 10])
        let est = try Models.estimate(ModelSpec(name: "mobilenetv1-dnw", norm: .affine), input: InputSpec(channels: 3, height: 32, width: 32, classes: 10))
        XCTAssertEqual(est.parameters, Double(net.parameterCount), accuracy: 1)
        XCTAssertThrowsError(try Models.mobileNetV1DNW(input: fmnist, edgeBudget: 1.5)) { XCTAssertTrue("\($0)".contains("model.edge_budget"), "\($0)") }
        XCTAssertThrowsError(try Models.mobileNetV1DNW(input: fmnist, width: 0)) { XCTAssertTrue("\($0)".contains("model.width"), "\($0)") }
    }

    /// The reference runs a stage as one rectangular graph W [oup·blocks, inp + oup·(blocks − 1)]
    /// of accumulators: acc = W[:, :inp]·x₀; per group i < blocks − 1: a = dw(ReLU(acc[:oup])),
    /// acc = acc[oup:] + W[(i+1)·oup:, inp + i·oup ..< inp + (i+1)·oup]·a. Ours sums group j's
    /// inputs at once through A_j = W[j·oup ..< (j+1)·oup, ..< inp + j·oup]. Same numbers.
    func testAStageComputesWhatTheReferenceAccumulatorsCompute() throws {
        let (inp, oup, blocks) = (3, 2, 3)
        let st = DNWMobileStage(name: "s", inputs: inp, outputs: oup, blocks: blocks, stride: 1, norm: .none)
        var rng = RNG(seed: 9)
        for p in st.parameters { for i in 0..<p.count { p.value[i] = rng.normal() } }
        let x = Tensor(shape: [2, inp, 5, 5])
        for i in 0..<x.count { x[i] = rng.normal() }
        let ctx = Context(training: false)
        let ours = try st.forward(Var(x), ctx).value
        // W's columns are [input, group 0, …, group blocks − 2]; rows [group 0, …, group blocks − 1].
        func w(rows: Range<Int>, cols: Range<Int>) -> Var {
            let t = Tensor(shape: [rows.count, cols.count, 1, 1])
            for (r, row) in rows.enumerated() {
                let j = row / oup, a = st.graph[j].weight.value, width = inp + j * oup
                for (c, col) in cols.enumerated() where col < width { t[r * cols.count + c] = a[(row % oup) * width + col] }
            }
            return Var(t)
        }
        let x0 = try ctx.depthwiseConv2d(ctx.relu(Var(x)), st.depthwise[0].weight.variable, nil, stride: 1, padding: 1)
        var acc = try ctx.conv2d(x0, w(rows: 0..<(oup * blocks), cols: 0..<inp), nil)
        for i in 0..<(blocks - 1) {
            let a = try ctx.depthwiseConv2d(ctx.relu(ctx.sliceChannels(acc, 0..<oup)), st.depthwise[i + 1].weight.variable, nil,
                                            stride: 1, padding: 1)
            let rest = try ctx.sliceChannels(acc, oup..<(oup * (blocks - i)))
            acc = try ctx.add(rest, ctx.conv2d(a, w(rows: ((i + 1) * oup)..<(oup * blocks), cols: (inp + i * oup)..<(inp + (i + 1) * oup)), nil))
        }
        XCTAssertEqual(acc.shape, ours.shape)
        for i in 0..<ours.count { XCTAssertEqual(ours[i], acc.value[i], accuracy: 1e-4) }
    }

    func testTrainingKeepsEachGroupsBudgetAndTheConfigSaysWhatApplies() throws {
        let cfg = try Config(yaml: "model: {name: mobilenetv1-dnw, width: 0.125, norm: affine, edge_budget: 0.3}\npolicy: dnw\nbatch_size: 8\n")
        let (t, x, labels) = try randomBatchTrainer(cfg, batch: 8, seed: 5)
        XCTAssertEqual(t.masking.layers.count, 13)
        for _ in 0..<3 {
            _ = try t.step(images: x, labels: labels)
            for l in t.masking.layers {
                let kept = (0..<l.count).reduce(0) { $0 + (l.mask[$1] != 0 ? 1 : 0) }
                XCTAssertEqual(kept, l.parameter.keepBudget, l.name)
            }
        }
        // The exported wiring: one DOT per stage holding exactly the kept edges.
        let net = t.network
        XCTAssertEqual(net.dnwMobileStages.map { $0.edges().count },
                       net.dnwMobileStages.map { $0.graph.reduce(0) { $0 + $1.weight.keepBudget! } })
        let dots = WiringExport.stageDots(net)
        XCTAssertEqual(dots.count, 5)
        XCTAssertTrue(dots[3].contains("stage 4: 32 inputs, groups of 64, 64, 64, 64, 64, 64 channels"), dots[3].prefix(300).description)
        XCTAssertEqual(dots[0].components(separatedBy: " -> ").count - 1, 3)
        let first = t.masking.layers[0]  // stage 1 at width 1/8: 4 inputs → 8 outputs, 0.3² · 32 = 2.88 → 3 edges
        XCTAssertEqual(first.parameter.shape, [8, 4, 1, 1])
        XCTAssertEqual(first.parameter.keepBudget, 3)
        XCTAssertThrowsError(try RunSpec(config: Config(yaml: "model: {name: mobilenetv1-dnw}\npolicy: rigl\ndensity: 0.1\n"))) {
            XCTAssertTrue("\($0)".contains("density (0.1) does not apply to model 'mobilenetv1-dnw'") && "\($0)".contains("model.edge_budget"), "\($0)")
        }
        XCTAssertThrowsError(try RunSpec(config: Config(yaml: "model: {name: mobilenetv1-dnw}\npolicy: dnw\nmasking: {scope: global}\n"))) {
            XCTAssertTrue("\($0)".contains("masking.scope (global) does not apply to model 'mobilenetv1-dnw'"), "\($0)")
        }
        XCTAssertNoThrow(try RunSpec(config: Config(yaml: "model: {name: mobilenetv1-dnw}\npolicy: dense\ndensity: 1.0\n")))
        XCTAssertThrowsError(try RunSpec(config: Config(yaml: "model: {name: conv4, edge_budget: 0.5}\n"))) {
            XCTAssertTrue("\($0)".contains("model.edge_budget (0.5) does not apply to model 'conv4': only mobilenetv1-dnw read it"), "\($0)")
        }
    }

    /// Fast evaluation drops exactly the channels nothing reads: the logits stay, the counts fall.
    func testFastEvalRemovesUnreadChannelsAndKeepsTheLogits() throws {
        let net = try Models.mobileNetV1DNW(input: fmnist, width: 0.125, edgeBudget: 0.3)
        var rng = RNG(seed: 11)
        Models.initialize(net, weightInit: .kaimingNormal(), rng: &rng)
        for p in net.parameters where p.role == .normBias { for i in 0..<p.count { p.value[i] = 0.1 * rng.normal() } }
        // Random masks at each group's budget, as a policy would leave them.
        for p in net.parameters where p.maskable {
            let m = Tensor(shape: p.shape)
            var order = Array(0..<p.count)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            for i in order.prefix(p.keepBudget!) { m[i] = 1 }
            p.mask = m
        }
        for st in net.dnwMobileStages { for n in st.norms { for c in 0..<n!.runningVar.count { n!.runningMean[c] = 0.2 * rng.normal(); n!.runningVar[c] = 1 + rng.uniform() } } }
        let (fast, report) = try Models.fastEval(net, input: fmnist)
        let x = Tensor(shape: [4, 1, 28, 28])
        for i in 0..<x.count { x[i] = rng.normal() }
        let a = try net.forward(Var(x), Context(training: false)).value, b = try fast.forward(Var(x), Context(training: false)).value
        for i in 0..<a.count { XCTAssertEqual(a[i], b[i], accuracy: 1e-4 * max(1, abs(a[i]))) }
        XCTAssertLessThan(report.parameters.after, report.parameters.before)
        XCTAssertLessThan(report.macs.after, report.macs.before)
        // Non-zeros: the kept graph edges plus every other (unmasked) element; the copy holds
        // ŵ itself, so it keeps no more non-zeros than the masked original.
        func nonZeros(_ t: Tensor) -> Int { (0..<t.count).filter { t[$0] != 0 }.count }
        let expected = net.parameters.reduce(0) { n, p in n + nonZeros(p.mask.map { m in
            let t = p.value.copy(); for i in 0..<t.count { t[i] *= m[i] }; return t } ?? p.value) }
        XCTAssertEqual(report.nonZeroParameters.before, expected)
        XCTAssertEqual(report.nonZeroParameters.after, fast.parameters.reduce(0) { $0 + nonZeros($1.value) })
        XCTAssertLessThan(report.nonZeroParameters.after, report.nonZeroParameters.before)
        XCTAssertLessThan(report.nonZeroParameters.before, report.parameters.before)
        XCTAssertEqual(report.stages.map(\.edges.before), net.dnwMobileStages.map { $0.edges().count })
        XCTAssertEqual(fast.dnwMobileStages.map { $0.edges().filter { $0.weight != 0 }.count }, report.stages.map(\.edges.after))
        XCTAssertTrue(report.stages.allSatisfy { $0.edges.after <= $0.edges.before })
        // Stage 1 (4 inputs → 8 channels, 3 edges): at most 3 of its inputs can be read.
        XCTAssertLessThanOrEqual(report.stages[0].inputs.after, 3)
        XCTAssertEqual(report.stages[0].inputs.after, fast.dnwMobileStages[0].inputs)
        XCTAssertThrowsError(try Models.fastEval(try Models.convNet(depth: 2, input: fmnist), input: fmnist)) {
            XCTAssertTrue("\($0)".contains("needs a mobilenetv1-dnw network"), "\($0)")
        }
    }

    /// Finite differences through a stage: norms (batch statistics), depthwise filters of every
    /// source, masked graph weights, the growing concatenation.
    func testStageGradients() throws {
        let st = DNWMobileStage(name: "s", inputs: 2, outputs: 3, blocks: 3, stride: 2, norm: .affine)
        var seed: UInt64 = 20
        for p in st.parameters {
            seed += 1; let t = awayFromZero(p.shape, seed: seed)
            for i in 0..<p.count { p.value[i] = p.role == .normWeight ? 1 + 0.2 * t[i] : p.role == .normBias ? 0.1 * t[i] : 0.8 * t[i] }
        }
        let m = Tensor(shape: st.graph[1].weight.shape, repeating: 1)
        m[0] = 0; m[4] = 0
        st.graph[1].weight.mask = m  // masked edges get no gradient, and the finite differences agree
        try moduleGradCheck(st, input: awayFromZero([4, 2, 6, 6], seed: 30), h: 1e-3, label: "dnw mobile stage")
    }
}
