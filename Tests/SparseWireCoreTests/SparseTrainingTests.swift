import XCTest
import CKernels
import SparseWireCore

/// Sparse training (issue 19): the sparse kernels give the dense path's forward, input
/// gradient, weight gradient and optimizer update up to float summation order.
final class SparseTrainingTests: XCTestCase {
    private func random(_ shape: [Int], _ rng: inout RNG) -> Tensor {
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t[i] = rng.normal() }
        return t
    }

    /// A 0/1 mask keeping each entry with probability `density` (or n of every m inputs).
    private func mask(_ shape: [Int], density: Double, nm: (Int, Int)? = nil, _ rng: inout RNG) -> Tensor {
        let m = Tensor(shape: shape)
        if let (n, mm) = nm {
            for g in 0..<(m.count / mm) {
                var picked = Set<Int>()
                while picked.count < n { picked.insert(Int(rng.uniform() * Float(mm)) % mm) }
                for q in picked { m[g * mm + q] = 1 }
            }
        } else {
            for i in 0..<m.count { m[i] = rng.uniform() < Float(density) ? 1 : 0 }
        }
        return m
    }

    private func assertClose(_ a: Tensor, _ b: Tensor, _ tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        var worst: Float = 0
        for i in 0..<min(a.count, b.count) { worst = max(worst, abs(a[i] - b[i]) / (1 + abs(b[i]))) }
        XCTAssertLessThanOrEqual(worst, tol, "\(what): worst relative difference \(worst)", file: file, line: line)
    }

    func testSparseLinearForwardAndGradientsMatchTheDensePath() throws {
        var rng = RNG(seed: 11)
        let cases: [(n: Int, fin: Int, fout: Int, density: Double, nm: (Int, Int)?)] = [
            (7, 37, 19, 0.3, nil), (64, 130, 70, 0.1, nil), (130, 300, 96, 0.05, nil), (70, 256, 40, 0.5, (2, 4)), (33, 64, 17, 1.0, nil),
        ]
        for c in cases {
            let label = "n \(c.n), \(c.fout)×\(c.fin), density \(c.density)\(c.nm.map { " \($0.0):\($0.1)" } ?? "")"
            let x = random([c.n, c.fin], &rng), w = random([c.fout, c.fin], &rng), b = random([c.fout], &rng)
            let m = mask([c.fout, c.fin], density: c.density, nm: c.nm, &rng), seed = random([c.n, c.fout], &rng)
            let wm = Tensor(shape: w.shape)
            for i in 0..<w.count { wm[i] = w[i] * m[i] }
            // Dense reference.
            let ctx = Context(training: true)
            let xd = Var(x, requiresGrad: true), wd = Var(wm, requiresGrad: true), bd = Var(b, requiresGrad: true)
            try ctx.linear(xd, wd, bd).backward(seed: seed)
            // Sparse, weight gradient at the kept entries.
            let sw = try SparseTrainingWeight(linearMask: m, structure: c.nm.map { "\($0.0):\($0.1)" })
            sw.refresh(weight: w, mask: m, binary: true)
            let xs = Var(x, requiresGrad: true), bs = Var(b, requiresGrad: true)
            var active: Tensor?
            let y = try ctx.sparseTrainLinear(xs, SparseTrainingStep(weight: sw, weightGradient: .active { active = $0 },
                                                                       anchor: Var(Tensor(shape: [1]), requiresGrad: true)), bs)
            let yd = try Context(training: false).linear(Var(x), Var(wm), Var(b))
            assertClose(y.value, yd.value, 1e-5, "forward, \(label)")
            try y.backward(seed: seed)
            assertClose(xs.grad!, xd.grad!, 1e-5, "dX, \(label)")
            assertClose(bs.grad!, bd.grad!, 1e-5, "db, \(label)")
            let activeGrad = try XCTUnwrap(active, label)
            XCTAssertEqual(sw.active.count, (0..<m.count).filter { m[$0] != 0 }.count, label)
            let scattered = ActiveGradient(indices: sw.active, values: activeGrad).dense(shape: w.shape)
            let expected = Tensor(shape: w.shape)
            for i in 0..<w.count { expected[i] = wd.grad![i] * m[i] }
            assertClose(scattered, expected, 1e-5, "dW at the kept entries, \(label)")
            // Sparse, dense weight gradient (the routing node receives all of dL/dŵ).
            let target = Var(Tensor(shape: w.shape), requiresGrad: true)
            try ctx.sparseTrainLinear(Var(x), SparseTrainingStep(weight: sw, weightGradient: .dense(target), anchor: target), nil)
                .backward(seed: seed)
            assertClose(target.grad!, wd.grad!, 1e-5, "dense dW, \(label)")
        }
    }

    func testSparseConvForwardAndGradientsMatchTheDensePath() throws {
        var rng = RNG(seed: 12)
        let cases: [(n: Int, c: Int, o: Int, h: Int, w: Int, k: Int, pad: Int, density: Double)] = [
            (3, 5, 7, 9, 7, 3, 1, 0.3), (4, 16, 8, 8, 8, 3, 0, 0.1), (2, 6, 4, 11, 10, 5, 2, 0.2), (3, 8, 12, 6, 5, 1, 0, 0.5),
            (1, 3, 4, 5, 5, 3, 2, 1.0), (5, 16, 24, 7, 9, 3, 1, 0.2),  // the last: Winograd for the dense dW
            (3, 40, 24, 7, 7, 1, 0, 0.1),  // a DNW graph layer: 1×1 on 7×7 planes (56 grid positions, one pass)
        ]
        for c in cases {
            let label = "n \(c.n), \(c.o)×\(c.c)×\(c.k)×\(c.k) on \(c.h)×\(c.w), pad \(c.pad), density \(c.density)"
            let x = random([c.n, c.c, c.h, c.w], &rng), w = random([c.o, c.c, c.k, c.k], &rng), b = random([c.o], &rng)
            let m = mask(w.shape, density: c.density, &rng)
            let wm = Tensor(shape: w.shape)
            for i in 0..<w.count { wm[i] = w[i] * m[i] }
            let ctx = Context(training: true)
            let xd = Var(x, requiresGrad: true), wd = Var(wm, requiresGrad: true), bd = Var(b, requiresGrad: true)
            let yd = try ctx.conv2d(xd, wd, bd, stride: 1, padding: c.pad)
            let seed = random(yd.shape, &rng)
            try yd.backward(seed: seed)
            let sw = try SparseTrainingWeight(convMask: m)
            sw.refresh(weight: w, mask: m, binary: true)
            let xs = Var(x, requiresGrad: true), bs = Var(b, requiresGrad: true)
            var active: Tensor?
            let y = try ctx.sparseTrainConv2d(xs, SparseTrainingStep(weight: sw, weightGradient: .active { active = $0 },
                                                                       anchor: Var(Tensor(shape: [1]), requiresGrad: true)), bs, padding: c.pad)
            assertClose(y.value, yd.value, 1e-5, "forward, \(label)")
            try y.backward(seed: seed)
            assertClose(xs.grad!, xd.grad!, 1e-5, "dX, \(label)")
            assertClose(bs.grad!, bd.grad!, 1e-5, "db, \(label)")
            let scattered = ActiveGradient(indices: sw.active, values: try XCTUnwrap(active, label)).dense(shape: w.shape)
            let expected = Tensor(shape: w.shape)
            for i in 0..<w.count { expected[i] = wd.grad![i] * m[i] }
            assertClose(scattered, expected, 5e-5, "dW at the kept entries, \(label)")  // the reference may be Winograd's
            let target = Var(Tensor(shape: w.shape), requiresGrad: true)
            try ctx.sparseTrainConv2d(Var(x), SparseTrainingStep(weight: sw, weightGradient: .dense(target), anchor: target), nil, padding: c.pad)
                .backward(seed: seed)
            assertClose(target.grad!, wd.grad!, 1e-5, "dense dW, \(label)")
            // Fused with the ReLU after it: relu(conv2d) and its gradients.
            let xr = Var(x, requiresGrad: true), wr = Var(wm, requiresGrad: true), br = Var(b, requiresGrad: true)
            let yr = ctx.relu(try ctx.conv2d(xr, wr, br, stride: 1, padding: c.pad))
            try yr.backward(seed: seed)
            let xf = Var(x, requiresGrad: true), bf = Var(b, requiresGrad: true)
            let fusedTarget = Var(Tensor(shape: w.shape), requiresGrad: true)
            let yf = try ctx.sparseTrainConv2d(xf, SparseTrainingStep(weight: sw, weightGradient: .dense(fusedTarget), anchor: fusedTarget), bf,
                                               padding: c.pad, relu: true)
            XCTAssertGreaterThan(yf.value.array.filter { $0 == 0 }.count, 0, "the ReLU clips something, \(label)")
            assertClose(yf.value, yr.value, 1e-5, "fused forward, \(label)")
            try yf.backward(seed: seed)
            assertClose(xf.grad!, xr.grad!, 1e-5, "fused dX, \(label)")
            assertClose(bf.grad!, br.grad!, 1e-5, "fused db, \(label)")
            assertClose(fusedTarget.grad!, wr.grad!, 5e-5, "fused dW, \(label)")
        }
    }

    func testPortableAndFastSampledProductAndActiveSGDAgree() {
        var rng = RNG(seed: 3)
        let rows = 9, cols = 23, n = 61
        let a = random([rows, n], &rng), b = random([cols, n], &rng)
        var ptr: [Int32] = [0], col: [Int32] = []
        for _ in 0..<rows {
            for c in 0..<cols where rng.uniform() < 0.6 { col.append(Int32(c)) }
            ptr.append(Int32(col.count))
        }
        // The convolution form (offsets instead of rows of b), added into what is there.
        let offs: [Int64] = col.map { Int64($0) * 2 }
        let bigB = random([2 * cols + n], &rng)
        for fast: Int32 in [0, 1] {
            var out = [Float](repeating: 1, count: col.count)
            swk_csr_rows_grad_variant(fast, ptr, offs, 0, rows, bigB.data, n, a.data, n, &out)
            for r in 0..<rows { for e in Int(ptr[r])..<Int(ptr[r + 1]) {
                var ref: Float = 1
                for i in 0..<n { ref += a[r * n + i] * bigB[Int(offs[e]) + i] }
                XCTAssertEqual(out[e], ref, accuracy: 1e-4 * (1 + abs(ref)), "fast \(fast)")
            } }
        }
        var outs: [[Float]] = []
        for fast: Int32 in [0, 1] {
            var out = [Float](repeating: 0, count: col.count)
            swk_sddmm_rows_variant(fast, ptr, col, 0, rows, a.data, n, 0, b.data, n, 0, 1, n, &out)
            outs.append(out)
        }
        for r in 0..<rows {
            for e in Int(ptr[r])..<Int(ptr[r + 1]) {
                var ref: Float = 0
                for i in 0..<n { ref += a[r * n + i] * b[Int(col[e]) * n + i] }
                XCTAssertEqual(outs[0][e], ref, accuracy: 1e-4 * (1 + abs(ref)))
                XCTAssertEqual(outs[1][e], ref, accuracy: 1e-4 * (1 + abs(ref)))
            }
        }
        // The blocked form (the lane kernels' layout): n split into two blocks of 32 (zero past n),
        // block k of each operand one contiguous [rows or cols][32] slab; the same products.
        let half = 32
        func slabs(_ t: Tensor, _ count: Int) -> [Float] {
            var out = [Float](repeating: 0, count: 2 * count * half)
            for k in 0..<2 { for r in 0..<count { for i in 0..<half where k * half + i < n {
                out[(k * count + r) * half + i] = t[r * n + k * half + i]
            } } }
            return out
        }
        let aBlocks = slabs(a, rows), bBlocks = slabs(b, cols)
        for fast: Int32 in [0, 1] {
            var out = [Float](repeating: 7, count: col.count)
            swk_sddmm_rows_variant(fast, ptr, col, 0, rows, aBlocks, half, rows * half, bBlocks, half, cols * half, 2, half, &out)
            for e in 0..<col.count { XCTAssertEqual(out[e], outs[0][e], accuracy: 1e-4 * (1 + abs(outs[0][e])), "blocked, fast \(fast)") }
        }
        // Active SGD equals the dense kernel on a gradient that is zero off the listed entries; its
        // momentum is compact (b[j] belongs to entry idx[j]), gathered from and scattered back
        // into the dense buffer by swk_gather / swk_scatter.
        let idx: [Int32] = [0, 3, 4, 10, 17, 31, 32, 40]
        for (mu, nest, first) in [(Float(0), Int32(0), Int32(0)), (0.9, 0, 1), (0.9, 1, 0)] {
            let w0 = random([41], &rng), b0 = random([41], &rng), g = random([idx.count], &rng)
            let dense = Tensor(shape: [41])
            for (j, i) in idx.enumerated() { dense[Int(i)] = g[j] }
            let wr = w0.copy(), br = b0.copy()
            swk_sgd(wr.data, dense.data, br.data, 41, 0.1, mu, 0.01, nest, first)
            for fast: Int32 in [0, 1] {
                let w = w0.copy(), bb = b0.copy(), bc = Tensor(shape: [idx.count])
                swk_gather(bb.data, idx, idx.count, bc.data)
                swk_sgd_active_variant(fast, w.data, idx, g.data, bc.data, Int(idx.count), 0.1, mu, 0.01, nest, first)
                swk_scatter(bc.data, idx, idx.count, bb.data)
                for i in idx.map(Int.init) {
                    XCTAssertEqual(w[i], wr[i], accuracy: 1e-6)
                    if mu > 0 { XCTAssertEqual(bb[i], br[i], accuracy: 1e-6) }
                }
                let untouched = Set(idx.map(Int.init))
                for i in 0..<41 where !untouched.contains(i) { XCTAssertEqual(w[i], w0[i]); XCTAssertEqual(bb[i], b0[i]) }
            }
        }
    }

    /// Adam's kernels against the rule in Double, and the active-entry one (compact moments) with
    /// the dense one's bits at its entries, in both builds.
    func testAdamKernelsMatchTheRuleAndEachOther() {
        var rng = RNG(seed: 11)
        let n = 203
        let idx: [Int32] = [0, 1, 7, 8, 9, 64, 100, 150, 151, 202]
        for (wd, t) in [(Float(0), 1), (0.01, 5)] {
            let c = swk_adam_params(beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: wd, lr: 0.01,
                                    c1: 1 - powf(0.9, Float(t)), c2: 1 - powf(0.999, Float(t)))
            let w0 = random([n], &rng), g = random([n], &rng), m0 = random([n], &rng)
            let v0 = Tensor(shape: [n]); for i in 0..<n { v0[i] = abs(rng.normal()) }
            for fast: Int32 in [0, 1] {
                let w = w0.copy(), m = m0.copy(), v = v0.copy()
                withUnsafePointer(to: c) { swk_adam_variant(fast, $0, w.data, g.data, m.data, v.data, n) }
                for i in 0..<n {
                    let d = Double(g[i]) + Double(wd) * Double(w0[i])
                    let mr = 0.9 * Double(m0[i]) + 0.1 * d, vr = 0.999 * Double(v0[i]) + 0.001 * d * d
                    let wr = Double(w0[i]) - 0.01 * (mr / Double(c.c1)) / ((vr / Double(c.c2)).squareRoot() + 1e-8)
                    XCTAssertEqual(Double(m[i]), mr, accuracy: 1e-6 * (1 + abs(mr)))
                    XCTAssertEqual(Double(v[i]), vr, accuracy: 1e-6 * (1 + abs(vr)))
                    XCTAssertEqual(Double(w[i]), wr, accuracy: 1e-5 * (1 + abs(wr)), "fast \(fast), t \(t), entry \(i)")
                }
                // Active entries: compact g, m, v; the same bits as the dense kernel there.
                let wa = w0.copy(), gc = Tensor(shape: [idx.count]), mc = Tensor(shape: [idx.count]), vc = Tensor(shape: [idx.count])
                swk_gather(g.data, idx, idx.count, gc.data); swk_gather(m0.data, idx, idx.count, mc.data); swk_gather(v0.data, idx, idx.count, vc.data)
                withUnsafePointer(to: c) { swk_adam_active_variant(fast, $0, wa.data, idx, gc.data, mc.data, vc.data, idx.count) }
                let kept = Set(idx.map(Int.init))
                for (j, i) in idx.map(Int.init).enumerated() {
                    XCTAssertEqual(wa[i].bitPattern, w[i].bitPattern, "fast \(fast): w at entry \(i)")
                    XCTAssertEqual(mc[j].bitPattern, m[i].bitPattern)
                    XCTAssertEqual(vc[j].bitPattern, v[i].bitPattern)
                }
                for i in 0..<n where !kept.contains(i) { XCTAssertEqual(wa[i], w0[i]) }
            }
        }
    }

    /// Trains one seed twice (training.kernels dense vs sparse) on one random batch and returns
    /// both loss curves and the final masks.
    private func trainBothWays(_ yaml: String, steps: Int) throws -> (dense: [Double], sparse: [Double], masks: [(Tensor, Tensor)], trainers: [Trainer]) {
        var losses: [[Double]] = [], trainers: [Trainer] = []
        for kernels in ["dense", "sparse"] {
            let cfg = try Config(yaml: yaml + "\ntraining: {kernels: \(kernels)}\n")
            let (t, x, labels) = try randomBatchTrainer(cfg, batch: 64, seed: 9)
            losses.append(try (0..<steps).map { _ in try t.step(images: x, labels: labels).loss })
            trainers.append(t)
        }
        let masks = zip(trainers[0].masking.layers, trainers[1].masking.layers).map { ($0.mask, $1.mask) }
        return (losses[0], losses[1], masks, trainers)
    }

    func testEachPolicyFamilyTrainsTheSameBothWays() throws {
        let base = "model: {name: mlp, hidden: [96, 64]}\nbatch_size: 64\nepochs: 24\n"
        let sgd = "\noptimizer: {name: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0005}"
        let policies = [
            "policy: random-static\ndensity: 0.2",
            "policy: rigl\ndensity: 0.2\npolicy_options: {delta_t: 4}",        // mask updates at steps 4, 8, … (dense gradient there)
            "policy: set\ndensity: 0.2\npolicy_options: {delta_t: 4}",
            "policy: snfs\ndensity: 0.2\npolicy_options: {delta_t: 4}",        // dense gradient every step (momentum growth)
            "policy: dnw\ndensity: 0.2",                                         // straight-through, masks change every step
            "policy: dnw-no-update\ndensity: 0.2",
            "policy: lottery-one-shot\ndensity: 0.2\npolicy_options: {prune_epoch: 6}",
            "policy: l1-anneal\ndensity: 0.2",                                   // dead weights not inert: dense gradient scattered
            "policy: edge-popup\ndensity: 0.2",                                  // gradients to scores
            "policy: random-static\ndensity: 0.2\noptimizer: {name: adam, lr: 0.002, weight_decay: 0.0001}",
        ]
        for p in policies {
            let r = try trainBothWays(base + p + (p.contains("optimizer") ? "" : sgd), steps: 16)
            for (s, (a, b)) in zip(r.dense, r.sparse).enumerated() {
                XCTAssertEqual(a, b, accuracy: 2e-4 * (1 + abs(a)), "\(p): loss at step \(s)")
            }
            for (i, (a, b)) in r.masks.enumerated() {
                XCTAssertEqual(a.array, b.array, "\(p): final mask of layer \(i)")
            }
            XCTAssertLessThan(r.sparse.last!, r.sparse.first!, "\(p): the loss falls")
        }
    }

    func testConvNetworksTrainTheSameBothWays() throws {
        let base = "model: {name: conv2, width: 0.25}\nbatch_size: 64\nepochs: 24\noptimizer: {name: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0005}\n"
        for p in ["policy: rigl\ndensity: 0.2\npolicy_options: {delta_t: 4}", "policy: dnw\ndensity: 0.2"] {
            let r = try trainBothWays(base + p, steps: 10)
            for (s, (a, b)) in zip(r.dense, r.sparse).enumerated() {
                XCTAssertEqual(a, b, accuracy: 2e-4 * (1 + abs(a)), "\(p): loss at step \(s)")
            }
            for (i, (a, b)) in r.masks.enumerated() {
                // RigL grows by |dL/dŵ|: summation order can reorder near-ties among the inactive
                // weights (seen: one swap of 2 entries in 2,304 on conv2 at ×0.25). The kept counts
                // stay exact and the masks nearly the same; DNW's masks are identical.
                let differ = (0..<a.count).filter { a[$0] != b[$0] }.count
                XCTAssertEqual(a.array.reduce(0, +), b.array.reduce(0, +), "\(p): kept count of layer \(i)")
                XCTAssertLessThanOrEqual(differ, p.contains("rigl") ? max(2, a.count / 500) : 0, "\(p): final mask of layer \(i) (\(a.count) entries)")
            }
            // The convolutions did train sparse.
            let convs = r.trainers[1].masking.layers.filter { $0.parameter.shape.count == 4 }
            XCTAssertFalse(convs.isEmpty)
            for l in convs { XCTAssertNotNil(r.trainers[1].masking.sparsePatterns[ObjectIdentifier(l.parameter)]?.weight, l.name) }
        }
    }

    func testActiveUpdatesKeepMomentumInStepWithTheDensePathAcrossRegrowth() throws {
        // RigL every 3 steps: momentum of regrown weights is reset at the update, then both paths
        // add the same gradients. After 7 steps (updates at 3 and 6) the momentum buffers agree at
        // every kept entry, regrown ones included; the sparse path never touched the others.
        let yaml = "model: {name: mlp, hidden: [96, 64]}\nbatch_size: 64\nepochs: 24\npolicy: rigl\ndensity: 0.2\n"
            + "policy_options: {delta_t: 3}\noptimizer: {name: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0005}\n"
        var trainers: [Trainer] = [], initial: [[Float]] = []
        for kernels in ["dense", "sparse"] {
            let (t, x, labels) = try randomBatchTrainer(try Config(yaml: yaml + "training: {kernels: \(kernels)}\n"), batch: 64, seed: 5)
            initial = t.masking.layers.map { $0.mask.array }
            for _ in 0..<7 { _ = try t.step(images: x, labels: labels) }
            trainers.append(t)
        }
        var regrown = 0, compared = 0
        for (i, (a, b)) in zip(trainers[0].masking.layers, trainers[1].masking.layers).enumerated() {
            XCTAssertEqual((0..<a.count).filter { a.mask[$0] != b.mask[$0] }.count, 0, "mask entries that differ, layer \(i)")
            let ma = try XCTUnwrap((trainers[0].optimizer as? SGD)?.momentumBuffer(of: a.parameter))
            let mb = try XCTUnwrap((trainers[1].optimizer as? SGD)?.momentumBuffer(of: b.parameter))
            for j in 0..<a.count where b.mask[j] != 0 {
                XCTAssertEqual(ma[j], mb[j], accuracy: 1e-4 * (1 + abs(ma[j])), "momentum of layer \(i) entry \(j)")
                compared += 1
                if initial[i][j] == 0 { regrown += 1 }
            }
            XCTAssertNotNil(trainers[1].masking.sparsePatterns[ObjectIdentifier(b.parameter)]?.weight, "layer \(i) trained sparse")
        }
        XCTAssertGreaterThan(regrown, 0, "RigL regrew weights")
        XCTAssertGreaterThan(compared, 1000)
    }

    func testDNWGraphsTrainTheSameBothWays() throws {
        // The channel graphs' adjacency (1×1 convolutions on 7×7 maps) trains on the sparse
        // kernels too: static (one matrix per block), discrete and continuous time (one shared
        // matrix applied several times per forward pass).
        for setting in ["static", "discrete", "continuous"] {
            for p in ["random-static", "dnw"] {
                let yaml = """
                    model: {name: dnw, setting: \(setting), blocks: [8, 12, 12], readout: 12, steps: 2}
                    masking: {scope: global}
                    batch_size: 64
                    epochs: 24
                    optimizer: {name: sgd, lr: 0.1, momentum: 0.9, weight_decay: 0.0005}
                    policy: \(p)
                    density: 0.2
                    """
                let r = try trainBothWays(yaml, steps: 8)
                let label = "\(setting), \(p)"
                for (s, (a, b)) in zip(r.dense, r.sparse).enumerated() {
                    XCTAssertEqual(a, b, accuracy: 2e-4 * (1 + abs(a)), "\(label): loss at step \(s)")
                }
                for (i, (a, b)) in r.masks.enumerated() {
                    XCTAssertEqual((0..<a.count).filter { a[$0] != b[$0] }.count, 0, "\(label): final mask entries that differ, layer \(i)")
                }
                XCTAssertLessThan(r.sparse.last!, r.sparse.first!, "\(label): the loss falls")
                let graph = r.trainers[1].masking.layers.filter { $0.name.hasPrefix("graph.") }
                XCTAssertEqual(graph.count, setting == "static" ? 2 : 1, label)
                for l in graph { XCTAssertNotNil(r.trainers[1].masking.sparsePatterns[ObjectIdentifier(l.parameter)]?.weight, "\(label): \(l.name)") }
            }
        }
    }

    func testThePatternIsRebuiltWhenTheMaskChanges() throws {
        let yaml = "model: {name: mlp, hidden: [96, 64]}\nbatch_size: 64\nepochs: 24\npolicy: rigl\ndensity: 0.2\npolicy_options: {delta_t: 3}\ntraining: {kernels: sparse}\n"
        let (t, x, labels) = try randomBatchTrainer(try Config(yaml: yaml), batch: 64, seed: 4)
        func pattern(_ l: MaskedLayer) -> [Int32]? { t.masking.sparsePatterns[ObjectIdentifier(l.parameter)]?.weight?.active.indices }
        func kept(_ l: MaskedLayer) -> [Int32] { (0..<l.count).filter { l.mask[$0] != 0 }.map { Int32($0) } }
        var changed = 0
        for _ in 0..<7 {
            let before = t.masking.layers.map { $0.mask.copy() }
            try t.step(images: x, labels: labels)
            // The pattern the step trained on is the mask the forward pass saw.
            for (l, m) in zip(t.masking.layers, before) {
                XCTAssertEqual(pattern(l), (0..<m.count).filter { m[$0] != 0 }.map { Int32($0) }, l.name)
            }
            if zip(t.masking.layers, before).contains(where: { $0.mask.array != $1.array }) { changed += 1 }
        }
        XCTAssertGreaterThan(changed, 0, "RigL changed some mask within 7 steps (delta_t 3)")
        try t.step(images: x, labels: labels)
        for l in t.masking.layers { XCTAssertEqual(pattern(l), kept(l), l.name) }
        // A mask written by the host (C ABI, checkpoint) is picked up after masksChanged().
        let l = t.masking.layers[0]
        let i = (0..<l.count).first { l.mask[$0] == 0 }!
        l.mask[i] = 1
        t.masking.masksChanged()
        try t.step(images: x, labels: labels)
        XCTAssertTrue(pattern(l)!.contains(Int32(i)))
    }

    func testAutoChoosesByDensityAndBatch() throws {
        for (density, batch, sparse) in [(0.2, 64, true), (0.5, 64, false), (0.2, 16, false)] {
            let yaml = "model: {name: mlp, hidden: [96, 64]}\nbatch_size: \(batch)\npolicy: random-static\ndensity: \(density)\ntraining: {kernels: auto, sparse_below: 0.3}\n"
            let (t, x, labels) = try randomBatchTrainer(try Config(yaml: yaml), batch: batch, seed: 1)
            try t.step(images: x, labels: labels)
            for l in t.masking.layers {
                let built = t.masking.sparsePatterns[ObjectIdentifier(l.parameter)]?.weight != nil
                XCTAssertEqual(built, sparse, "density \(density), batch \(batch), \(l.name)")
                // Sparse steps leave the gradient at the kept entries only.
                XCTAssertEqual(l.parameter.activeGradient != nil, sparse)
            }
            // The report of the choices (sparsewire bench's sparse_layer_share) counts the same.
            let n = t.masking.layers.count
            XCTAssertTrue(t.masking.sparseTrainingCounts == (layers: n, sparse: sparse ? n : 0), "\(t.masking.sparseTrainingCounts)")
        }
        // auto keeps a linear layer dense on steps where the policy rewrites masks (dnw: every step).
        let churn = "model: {name: mlp, hidden: [96, 64]}\nbatch_size: 64\npolicy: dnw\ndensity: 0.2\ntraining: {kernels: auto, sparse_below: 0.3}\n"
        let (d, dx, dl) = try randomBatchTrainer(try Config(yaml: churn), batch: 64, seed: 1)
        for _ in 0..<3 { try d.step(images: dx, labels: dl) }
        for l in d.masking.layers { XCTAssertNil(d.masking.sparsePatterns[ObjectIdentifier(l.parameter)]?.weight, "dnw, \(l.name)") }
        XCTAssertTrue(d.masking.sparseTrainingCounts == (layers: 3 * d.masking.layers.count, sparse: 0), "\(d.masking.sparseTrainingCounts)")
        // ... and where a hook after the backward pass may rewrite them every step (SNFS's momentum growth).
        let snfs = "model: {name: mlp, hidden: [96, 64]}\nbatch_size: 64\npolicy: snfs\ndensity: 0.2\ntraining: {kernels: auto, sparse_below: 0.3}\n"
        let (sn, sx, sl) = try randomBatchTrainer(try Config(yaml: snfs), batch: 64, seed: 1)
        for _ in 0..<3 { try sn.step(images: sx, labels: sl) }
        for l in sn.masking.layers { XCTAssertNil(sn.masking.sparsePatterns[ObjectIdentifier(l.parameter)]?.weight, "snfs, \(l.name)") }
        // A one-off rewrite is not churn: lottery-one-shot pruning at step 0 trains sparse from
        // that very step (no dense first step whose memory would outlive it).
        let lottery = "model: {name: mlp, hidden: [96, 64]}\nbatch_size: 64\npolicy: lottery-one-shot\npolicy_options: {prune_epoch: 0}\n"
            + "density: 0.2\ntraining: {kernels: auto, sparse_below: 0.3}\n"
        let (lt, lx, ll) = try randomBatchTrainer(try Config(yaml: lottery), batch: 64, seed: 1)
        try lt.step(images: lx, labels: ll)
        for l in lt.masking.layers {
            XCTAssertNotNil(lt.masking.sparsePatterns[ObjectIdentifier(l.parameter)]?.weight, "lottery step 0, \(l.name)")
            XCTAssertNotNil(l.parameter.activeGradient, "lottery step 0, \(l.name)")
        }
        // The default (auto) with a dense policy builds nothing.
        let (t, x, labels) = try randomBatchTrainer(try Config(yaml: "model: {name: mlp, hidden: [96]}\nbatch_size: 64\n"), batch: 64, seed: 1)
        try t.step(images: x, labels: labels)
        XCTAssertTrue(t.masking.sparsePatterns.isEmpty)
    }

    func testTrainingKernelKeysAreChecked() throws {
        XCTAssertThrowsError(try RunSpec(config: Config(yaml: "training: {kernels: fast}\n"))) { XCTAssertTrue("\($0)".contains("training.kernels"), "\($0)") }
        XCTAssertThrowsError(try RunSpec(config: Config(yaml: "training: {sparse_below: 1.5}\n"))) { XCTAssertTrue("\($0)".contains("training.sparse_below"), "\($0)") }
        let spec = try RunSpec(config: Config(yaml: "training: {kernels: sparse, sparse_below: 0.1}\n"))
        XCTAssertEqual(spec.training.kernels, SparseTrainingSettings(mode: .sparse, threshold: 0.1))
    }
}
