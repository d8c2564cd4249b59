import CKernels
import Foundation
import XCTest
import SparseWireCore

private func randomTensor(_ shape: [Int], _ rng: inout RNG, keep: Double = 1) -> Tensor {
    let t = Tensor(shape: shape)
    for i in 0..<t.count where Double(rng.uniform()) < keep { t[i] = rng.normal() }
    return t
}

private func assertClose(_ a: Tensor, _ b: Tensor, tol: Float = 1e-4, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    var worst: Float = 0
    for i in 0..<min(a.count, b.count) { worst = max(worst, abs(a[i] - b[i]) / max(1, abs(b[i]))) }
    XCTAssertLessThanOrEqual(worst, tol, "\(what): largest relative difference \(worst)", file: file, line: line)
}

/// The sparse inference kernels give the dense path's answer (the dense ops are gradient-checked).
final class SparseKernelTests: XCTestCase {
    override func tearDown() { BLAS.setThreads(2) }

    func testCSRHoldsExactlyTheNonZerosRowByRow() throws {
        let w = try Tensor(shape: [3, 4], values: [0, 1, 0, 2, 0, 0, 0, 0, 3, 0, -4, 5])
        let s = try SparseWeight(w)
        XCTAssertEqual(s.rowPtr, [0, 2, 2, 5])
        XCTAssertEqual(s.colIndex, [1, 3, 0, 2, 3])
        XCTAssertEqual(s.values, [1, 2, 3, -4, 5])
        XCTAssertEqual(s.density, 5.0 / 12, accuracy: 1e-12)
        XCTAssertThrowsError(try SparseWeight(Tensor(shape: [5]))) { XCTAssertTrue("\($0)".contains("[5]"), "\($0)") }
    }

    func testSparseLinearMatchesDense() throws {
        var rng = RNG(seed: 3)
        for threads in [1, 2] {
            BLAS.setThreads(threads)
            for (n, fin, fout, keep) in [(1, 20, 7, 0.3), (5, 33, 16, 0.1), (33, 64, 9, 0.5), (70, 17, 40, 0.05), (128, 50, 3, 1.0)] {
                let x = randomTensor([n, fin], &rng), w = randomTensor([fout, fin], &rng, keep: keep), b = randomTensor([fout], &rng)
                let ctx = Context(training: false)
                let dense = try ctx.linear(Var(x), Var(w), Var(b)).value
                let sparse = try ctx.sparseLinear(Var(x), try SparseWeight(w), Var(b)).value
                assertClose(sparse, dense, "linear n \(n) \(fin)→\(fout) keep \(keep) threads \(threads)")
            }
        }
    }

    func testSparseConvMatchesDenseForStridesPaddingsAndBatchSplits() throws {
        var rng = RNG(seed: 4)
        // (n, c, h, w, o, k, stride, pad)
        let cases = [(1, 3, 9, 7, 8, 3, 1, 1), (3, 4, 8, 8, 5, 3, 1, 0), (2, 2, 9, 9, 6, 3, 2, 1), (4, 5, 6, 6, 7, 1, 1, 0),
                     (3, 3, 7, 5, 4, 5, 1, 2), (1, 6, 10, 10, 3, 3, 2, 0)]
        for threads in [1, 2] {
            BLAS.setThreads(threads)
            for (n, c, h, w, o, k, stride, pad) in cases {
                for keep in [0.05, 0.4] {
                    let x = randomTensor([n, c, h, w], &rng), wt = randomTensor([o, c, k, k], &rng, keep: keep)
                    let b = randomTensor([o], &rng)
                    let ctx = Context(training: false)
                    let dense = try ctx.conv2d(Var(x), Var(wt), Var(b), stride: stride, padding: pad).value
                    let sparse = try ctx.sparseConv2d(Var(x), try SparseWeight(wt), Var(b), stride: stride, padding: pad).value
                    assertClose(sparse, dense, "conv \([n, c, h, w]) o \(o) k \(k) s \(stride) p \(pad) keep \(keep) threads \(threads)")
                }
            }
        }
    }

    /// Whole-model evaluation: sparse kernels, dense kernels and auto agree on logits and
    /// accuracy for a masked conv net, and a sampling policy redraws its masks per draw.
    func testEvaluationAgreesAcrossKernelChoices() throws {
        func trainer(_ kernels: String, policy: String, extra: String = "") throws -> Trainer {
            let c = try Config(yaml: """
            model: {name: conv2, width: 0.125}
            policy: \(policy)
            density: 0.2
            batch_size: 16
            optimizer: {lr: 0.05}
            inference: {kernels: \(kernels)}
            \(extra)
            """)
            return try Trainer(config: c, train: try syntheticDataset(count: 64, seed: 1), test: try syntheticDataset(count: 48, seed: 2))
        }
        for (policy, extra) in [("dnw", ""), ("edge-popup", ""), ("supermask", "policy_options: {eval_draws: 3}")] {
            var results: [(Double, Double, Tensor)] = []
            for kernels in ["dense", "sparse", "auto"] {
                let t = try trainer(kernels, policy: policy, extra: extra)
                for _ in 0..<3 { _ = try t.nextStep() }
                let (loss, acc) = try t.evaluate()
                let x = Tensor(shape: [5, 1, 4, 4], repeating: 0.3)
                results.append((loss, acc, try t.predict(x)))
            }
            for r in results.dropFirst() {
                XCTAssertEqual(r.0, results[0].0, accuracy: 1e-4, "\(policy) loss")
                XCTAssertEqual(r.1, results[0].1, accuracy: 1e-9, "\(policy) accuracy")
                assertClose(r.2, results[0].2, "\(policy) logits")
            }
        }
    }

    func testInferenceSettingsAreChecked() throws {
        func make(_ yaml: String) throws -> Trainer {
            try Trainer(config: try Config(yaml: "model: {name: mlp, hidden: [8]}\n" + yaml),
                        train: try syntheticDataset(count: 32, seed: 1), test: try syntheticDataset(count: 16, seed: 2))
        }
        XCTAssertThrowsError(try make("inference: {kernels: csr}")) { XCTAssertTrue("\($0)".contains("csr"), "\($0)") }
        // Range-checked once, when the run spec is decoded (before any network is built).
        XCTAssertThrowsError(try make("inference: {sparse_below: 1.5}")) { XCTAssertTrue("\($0)".contains("inference.sparse_below") && "\($0)".contains("1.5"), "\($0)") }
    }
}

/// The C kernels against plain Swift references.
final class ElementwiseKernelTests: XCTestCase {
    func testBernoulliSamplingFollowsTheSigmoidAndIsSplitIndependent() {
        let n = 200_000
        let logits = Tensor(shape: [n])
        for i in 0..<n { logits[i] = Float(i % 5) - 2 }  // p = σ(−2 … 2)
        let whole = Tensor(shape: [n]), split = Tensor(shape: [n])
        let ones = swk_bernoulli_sigmoid(logits.data, whole.data, nil, nil, nil, n, 42, 0)
        _ = swk_bernoulli_sigmoid(logits.data, split.data, nil, nil, nil, 1234, 42, 0)
        _ = swk_bernoulli_sigmoid(logits.data + 1234, split.data + 1234, nil, nil, nil, n - 1234, 42, 1234)
        XCTAssertEqual(whole.array, split.array, "a draw depends only on (key, index)")
        XCTAssertEqual(ones, whole.array.filter { $0 == 1 }.count)
        for cls in 0..<5 {
            let p = 1 / (1 + exp(-Double(cls - 2)))
            var hits = 0
            for i in stride(from: cls, to: n, by: 5) where whole[i] == 1 { hits += 1 }
            XCTAssertEqual(Double(hits) / Double(n / 5), p, accuracy: 0.01, "logit \(cls - 2)")
        }
        let other = Tensor(shape: [n])
        _ = swk_bernoulli_sigmoid(logits.data, other.data, nil, nil, nil, n, 43, 0)
        XCTAssertNotEqual(other.array, whole.array, "another key, another draw")
    }

    /// The sampling pass's kept slopes give the gradient the same bits as slopes computed from
    /// the scores (so a resumed run, which has none, continues exactly), they are σ(1 − σ) to
    /// the draw's precision, its w ⊙ m is swk_mul's (NaN weights included), keeping either
    /// changes no draw, and the portable build draws the same masks up to rounding ties.
    func testBernoulliSlopesMatchTheGradientsOwnAndBothBuilds() {
        let n = 10_007  // not a multiple of 8: the scalar tail too
        var rng = RNG(seed: 21)
        var s = (0..<n).map { _ in rng.normal() * 4 }
        for (i, v) in [Float(0), -87, 87, -126, 126, -300, 300, 1e-8, -1e-8].enumerated() { s[i * 997] = v }
        let g = (0..<n).map { _ in rng.normal() }
        var w = (0..<n).map { _ in rng.normal() }
        w[5] = .nan; w[n - 2] = .infinity; w[17] = -0.0
        var masks: [[Float]] = [], slopes: [[Float]] = []
        for fast: Int32 in [0, 1] {
            var plain = [Float](repeating: -1, count: n), m = plain, slope = plain, masked = plain, product = plain
            let a = swk_bernoulli_sigmoid_variant(fast, s, &plain, nil, nil, nil, n, 7, 3)
            let b = swk_bernoulli_sigmoid_variant(fast, s, &m, &slope, w, &masked, n, 7, 3)
            XCTAssertEqual(a, b)
            XCTAssertEqual(a, m.filter { $0 == 1 }.count)
            XCTAssertTrue(plain == m, "build \(fast): keeping the slopes changed a draw")
            swk_mul(w, m, &product, n)
            XCTAssertEqual(masked.map(\.bitPattern), product.map(\.bitPattern), "build \(fast): w ⊙ m")
            for i in 0..<n {
                let p = 1 / (1 + exp(-Double(s[i]))), want = p * (1 - p)
                XCTAssertEqual(Double(slope[i]), want, accuracy: 2e-5 * want + 1e-30, "build \(fast), s = \(s[i])")
            }
            var kept = [Float](repeating: 0, count: n), computed = kept
            swk_sigmoid_scores_grad_variant(fast, g, w, s, slope, &kept, n)
            swk_sigmoid_scores_grad_variant(fast, g, w, s, nil, &computed, n)
            XCTAssertTrue(kept.map(\.bitPattern) == computed.map(\.bitPattern), "build \(fast): the kept slopes must give the recomputed gradient's bits")
            for keptSlope in [true, false] {  // in place (d = g), as the engine runs it
                let x = UnsafeMutablePointer<Float>.allocate(capacity: n)
                defer { x.deallocate() }
                x.initialize(from: g, count: n)
                slope.withUnsafeBufferPointer { sp in swk_sigmoid_scores_grad_variant(fast, x, w, s, keptSlope ? sp.baseAddress : nil, x, n) }
                XCTAssertTrue((0..<n).allSatisfy { x[$0].bitPattern == kept[$0].bitPattern }, "build \(fast): in place")
            }
            masks.append(m); slopes.append(slope)
        }
        let differing = zip(masks[0], masks[1]).filter { $0 != $1 }.count
        XCTAssertLessThanOrEqual(differing, 2, "portable and AVX2 builds draw the same masks but at rounding ties")
        for i in 0..<n { XCTAssertEqual(slopes[0][i], slopes[1][i], accuracy: 1e-6 * slopes[1][i] + 1e-30) }
    }

    func testSGDKernelMatchesTheRule() {
        var rng = RNG(seed: 9)
        let n = 1000
        for (mu, wd, nesterov) in [(Float(0), Float(0.01), false), (0.9, 0, false), (0.9, 0.001, true)] {
            var w = (0..<n).map { _ in rng.normal() }, b = [Float](repeating: 0, count: n)
            let g = (0..<n).map { _ in rng.normal() }
            var refW = w, refB = b
            for first in [true, false] {
                swk_sgd(&w, g, &b, n, 0.1, mu, wd, nesterov ? 1 : 0, first ? 1 : 0)
                for i in 0..<n {
                    let d = g[i] + wd * refW[i]
                    if mu == 0 { refW[i] -= 0.1 * d; continue }
                    refB[i] = first ? d : mu * refB[i] + d
                    refW[i] -= 0.1 * (nesterov ? d + mu * refB[i] : refB[i])
                }
            }
            for i in 0..<n { XCTAssertEqual(w[i], refW[i], accuracy: 1e-5 * max(1, abs(refW[i]))) }
        }
    }

    /// The mask census (plugin density contracts): portable and fast builds against a count in Swift.
    func testMaskCensusPortableAndFastAgreeWithSwift() {
        var rng = RNG(seed: 4)
        for n in [0, 1, 7, 8, 33, 1000, 4099] {
            var m = (0..<n).map { _ -> Float in
                let u = rng.uniform()
                return u < 0.4 ? 0 : u < 0.8 ? 1 : u < 0.9 ? 0.5 : u < 0.95 ? 2 : -1
            }
            if n > 5 { m[3] = .nan; m[5] = .infinity }
            let want = (m.filter { $0 == 1 }.count, m.filter { $0 == 0 }.count, m.filter { $0.isFinite && $0 >= 0 }.count)
            for fast in [Int32(0), 1] {
                var ones = -1, zeros = -1, valid = -1
                swk_mask_census_variant(fast, m, n, &ones, &zeros, &valid)
                XCTAssertEqual(ones, want.0, "n \(n) fast \(fast)")
                XCTAssertEqual(zeros, want.1, "n \(n) fast \(fast)")
                XCTAssertEqual(valid, want.2, "n \(n) fast \(fast)")
            }
        }
    }

    /// The normalisation kernels, portable and fast builds, against double-precision loops: one
    /// run longer than the 512-value blocks and short tails, and groups of many short strided
    /// runs (batch norm's planes), with and without the fused ReLU (whose mask the backward
    /// kernels recompute from x: it must equal the forward output's y > 0 exactly).
    func testNormKernelsMatchDoubleReferences() {
        var rng = RNG(seed: 21)
        for (count, len, stride) in [(1, 1, 0), (1, 7, 0), (1, 8, 0), (1, 511, 0), (1, 512, 0), (1, 513, 0), (1, 5000, 0),
                                     (128, 16, 40), (64, 49, 49 * 3), (3, 300, 310)] {
            let total = (count - 1) * stride + len
            let x = (0..<total).map { _ in 3 + 2 * rng.normal() }, dy = (0..<total).map { _ in rng.normal() }
            let at = (0..<count).flatMap { r in (0..<len).map { r * stride + $0 } }  // the group's positions
            let s = at.reduce(0.0) { $0 + Double(x[$1]) }, ss = at.reduce(0.0) { $0 + Double(x[$1]) * Double(x[$1]) }
            let label = "count \(count) len \(len) stride \(stride)"
            for fast: Int32 in [0, 1] {
                var gs = 0.0, gss = 0.0
                swk_sum_dot_variant(fast, x, x, count, len, stride, &gs, &gss)
                XCTAssertEqual(gs, s, accuracy: 1e-5 * max(1, abs(s)), "sum, \(label), fast \(fast)")
                XCTAssertEqual(gss, ss, accuracy: 1e-5 * ss, "sum of squares, \(label), fast \(fast)")
                for relu: Int32 in [0, 1] {
                    var p = swk_norm_affine(mu: 3, inv: 0.5, ga: 1.5, be: -0.25, relu: relu)
                    var out = [Float](repeating: 7, count: total)
                    swk_norm_fwd_variant(fast, x, count, len, stride, &p, &out)
                    let xhat = x.map { ($0 - 3) * 0.5 }
                    for i in at {
                        let y = 1.5 * xhat[i] - 0.25
                        XCTAssertEqual(out[i], relu == 1 ? max(y, 0) : y, accuracy: 1e-5)
                    }
                    let inside = Set(at)
                    for i in 0..<total where !inside.contains(i) { XCTAssertEqual(out[i], 7, "between runs untouched, \(label)") }
                    // With the fused ReLU, the gradient counts exactly where the forward output is positive.
                    let dm = (0..<total).map { i in relu == 1 ? (out[i] > 0 ? dy[i] : 0) : dy[i] }
                    var sdy = 0.0, sdyx = 0.0
                    swk_norm_bwd_sums_variant(fast, dy, x, count, len, stride, &p, &sdy, &sdyx)
                    let rdy = at.reduce(0.0) { $0 + Double(dm[$1]) }
                    let rdyx = at.reduce(0.0) { $0 + Double(dm[$1]) * Double(xhat[$1]) }
                    XCTAssertEqual(sdy, rdy, accuracy: 1e-4 * max(1, abs(rdy)), "Σdy, \(label), relu \(relu)")
                    XCTAssertEqual(sdyx, rdyx, accuracy: 1e-4 * max(1, abs(rdyx)), "Σdy·x̂, \(label), relu \(relu)")
                    var dx = [Float](repeating: 0, count: total)
                    swk_norm_bwd_variant(fast, dy, x, count, len, stride, &p, 0.7, 0.1, 0.2, &dx)
                    for i in at { XCTAssertEqual(dx[i], 0.7 * (dm[i] - 0.1 - xhat[i] * 0.2), accuracy: 1e-5) }
                }
            }
        }
    }

    /// The fused ReLU's mask recomputed in the backward kernels is the forward's bit for bit, also
    /// at outputs within rounding of zero: x at β's root (γ·x̂ + β ≈ 0) and one ulp around it.
    func testNormMaskIsTheForwardOutputsSignExactly() {
        let mu: Float = 0.3, inv: Float = 1.7, ga: Float = 0.9, be: Float = -0.4
        let root = mu + (-be / ga) / inv
        var x: [Float] = []
        var v = root
        for _ in 0..<20 { v = v.nextDown }
        for _ in 0..<40 { x.append(v); v = v.nextUp }
        let dy = [Float](repeating: 1, count: x.count)
        for fast: Int32 in [0, 1] {
            var p = swk_norm_affine(mu: mu, inv: inv, ga: ga, be: be, relu: 1)
            var out = [Float](repeating: 0, count: x.count), dx = out
            swk_norm_fwd_variant(fast, x, 1, x.count, 0, &p, &out)
            // k = 1, a = b = 0: dx is dy where the kernels keep the gradient, 0 elsewhere.
            swk_norm_bwd_variant(fast, dy, x, 1, x.count, 0, &p, 1, 0, 0, &dx)
            var sdy = 0.0, sdyx = 0.0
            swk_norm_bwd_sums_variant(fast, dy, x, 1, x.count, 0, &p, &sdy, &sdyx)
            let kept = out.filter { $0 > 0 }.count
            XCTAssertGreaterThan(kept, 0, "fast \(fast)")
            XCTAssertLessThan(kept, x.count, "fast \(fast)")
            for i in 0..<x.count { XCTAssertEqual(dx[i] == 1, out[i] > 0, "x \(x[i]), fast \(fast)") }
            XCTAssertEqual(sdy, Double(kept), "fast \(fast)")
        }
    }

    /// The sample-lane depthwise kernels, portable and fast builds, against plain loops in double:
    /// forward, input gradient (stride 1 gathers, strides > 1 scatter), weight and bias gradients;
    /// 3×3 (unrolled) and other kernels, batches with and without a lane tail, sample strides
    /// wider than a plane (channels interleaved as in NCHW).
    func testDepthwiseLaneKernelsMatchPlainLoops() {
        var rng = RNG(seed: 22)
        let cases: [(n: Int, h: Int, w: Int, kh: Int, kw: Int, s: Int, pad: Int)] = [
            (9, 6, 5, 3, 3, 1, 1), (8, 4, 4, 3, 3, 2, 1), (3, 7, 6, 5, 3, 1, 2), (12, 5, 7, 3, 3, 3, 0), (1, 2, 2, 3, 3, 1, 1),
            (17, 3, 5, 1, 1, 1, 0), (8, 9, 9, 2, 4, 2, 1),
        ]
        for c in cases {
            let label = "n \(c.n), \(c.h)×\(c.w), kernel \(c.kh)×\(c.kw), stride \(c.s), pad \(c.pad)"
            let oh = (c.h + 2 * c.pad - c.kh) / c.s + 1, ow = (c.w + 2 * c.pad - c.kw) / c.s + 1
            let hw = c.h * c.w, q = oh * ow, xs = hw + 3, ys = q + 2  // sample strides wider than a plane
            let x = (0..<(c.n * xs)).map { _ in rng.normal() }, dy = (0..<(c.n * ys)).map { _ in rng.normal() }
            let ker = (0..<(c.kh * c.kw)).map { _ in rng.normal() }
            var refY = [Double](repeating: 0.5, count: c.n * ys), refDx = [Double](repeating: 0, count: c.n * xs)
            var refDk = [Double](repeating: 0, count: c.kh * c.kw), refDb = 0.0
            for sIdx in 0..<c.n { for oy in 0..<oh { for ox in 0..<ow {
                let o = sIdx * ys + oy * ow + ox
                refDb += Double(dy[o])
                for ki in 0..<c.kh { for kj in 0..<c.kw {
                    let r = oy * c.s + ki - c.pad, col = ox * c.s + kj - c.pad, t = ki * c.kw + kj
                    guard r >= 0, r < c.h, col >= 0, col < c.w else { continue }
                    let i = sIdx * xs + r * c.w + col
                    refY[o] += Double(ker[t]) * Double(x[i]); refDx[i] += Double(ker[t]) * Double(dy[o]); refDk[t] += Double(dy[o]) * Double(x[i])
                } }
            } } }
            var g = swk_dw_geom(h: c.h, w: c.w, pad: c.pad, stride: c.s, kh: c.kh, kw: c.kw, oh: oh, ow: ow)
            let workFloats = swk_dwl_work(&g)
            let work = UnsafeMutableRawPointer.allocate(byteCount: 4 * workFloats, alignment: 64).bindMemory(to: Float.self, capacity: workFloats)
            defer { work.deallocate() }
            for fast: Int32 in [0, 1] {
                var y = [Float](repeating: 7, count: c.n * ys), dx = [Float](repeating: 7, count: c.n * xs)
                var dk = [Float](repeating: 1, count: c.kh * c.kw), db: Float = 1
                swk_dwl_fwd_variant(fast, &g, x, xs, c.n, ker, 0.5, &y, ys, work)
                swk_dwl_bwd_variant(fast, &g, x, xs, dy, ys, c.n, ker, &dx, &dk, &db, work)
                for sIdx in 0..<c.n {
                    for p in 0..<q { XCTAssertEqual(Double(y[sIdx * ys + p]), refY[sIdx * ys + p], accuracy: 1e-4, "y \(sIdx) \(p), \(label), fast \(fast)") }
                    for p in q..<ys { XCTAssertEqual(y[sIdx * ys + p], 7, "y past the plane \(sIdx), \(label)") }
                    for p in 0..<hw { XCTAssertEqual(Double(dx[sIdx * xs + p]), refDx[sIdx * xs + p], accuracy: 1e-4, "dx \(sIdx) \(p), \(label), fast \(fast)") }
                    for p in hw..<xs { XCTAssertEqual(dx[sIdx * xs + p], 7, "dx past the plane \(sIdx), \(label)") }
                }
                for t in 0..<(c.kh * c.kw) { XCTAssertEqual(Double(dk[t]), 1 + refDk[t], accuracy: 1e-3, "dk \(t), \(label), fast \(fast)") }
                XCTAssertEqual(Double(db), 1 + refDb, accuracy: 1e-3, "db, \(label), fast \(fast)")
            }
        }
    }

    func testFiniteCheckFindsNaNAndInfAnywhere() {
        var x = [Float](repeating: 1, count: 1037)
        XCTAssertEqual(swk_all_finite(x, x.count), 1)
        for bad in [Float.nan, .infinity, -.infinity] {
            for pos in [0, 500, 1036] {
                x[pos] = bad
                XCTAssertEqual(swk_all_finite(x, x.count), 0, "\(bad) at \(pos)")
                x[pos] = 1
            }
        }
    }

    func testMaxPoolKernelMatchesTheGenericPath() throws {
        var rng = RNG(seed: 5)
        let x = Tensor(shape: [3, 4, 9, 8])
        for i in 0..<x.count { x[i] = Float(rng.int(below: 6)) }  // ties: the first maximum wins in both
        for threads in [1, 2] {
            BLAS.setThreads(threads)
            let v = Var(x, requiresGrad: true)
            let ctx = Context(training: true)
            let fast = try ctx.maxPool2d(v, kernel: 2)
            XCTAssertEqual(fast.shape, [3, 4, 4, 4])
            // Reference: windows by hand.
            for pl in 0..<12 { for oy in 0..<4 { for ox in 0..<4 {
                let base = pl * 72
                let vals = [x[base + 2 * oy * 8 + 2 * ox], x[base + 2 * oy * 8 + 2 * ox + 1],
                            x[base + (2 * oy + 1) * 8 + 2 * ox], x[base + (2 * oy + 1) * 8 + 2 * ox + 1]]
                XCTAssertEqual(fast.value[(pl * 4 + oy) * 4 + ox], vals.max()!)
            } } }
            let seed = Tensor(shape: fast.shape, repeating: 1)
            try fast.backward(seed: seed)
            // Every window sends its gradient to exactly one input: the sum is the window count.
            XCTAssertEqual(v.grad!.array.reduce(0, +), Float(fast.value.count))
            XCTAssertEqual(v.grad!.array.filter { $0 != 0 }.count, fast.value.count)
        }
        BLAS.setThreads(2)
    }
}

/// Winograd F(2×2, 3×3) against the im2col path (itself gradient-checked): outputs and all
/// three gradients, odd and even sizes, chunked batches, with and without bias, 1 and 2 threads.
final class WinogradTests: XCTestCase {
    override func tearDown() { Context.winogradEnabled = true; BLAS.setThreads(2) }

    func run(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ upstream: Tensor, winograd: Bool) throws -> [Tensor] {
        Context.winogradEnabled = winograd
        let xv = Var(x, requiresGrad: true), wv = Var(w, requiresGrad: true), bv = b.map { Var($0, requiresGrad: true) }
        let ctx = Context(training: true)
        let y = try ctx.conv2d(xv, wv, bv, stride: 1, padding: 1)
        try y.backward(seed: upstream)
        return [y.value, xv.grad!, wv.grad!] + (bv.map { [$0.grad!] } ?? [])
    }

    func testMatchesIm2colInValueAndGradients() throws {
        var rng = RNG(seed: 11)
        // (n, c, o, h, w): 7×7 and 5×9 leave partial tiles; n = 40 at 4×4 spans several chunks.
        for (n, c, o, h, w) in [(2, 16, 16, 7, 7), (3, 17, 20, 5, 9), (40, 16, 24, 4, 4), (1, 32, 16, 28, 28), (5, 16, 16, 1, 2)] {
            for threads in [1, 2] {
                BLAS.setThreads(threads)
                let x = randomTensor([n, c, h, w], &rng), wt = randomTensor([o, c, 3, 3], &rng)
                let b: Tensor? = o % 2 == 0 ? randomTensor([o], &rng) : nil
                let up = randomTensor([n, o, h, w], &rng)
                let wino = try run(x, wt, b, up, winograd: true), ref = try run(x, wt, b, up, winograd: false)
                for (i, name) in ["output", "input gradient", "weight gradient", "bias gradient"].prefix(wino.count).enumerated() {
                    assertClose(wino[i], ref[i], tol: 2e-4, "\(name) n \(n) c \(c) o \(o) \(h)×\(w) threads \(threads)")
                }
            }
        }
    }

    /// The input transform, portable and fast builds, against its definition per tile:
    /// V[4k + l][c][t0 + i·tw + j] = (Bᵀ d B)[k][l], d the 4×4 patch at rows 2i − 1…, columns
    /// 2j − 1… (zero outside); odd sizes and rows of more than 64 tiles.
    func testInputTransformMatchesItsDefinition() {
        var rng = RNG(seed: 19)
        for (c, h, w) in [(2, 7, 9), (1, 5, 130), (3, 1, 2), (2, 8, 8)] {
            let th = (h + 1) / 2, tw = (w + 1) / 2, t0 = 3, ldv = t0 + th * tw + 2
            var scratch = [Float](repeating: .nan, count: swk_wino_scratch(h, w))  // the kernels must not read it before writing
            let x = (0..<(c * h * w)).map { _ in rng.normal() }
            var want = [Float](repeating: 0, count: 16 * c * ldv)
            for ch in 0..<c { for i in 0..<th { for j in 0..<tw {
                var d = [[Float]](repeating: [0, 0, 0, 0], count: 4)
                for a in 0..<4 { for b in 0..<4 {
                    let r = 2 * i - 1 + a, q = 2 * j - 1 + b
                    if r >= 0, r < h, q >= 0, q < w { d[a][b] = x[ch * h * w + r * w + q] }
                } }
                // Bᵀ d: rows (d0 − d2, d1 + d2, d2 − d1, d1 − d3); then the same on columns.
                func bt(_ v: [Float]) -> [Float] { [v[0] - v[2], v[1] + v[2], v[2] - v[1], v[1] - v[3]] }
                let cols: [[Float]] = (0..<4).map { b in bt([d[0][b], d[1][b], d[2][b], d[3][b]]) }  // cols[b][k] = (Bᵀd)[k][b]
                for k in 0..<4 {
                    let v = bt([cols[0][k], cols[1][k], cols[2][k], cols[3][k]])
                    for l in 0..<4 { want[((4 * k + l) * c + ch) * ldv + t0 + i * tw + j] = v[l] }
                }
            } } }
            assertBothBuilds(want, "\(c)×\(h)×\(w)") { fast, got in swk_wino_input_variant(fast, x, c, h, w, &got, ldv, t0, &scratch) }
        }
    }

    /// Runs a transform's portable (fast = 0) and best (fast = 1) builds into zeroed buffers the
    /// size of `want` and compares every entry with it.
    func assertBothBuilds(_ want: [Float], _ label: String, _ run: (Int32, inout [Float]) -> Void) {
        for fast: Int32 in [0, 1] {
            var got = [Float](repeating: 0, count: want.count)
            run(fast, &got)
            for i in 0..<got.count { XCTAssertEqual(got[i], want[i], accuracy: 1e-5, "\(label) entry \(i) fast \(fast)") }
        }
    }

    /// The output-gradient transform, portable and fast builds, against its definition per tile:
    /// dM[4k + l][o][t0 + i·tw + j] = (A g Aᵀ)[k][l], g the 2×2 block of dY at rows 2i…, columns
    /// 2j… (zero past the edge), A = [[1, 0], [1, 1], [1, −1], [0, −1]].
    func testOutputGradientTransformMatchesItsDefinition() {
        var rng = RNG(seed: 20)
        for (o, h, w) in [(2, 7, 9), (1, 4, 131), (3, 1, 1), (2, 6, 6)] {
            let th = (h + 1) / 2, tw = (w + 1) / 2, t0 = 2, ldm = t0 + th * tw + 1
            var scratch = [Float](repeating: .nan, count: swk_wino_scratch(h, w))
            let dy = (0..<(o * h * w)).map { _ in rng.normal() }
            var want = [Float](repeating: 0, count: 16 * o * ldm)
            func a(_ v: [Float]) -> [Float] { [v[0], v[0] + v[1], v[0] - v[1], -v[1]] }
            for oc in 0..<o { for i in 0..<th { for j in 0..<tw {
                func g(_ r: Int, _ q: Int) -> Float { r < h && q < w ? dy[oc * h * w + r * w + q] : 0 }
                let cols = [a([g(2 * i, 2 * j), g(2 * i + 1, 2 * j)]), a([g(2 * i, 2 * j + 1), g(2 * i + 1, 2 * j + 1)])]
                for k in 0..<4 {
                    let v = a([cols[0][k], cols[1][k]])
                    for l in 0..<4 { want[((4 * k + l) * o + oc) * ldm + t0 + i * tw + j] = v[l] }
                }
            } } }
            assertBothBuilds(want, "\(o)×\(h)×\(w)") { fast, got in swk_wino_output_grad_variant(fast, dy, o, h, w, &got, ldm, t0, &scratch) }
        }
    }

    /// The output transform and the input-gradient transform, portable and fast builds, as the
    /// adjoints of the two transforms tested above: ⟨output(M), dY⟩ = ⟨M, output_grad(dY)⟩ and
    /// ⟨input(x), dV⟩ = ⟨x, input_grad(dV)⟩ for random M, dY, x, dV (odd sizes, rows of more than
    /// 64 tiles, a 1×1 plane, blocks of several tile rows); the input gradient adds to what dx holds.
    func testOutputAndInputGradientTransformsAreTheAdjoints() {
        var rng = RNG(seed: 21)
        func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
        for (c, h, w) in [(2, 7, 9), (1, 4, 131), (3, 1, 1), (2, 6, 6), (2, 5, 3)] {
            let th = (h + 1) / 2, tw = (w + 1) / 2, t0 = 2, ld = t0 + th * tw + 1
            var scratch = [Float](repeating: .nan, count: swk_wino_scratch(h, w))
            let label = "\(c)×\(h)×\(w)"
            // Only the sample's own columns [t0, t0 + th·tw) of each matrix row take part.
            let m = (0..<(16 * c * ld)).map { i in (i % ld) >= t0 && (i % ld) < t0 + th * tw ? rng.normal() : 0 }
            let plane = (0..<(c * h * w)).map { _ in rng.normal() }
            for fast: Int32 in [0, 1] {
                var y = [Float](repeating: 0, count: c * h * w), dm = [Float](repeating: 0, count: 16 * c * ld)
                swk_wino_output_variant(fast, m, c, h, w, ld, t0, &y, &scratch)
                swk_wino_output_grad_variant(fast, plane, c, h, w, &dm, ld, t0, &scratch)
                let lhs = dot(y, plane), rhs = dot(m, dm)
                XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)), "output adjoint, \(label), fast \(fast)")
                var v = [Float](repeating: 0, count: 16 * c * ld)
                swk_wino_input_variant(fast, plane, c, h, w, &v, ld, t0, &scratch)
                let start = (0..<(c * h * w)).map { _ in rng.normal() }
                var dx = start
                swk_wino_input_grad_variant(fast, m, c, h, w, ld, t0, &dx, &scratch)
                let added = zip(dx, start).map { $0 - $1 }
                let lhs2 = dot(v, m), rhs2 = dot(plane, added)
                XCTAssertEqual(lhs2, rhs2, accuracy: 1e-4 * max(1, abs(lhs2)), "input adjoint, \(label), fast \(fast)")
            }
        }
    }

    func testOnlyThreeByThreeStrideOnePaddingOneWithEnoughChannelsUsesIt() throws {
        func uses(_ c: Int, _ o: Int, k: Int, stride: Int, pad: Int) -> Bool {
            Context.winogradApplies(kernel: k, stride: stride, padding: pad, inChannels: c, outChannels: o)
        }
        XCTAssertTrue(uses(16, 16, k: 3, stride: 1, pad: 1))
        XCTAssertFalse(uses(16, 16, k: 3, stride: 2, pad: 1))
        XCTAssertFalse(uses(16, 16, k: 3, stride: 1, pad: 0))
        XCTAssertFalse(uses(16, 16, k: 5, stride: 1, pad: 2))
        XCTAssertFalse(uses(1, 64, k: 3, stride: 1, pad: 1))
        Context.winogradEnabled = false
        XCTAssertFalse(uses(16, 16, k: 3, stride: 1, pad: 1))
    }
}
