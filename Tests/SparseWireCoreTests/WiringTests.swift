import Foundation
import XCTest
import SparseWireCore

/// Finite differences for a module's input and parameters (L = Σ out ⊙ R).
func moduleGradCheck(_ module: any Module, input: Tensor, h: Float = 1e-2, tol: Float = 3e-2, label: String = "",
                     file: StaticString = #filePath, line: UInt = #line) throws {
    var rng = RNG(seed: 5)
    let x = Var(input, requiresGrad: true)
    let ctx = Context(training: true)
    let out = try module.forward(x, ctx)
    let r = Tensor(shape: out.shape)
    for i in 0..<r.count { r[i] = rng.uniform(-1, 1) }
    for p in module.parameters { p.variable.zeroGrad() }
    try out.backward(seed: r)
    func objective() throws -> Double {
        let o = try module.forward(Var(input), Context(training: true, recordGrad: false))
        var s: Double = 0
        for i in 0..<o.value.count { s += Double(o.value[i]) * Double(r[i]) }
        return s
    }
    var targets: [(String, Tensor, Tensor)] = [("input", input, x.grad ?? Tensor(shape: input.shape))]
    for p in module.parameters { targets.append((p.name, p.value, p.grad ?? Tensor(shape: p.shape))) }
    // At a ReLU kink crossed by ±h (instance norm re-centres its input, so "away from zero"
    // inputs do not keep every unit off the kink) the central difference mixes two slopes and the
    // analytic gradient equals one of the one-sided differences instead. Such points pass on a
    // one-sided match, at most a fifth of them; every other point must match the central one.
    for (name, t, analytic) in targets {
        let stride = max(1, t.count / 25)
        var checked = 0, kinks = 0
        for i in Swift.stride(from: 0, to: t.count, by: stride) {
            let saved = t[i]
            let mid = try objective()
            t[i] = saved + h; let up = try objective()
            t[i] = saved - h; let down = try objective()
            t[i] = saved
            let fwd = Float((up - mid) / Double(h)), bwd = Float((mid - down) / Double(h))
            let numeric = Float((up - down) / Double(2 * h))
            let a = analytic[i]
            func close(_ n: Float) -> Bool { abs(a - n) <= tol * max(1, abs(a), abs(n)) }
            checked += 1
            if close(numeric) { continue }
            if close(fwd) || close(bwd) { kinks += 1; continue }
            XCTFail("\(label) \(name)[\(i)]: analytic \(a) vs numeric \(numeric) (one-sided \(fwd), \(bwd))", file: file, line: line)
            return
        }
        XCTAssertLessThanOrEqual(kinks * 5, checked, "\(label) \(name): \(kinks) of \(checked) points at a kink", file: file, line: line)
    }
}

/// Random values at least 0.1 away from zero, so ReLU kinks are not crossed by ±h.
func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = RNG(seed: seed)
    let t = Tensor(shape: shape)
    for i in 0..<t.count { let u = rng.uniform(-1, 1); t[i] = u < 0 ? u - 0.1 : u + 0.1 }
    return t
}

final class GraphGeneratorTests: XCTestCase {
    func testBAHasExactlyMTimesNMinusMEdges() throws {
        for (n, m) in [(32, 5), (20, 1), (16, 15), (50, 3)] {
            for seed in 0..<5 {
                let g = try GraphGenerator.ba(n: n, m: m).generate(seed: UInt64(seed))
                XCTAssertEqual(g.edges.count, m * (n - m), "BA(\(n), \(m)) seed \(seed)")
                XCTAssertTrue(g.isAcyclic)
                // nodes added after the seed nodes have at least m edges
                let d = g.degrees
                for v in m..<n { XCTAssertGreaterThanOrEqual(d[v], m) }
            }
        }
    }

    func testWSWithoutRewiringIsAKRegularRing() throws {
        let g = try GraphGenerator.ws(n: 32, k: 4, p: 0).generate(seed: 3)
        XCTAssertEqual(g.edges.count, 32 * 4 / 2)
        XCTAssertEqual(Set(g.degrees), [4])
        for v in 0..<32 {
            for j in 1...2 {
                let w = (v + j) % 32
                XCTAssertTrue(g.edges.contains(RandomGraph.Edge(min(v, w), max(v, w))), "ring edge \(v)-\(w)")
            }
        }
        // rewiring keeps the edge count and changes the graph
        let r = try GraphGenerator.ws(n: 32, k: 4, p: 0.75).generate(seed: 3)
        XCTAssertEqual(r.edges.count, 64)
        XCTAssertNotEqual(r, g)
        XCTAssertTrue(r.isAcyclic)
    }

    func testEREdgeCountWithinFourSigma() throws {
        let n = 32, p = 0.2
        let pairs = Double(n * (n - 1) / 2)
        let mean = p * pairs, sigma = (pairs * p * (1 - p)).squareRoot()
        var total = 0.0
        for seed in 0..<20 {
            let g = try GraphGenerator.er(n: n, p: p).generate(seed: UInt64(seed))
            XCTAssertLessThanOrEqual(abs(Double(g.edges.count) - mean), 4 * sigma, "seed \(seed): \(g.edges.count) edges")
            XCTAssertTrue(g.isAcyclic)
            total += Double(g.edges.count)
        }
        // the mean over 20 seeds is within 4 σ/√20 of P·N(N−1)/2
        XCTAssertLessThanOrEqual(abs(total / 20 - mean), 4 * sigma / 20.0.squareRoot())
    }

    func testSameSeedSameGraphDifferentSeedDifferentGraph() throws {
        for gen in [GraphGenerator.er(n: 24, p: 0.3), .ba(n: 24, m: 3), .ws(n: 24, k: 4, p: 0.5)] {
            let a = try gen.generate(seed: 11), b = try gen.generate(seed: 11), c = try gen.generate(seed: 12)
            XCTAssertEqual(a, b, "\(gen)")
            XCTAssertNotEqual(a, c, "\(gen)")
            XCTAssertTrue(a.edges.allSatisfy { $0.from < $0.to })
        }
    }

    func testBadGeneratorParametersNameTheProblem() {
        XCTAssertThrowsError(try GraphGenerator.ws(n: 10, k: 3, p: 0.5).generate(seed: 0)) { XCTAssertTrue("\($0)".contains("even k")) }
        XCTAssertThrowsError(try GraphGenerator.ba(n: 5, m: 5).generate(seed: 0)) { XCTAssertTrue("\($0)".contains("1 ≤ m < n")) }
        XCTAssertThrowsError(try GraphGenerator.er(n: 5, p: 1.5).generate(seed: 0)) { XCTAssertTrue("\($0)".contains("p in [0, 1]")) }
    }

    func testKahnDetectsCycles() {
        XCTAssertTrue(RandomGraph.fromDirected(nodeCount: 3, edges: [(0, 1), (1, 2)]).isAcyclic)
        XCTAssertFalse(RandomGraph.fromDirected(nodeCount: 3, edges: [(0, 1), (1, 2), (2, 0)]).isAcyclic)
    }
}

final class WiringGradientTests: XCTestCase {
    func testWiringOps() throws {
        try gradCheck([randomTensor([2, 2, 3, 3], seed: 1), randomTensor([2, 3, 3, 3], seed: 2)]) { v, c in
            try c.concatChannels([v[0], v[1]])
        }
        try gradCheck([randomTensor([2, 5, 3, 3], seed: 3)]) { v, c in try c.sliceChannels(v[0], 1..<4) }
        try gradCheck([randomTensor([2, 3, 4, 4], seed: 4), randomTensor([2, 3, 4, 4], seed: 5), randomTensor([2, 3, 4, 4], seed: 6),
                       randomTensor([3], seed: 7)]) { v, c in
            try c.sigmoidWeightedSum([v[0], v[1], v[2]], logits: v[3], active: [true, false, true])
        }
    }

    func testDepthwiseStride1FastPath() throws {
        for (k, pad) in [(3, 1), (3, 0), (5, 2), (1, 0)] {
            try gradCheck([randomTensor([2, 3, 6, 5], seed: 9), randomTensor([3, 1, k, k], seed: 10), randomTensor([3], seed: 11)]) { v, c in
                try c.depthwiseConv2d(v[0], v[1], v[2], stride: 1, padding: pad)
            }
        }
        // the fast path and the strided path agree where both apply
        let x = randomTensor([2, 3, 7, 7], seed: 12), w = randomTensor([3, 1, 3, 3], seed: 13)
        let ctx = Context(training: false)
        let fast = try ctx.depthwiseConv2d(Var(x), Var(w), nil, stride: 1, padding: 1)
        let ref = try ctx.conv2d(Var(x), Var(blockDiagonal(w, channels: 3)), nil, stride: 1, padding: 1)
        for i in 0..<fast.value.count { XCTAssertEqual(fast.value[i], ref.value[i], accuracy: 1e-4) }
    }

    func testDepthwiseMatchesTheBlockDiagonalConvolutionAtEveryStride() throws {
        // Depthwise convolution on sample lanes (swk_dwl_*) for strides 1-3, paddings 0-2, square
        // and oblong kernels, odd and even sizes, planes down to 1×1, batches that fill 8 lanes,
        // leave a tail or are shorter than one vector: forward, dX, dW and db against conv2d with
        // the same weight on the channel diagonal.
        let cases: [(n: Int, h: Int, w: Int, kh: Int, kw: Int, stride: Int, pad: Int)] = [
            (3, 7, 7, 3, 3, 2, 1), (9, 8, 8, 3, 3, 2, 1), (3, 9, 6, 3, 3, 2, 0), (3, 10, 11, 5, 5, 2, 2), (17, 9, 9, 3, 3, 3, 1),
            (3, 6, 7, 1, 1, 2, 0), (8, 7, 8, 3, 1, 2, 1), (3, 5, 5, 3, 3, 1, 1), (3, 6, 5, 5, 3, 1, 2), (3, 4, 4, 3, 3, 2, 2),
            (9, 4, 4, 3, 3, 1, 1), (16, 2, 2, 3, 3, 1, 1), (10, 1, 1, 3, 3, 1, 1), (11, 3, 3, 3, 3, 2, 1), (1, 12, 13, 3, 3, 1, 1),
        ]
        var seed: UInt64 = 30
        for c in cases {
            seed += 3
            let x = randomTensor([c.n, 4, c.h, c.w], seed: seed), w = randomTensor([4, 1, c.kh, c.kw], seed: seed + 1)
            let b = randomTensor([4], seed: seed + 2)
            let ctx = Context(training: true)
            let (xr, wr, br) = (Var(x, requiresGrad: true), Var(blockDiagonal(w, channels: 4), requiresGrad: true), Var(b, requiresGrad: true))
            let yr = try ctx.conv2d(xr, wr, br, stride: c.stride, padding: c.pad)
            let seedGrad = randomTensor(yr.shape, seed: seed + 9)
            try yr.backward(seed: seedGrad)
            do {
                let label = "n \(c.n), \(c.h)×\(c.w), kernel \(c.kh)×\(c.kw), stride \(c.stride), pad \(c.pad)"
                let (xv, wv, bv) = (Var(x, requiresGrad: true), Var(w, requiresGrad: true), Var(b, requiresGrad: true))
                let y = try ctx.depthwiseConv2d(xv, wv, bv, stride: c.stride, padding: c.pad)
                XCTAssertEqual(y.shape, yr.shape, label)
                for i in 0..<y.value.count { XCTAssertEqual(y.value[i], yr.value[i], accuracy: 1e-4, "forward \(i), \(label)") }
                try y.backward(seed: seedGrad)
                for i in 0..<x.count { XCTAssertEqual(xv.grad![i], xr.grad![i], accuracy: 1e-4, "dX \(i), \(label)") }
                let kk = c.kh * c.kw
                for ch in 0..<4 { for t in 0..<kk {
                    XCTAssertEqual(wv.grad![ch * kk + t], wr.grad![(ch * 4 + ch) * kk + t], accuracy: 1e-3, "dW \(ch), \(t), \(label)")
                } }
                for i in 0..<4 { XCTAssertEqual(bv.grad![i], br.grad![i], accuracy: 1e-3, "db \(i), \(label)") }
            }
        }
    }

    /// A dense conv weight equal to the depthwise one (zeros off the channel diagonal).
    func blockDiagonal(_ w: Tensor, channels c: Int) -> Tensor {
        let kk = w.count / c
        let d = Tensor(shape: [c, c, w.shape[2], w.shape[3]])
        for ch in 0..<c { for i in 0..<kk { d[(ch * c + ch) * kk + i] = w[ch * kk + i] } }
        return d
    }

    func testRandWireStageGradients() throws {
        let g = try GraphGenerator.ws(n: 6, k: 2, p: 0.5).generate(seed: 2)
        let stage = RandWireStage(name: "s", graph: g, inChannels: 2, channels: 3)
        var rng = RNG(seed: 4)
        for p in stage.parameters { for i in 0..<p.count { p.value[i] = p.name.hasSuffix(".bn.weight") ? 1 + rng.uniform(-0.2, 0.2) : rng.uniform(-0.7, 0.7) } }
        try moduleGradCheck(stage, input: awayFromZero([8, 2, 8, 8], seed: 8), h: 1e-3)
    }

    func testDNWGraphGradientsInEverySetting() throws {
        for setting in DNWSetting.allCases {
            let module = DNWGraphModule(spec: DNWSpec(setting: setting, blocks: [2, 3, 3], steps: 2, readout: 3))
            // Weights away from zero: a channel whose inputs nearly cancel has a tiny variance, and
            // instance norm's 1/σ then makes finite differences ill-conditioned.
            var seed: UInt64 = 6
            // The norm's γ near 1 and β near 0 (their initial values), so ReLU kinks stay rare.
            for p in module.parameters {
                seed += 1; let t = awayFromZero(p.shape, seed: seed)
                for i in 0..<p.count {
                    p.value[i] = p === module.normWeight ? 1 + 0.2 * t[i] : p === module.normBias ? 0.1 * t[i] : 0.8 * t[i]
                }
            }
            let x = awayFromZero([4, 8, 6, 6], seed: 9)
            try moduleGradCheck(module, input: x, h: 1e-3, label: setting.rawValue)
        }
    }
}

final class RandWireModelTests: XCTestCase {
    func testNodeDamageRemovesExactlyItsEdges() throws {
        let g = try GraphGenerator.ws(n: 16, k: 4, p: 0.5).generate(seed: 5)
        let stage = RandWireStage(name: "s", graph: g, inChannels: 4, channels: 4)
        let all = Set(stage.activeEdges)
        XCTAssertEqual(all.count, g.edges.count)
        for v in 0..<16 {
            stage.disabledNodes = [v]
            let removed = all.subtracting(stage.activeEdges)
            XCTAssertEqual(removed, Set(g.edges.filter { $0.from == v || $0.to == v }), "node \(v)")
        }
        stage.disabledNodes = []
        stage.disabledEdges = [g.edges[3]]
        XCTAssertEqual(all.subtracting(stage.activeEdges), [g.edges[3]])
    }

    func testRandWireNetworkShapesAndStrides() throws {
        let spec = RandWireSpec(generator: .ws(n: 8, k: 4, p: 0.75), seed: 1, channels: 8, stages: 2, head: 16, edgeDrop: 0.1)
        let net = try Models.randWire(input: InputSpec(channels: 1, height: 28, width: 28, classes: 10), spec: spec)
        XCTAssertEqual(net.randWireStages.count, 2)
        XCTAssertNotEqual(net.randWireStages[0].graph, net.randWireStages[1].graph, "each stage has its own seed")
        var rng = RNG(seed: 0)
        Models.initialize(net, weightInit: .kaimingNormal(mode: .fanIn), rng: &rng)
        let out = try net.forward(Var(randomTensor([2, 1, 28, 28], seed: 1)), Context(training: true))
        XCTAssertEqual(out.shape, [2, 10])
        for s in net.randWireStages {
            for v in s.inputNodes { XCTAssertTrue(s.nodes[v].predecessors.isEmpty) }
            XCTAssertFalse(s.outputNodes.isEmpty)
        }
    }
}
