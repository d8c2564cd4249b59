import Foundation
import XCTest
import SparseWireCore

final class TopKTests: XCTestCase {
    func testMatchesSortReferenceAndBreaksTiesByIndex() {
        var rng = RNG(seed: 1)
        for trial in 0..<50 {
            let n = 1 + rng.int(below: 300)
            // Few distinct values → many ties.
            let vals: [Float] = (0..<n).map { _ in Float(rng.int(below: trial % 2 == 0 ? 5 : 1000)) }
            let k = rng.int(below: n + 1)
            let t = try! Tensor(shape: [n], values: vals)
            let m = TopK.mask(of: t, k: k)
            let reference = Set((0..<n).sorted { vals[$0] != vals[$1] ? vals[$0] > vals[$1] : $0 < $1 }.prefix(k))
            XCTAssertEqual(Set((0..<n).filter { m[$0] == 1 }), reference, "n \(n) k \(k)")
            XCTAssertEqual(m.array.filter { $0 != 0 }.count, k)
        }
    }

    /// Radix select against a sort, on signed values spread over many exponents (so every
    /// histogram round matters), by value and by magnitude, over one and several segments, with
    /// one reused workspace.
    func testRadixSelectMatchesSortOnSignedValuesMagnitudesAndSegments() {
        var rng = RNG(seed: 7)
        let ws = TopK.Workspace()
        for trial in 0..<60 {
            let n = 1 + rng.int(below: trial < 30 ? 400 : 40_000)
            var vals: [Float] = (0..<n).map { _ in
                switch rng.int(below: 4) {
                case 0:  // ties, both signs, and zeros of both signs (−0 ranks equal to +0)
                    let x = Float(rng.int(below: 7)) - 3
                    return x == 0 && rng.int(below: 2) == 0 ? -0.0 : x
                case 1: return rng.normal() * 1e-6
                case 2: return rng.normal() * 1e4
                default: return rng.normal()
                }
            }
            if n > 2 { vals[0] = -0.0; vals[1] = 0.0 }
            let k = rng.int(below: n + 1)
            let magnitude = trial % 2 == 1
            let rank: (Float) -> Float = { magnitude ? abs($0) : ($0 == 0 ? 0 : $0) }
            let reference = Set((0..<n).sorted { rank(vals[$0]) != rank(vals[$1]) ? rank(vals[$0]) > rank(vals[$1]) : $0 < $1 }.prefix(k))
            var mask = [Float](repeating: -1, count: n)
            let cut = rng.int(below: n + 1)  // split in two segments: ties go to the first one first
            vals.withUnsafeBufferPointer { v in
                mask.withUnsafeMutableBufferPointer { m in
                    let segs = [TopK.Segment(values: v.baseAddress!, mask: m.baseAddress!, count: cut),
                                TopK.Segment(values: v.baseAddress! + cut, mask: m.baseAddress! + cut, count: n - cut)]
                    TopK.select(segs, k: k, order: magnitude ? .magnitude : .value, workspace: ws)
                }
            }
            XCTAssertEqual(Set((0..<n).filter { mask[$0] == 1 }), reference, "trial \(trial) n \(n) k \(k)")
            XCTAssertTrue(mask.allSatisfy { $0 == 0 || $0 == 1 }, "every entry written")
        }
    }
}

extension TopKTests {
    /// Repeated selections over drifting values, as in training: most go through the window
    /// around the last threshold, some (after a jump) through the full select; every one must
    /// equal the sort reference, by value and by magnitude, over one and two segments.
    func testWindowedSelectionOverDriftingValuesMatchesSort() {
        var rng = RNG(seed: 11)
        for (n, magnitude, twoSegments) in [(50_000, true, false), (50_000, false, true), (300, true, true), (3000, false, false)] {
            let ws = TopK.Workspace()
            // Every 8th value is 2.0 and never drifts: ~12 % ties that straddle the top 10 %.
            var vals: [Float] = (0..<n).map { i in i % 8 == 0 ? 2 : rng.normal() }
            vals[1] = -0.0
            var mask = [Float](repeating: -1, count: n)
            let k = n / 10
            for step in 0..<40 {
                if step == 25 {
                    for i in 0..<n { vals[i] *= 3 }  // a jump: the old window misses
                } else {
                    for i in stride(from: step % 3, to: n, by: 3) where i % 8 != 0 { vals[i] += rng.normal() * 1e-3 }
                }
                let rank: (Float) -> Float = { magnitude ? abs($0) : ($0 == 0 ? 0 : $0) }
                let reference = Set((0..<n).sorted { rank(vals[$0]) != rank(vals[$1]) ? rank(vals[$0]) > rank(vals[$1]) : $0 < $1 }.prefix(k))
                let cut = twoSegments ? n / 3 : n
                vals.withUnsafeBufferPointer { v in
                    mask.withUnsafeMutableBufferPointer { m in
                        var segs = [TopK.Segment(values: v.baseAddress!, mask: m.baseAddress!, count: cut)]
                        if twoSegments { segs.append(TopK.Segment(values: v.baseAddress! + cut, mask: m.baseAddress! + cut, count: n - cut)) }
                        TopK.select(segs, k: k, order: magnitude ? .magnitude : .value, workspace: ws)
                    }
                }
                XCTAssertEqual(Set((0..<n).filter { mask[$0] == 1 }), reference, "n \(n) magnitude \(magnitude) step \(step)")
                XCTAssertEqual(mask.filter { $0 != 0 && $0 != 1 }.count, 0)
            }
            XCTAssertGreaterThan(ws.windowHits, 20, "n \(n): the window pass answers most steps")
            XCTAssertGreaterThan(ws.windowMisses, 0, "n \(n): the jump falls back to the full select")
        }
    }
}

final class DensityAllocationTests: XCTestCase {
    func testERKReproducesTheGlobalDensityWithinOneWeight() {
        let shapes = [[64, 1, 3, 3], [64, 64, 3, 3], [128, 64, 3, 3], [128, 128, 3, 3], [256, 6272], [256, 256], [10, 256]]
        let total = shapes.reduce(0) { $0 + $1.reduce(1, *) }
        for k in [0.05, 0.1, 0.2, 0.5, 0.9] {
            let counts = DensityAllocation.keptCounts(shapes: shapes, density: k, distribution: .erk)
            XCTAssertLessThanOrEqual(abs(counts.reduce(0, +) - Int((k * Double(total)).rounded())), 1, "k = \(k)")
            for (c, s) in zip(counts, shapes) { XCTAssertLessThanOrEqual(c, s.reduce(1, *)) }
            // ERK keeps small layers denser than big ones.
            XCTAssertGreaterThan(Double(counts[0]) / 576, Double(counts[4]) / Double(256 * 6272))
        }
        // At k = 0.1 the tiny first conv (p_l·ε > 1) becomes dense.
        XCTAssertEqual(DensityAllocation.keptCounts(shapes: shapes, density: 0.1, distribution: .erk)[0], 576)
    }

    func testUniform() {
        XCTAssertEqual(DensityAllocation.keptCounts(shapes: [[10, 10], [3, 7]], density: 0.3, distribution: .uniform), [30, 6])
    }
}

/// Training helpers shared by the policy tests.
func maskedTrainer(_ policy: String, density: Double = 0.3, extra: String = "", epochs: Int = 2,
                   model: String = "model: {name: mlp, hidden: [32, 16]}") throws -> Trainer {
    let c = try Config(yaml: """
    \(model)
    policy: \(policy)
    density: \(density)
    epochs: \(epochs)
    batch_size: 32
    \(extra.contains("optimizer:") ? "" : "optimizer: {lr: 0.05}")
    \(extra)
    """)
    return try Trainer(config: c, train: try syntheticDataset(count: 256, seed: 1), test: try syntheticDataset(count: 128, seed: 2))
}

func keptCounts(_ t: Trainer) -> [Int] { t.masking.layers.map { $0.parameter.keptCount } }

final class PolicyTests: XCTestCase {
    func testRegistryListsEveryBuiltInAndRefusesUnknownOptions() throws {
        let names = PolicyRegistry.names
        for n in ["dense", "dnw", "edge-popup", "supermask", "rigl", "set", "snfs", "random-static", "dnw-no-update",
                  "targeted-dropout", "lottery-one-shot", "l1-anneal"] {
            XCTAssertTrue(names.contains(n), n)
        }
        XCTAssertThrowsError(try maskedTrainer("rigl", extra: "policy_options: {alhpa: 0.3}")) { XCTAssertTrue("\($0)".contains("alhpa")) }
        XCTAssertThrowsError(try maskedTrainer("rigl", extra: "policy_options: {alpha: 3}")) { XCTAssertTrue("\($0)".contains("alpha")) }
        XCTAssertThrowsError(try maskedTrainer("edge-popup", extra: "policy_options: {weight_init: zeros}")) { XCTAssertTrue("\($0)".contains("weight_init")) }
        XCTAssertThrowsError(try PolicyRegistry.register(PolicyDescriptor(name: "dnw", summary: "dup") { _ in fatalError() })) {
            XCTAssertTrue("\($0)".contains("already registered"))
        }
    }

    /// A registry grown by many plugin policies: lookups by name, duplicates refused (also
    /// within one batch, which then adds nothing), and an unknown name's error lists a bounded
    /// number of names plus the count of the rest.
    func testRegistryWithManyPoliciesStaysBounded() throws {
        let before = PolicyRegistry.names.count
        let batch = (0..<60).map { i in PolicyDescriptor(name: "bulk-registry-test-\(i)", summary: "test") { _ in fatalError("never built") } }
        XCTAssertThrowsError(try PolicyRegistry.register(contentsOf: batch + [batch[3]])) {
            XCTAssertTrue("\($0)".contains("'bulk-registry-test-3' is already registered"), "\($0)")
        }
        XCTAssertEqual(PolicyRegistry.names.count, before, "a refused batch adds nothing")
        try PolicyRegistry.register(contentsOf: batch)
        XCTAssertEqual(PolicyRegistry.names.count, before + 60)
        XCTAssertEqual(try PolicyRegistry.descriptor("bulk-registry-test-59").name, "bulk-registry-test-59")
        XCTAssertThrowsError(try PolicyRegistry.register(batch[0])) { XCTAssertTrue("\($0)".contains("already registered")) }
        XCTAssertThrowsError(try PolicyRegistry.descriptor("bulk-registry-test-600")) {
            let message = "\($0)"
            XCTAssertTrue(message.contains("… and \(before + 60 - 40) more (sparsewire policies lists all)"), message)
            XCTAssertTrue(message.contains("known: dense, dnw"), message)
            XCTAssertTrue(message.contains("did you mean 'bulk-registry-test-"), message)
            XCTAssertFalse(message.contains("bulk-registry-test-59,"), "the listed names are bounded: \(message)")
        }
    }

    /// Exact kept count per layer after every step, for every top-k policy.
    func testExactKeptCountsAfterEveryStep() throws {
        for policy in ["dnw", "dnw-no-update", "edge-popup", "random-static", "rigl", "set", "snfs"] {
            let t = try maskedTrainer(policy)
            let expected = t.masking.layers.map(\.keepCount)
            XCTAssertEqual(keptCounts(t), expected, "\(policy) before training")
            var steps = 0
            try t.fit { e in
                if case .step = e {
                    steps += 1
                    XCTAssertEqual(keptCounts(t), expected, "\(policy) after step \(steps)")
                }
                return true
            }
            XCTAssertGreaterThan(steps, 10)
            XCTAssertEqual(t.keptCount, t.parameterCount - zip(t.masking.layers, expected).reduce(0) { $0 + $1.0.count - $1.1 }, policy)
        }
    }

    func testGlobalScopeKeepsTheGlobalCount() throws {
        for policy in ["dnw", "edge-popup"] {
            let t = try maskedTrainer(policy, density: 0.2, extra: "masking: {scope: global}")
            let expected = t.masking.layers.reduce(0) { $0 + $1.keepCount }
            var checked = 0
            try t.fit { e in
                if case .step = e { XCTAssertEqual(keptCounts(t).reduce(0, +), expected); checked += 1 }
                return true
            }
            XCTAssertGreaterThan(checked, 0)
            // Global selection need not be uniform per layer.
            XCTAssertNotEqual(keptCounts(t), t.masking.layers.map(\.keepCount), policy)
        }
    }

    func testFirstAndLastLayerDense() throws {
        let t = try maskedTrainer("dnw", extra: "masking: {first_layer_dense: true, last_layer_dense: true}")
        XCTAssertEqual(t.masking.layers.map(\.name), ["fc2.weight"])
    }

    /// Gradient routing on one small layer against the analytic forms.
    func testGradientRoutingMatchesAnalyticForms() throws {
        for policy in ["edge-popup", "dnw", "dnw-no-update", "supermask"] {
            let t = try maskedTrainer(policy, density: 0.5, model: "model: {name: mlp, hidden: [], bias: false}")
            let layer = t.masking.layers[0]
            let x = try syntheticDataset(count: 8, seed: 5)
            // Forward/backward by hand with the engine's hook, keeping dL/dŵ.
            let ctx = Context(training: true, recordGrad: true)
            t.masking.install(on: ctx)
            let w = layer.parameter
            let before = (w.grad, layer.scores?.grad)
            XCTAssertNil(before.0)
            let ms = MaskStep(step: 0, epoch: 0, stepsPerEpoch: 1, totalSteps: 10, training: true)
            try t.masking.beforeForward(ms)
            // dL/dŵ via a second, unmasked pass: L(ŵ) = CE(x·ŵᵀ).
            let what = Var(try Tensor(shape: w.shape, values: zip(w.value.array, layer.mask.array).map { $0 * $1 }), requiresGrad: true)
            let flat = try ctx.flatten(Var(x.images))
            let lRef = try ctx.crossEntropy(ctx.linear(flat, what, nil), labels: x.labels)
            try lRef.backward()
            let g = what.grad!
            let loss = try ctx.crossEntropy(t.network.forward(Var(x.images), ctx), labels: x.labels)
            XCTAssertEqual(loss.value[0], lRef.value[0], accuracy: 1e-6)
            try loss.backward()
            let wv = w.value.array, mv = layer.mask.array
            switch policy {
            case "edge-popup":
                let s = layer.scores!.value.array, gs = layer.scores!.grad!.array
                for i in 0..<w.count { XCTAssertEqual(gs[i], g[i] * wv[i] * (s[i] < 0 ? -1 : 1), accuracy: 1e-6) }
            case "supermask":
                let s = layer.scores!.value.array, gs = layer.scores!.grad!.array
                for i in 0..<w.count {
                    let sg = 1 / (1 + expf(-s[i]))
                    XCTAssertEqual(gs[i], g[i] * wv[i] * sg * (1 - sg), accuracy: 1e-6)
                }
            case "dnw":
                let gw = w.grad!.array
                for i in 0..<w.count { XCTAssertEqual(gw[i], g[i], accuracy: 1e-6) }
                XCTAssertTrue(zip(gw, mv).contains { $0.0 != 0 && $0.1 == 0 }, "DNW must give gradient to unused weights")
            default:
                let gw = w.grad!.array
                for i in 0..<w.count { XCTAssertEqual(gw[i], g[i] * mv[i], accuracy: 1e-6) }
            }
        }
    }

    func testFrozenTensorsBitIdenticalAfterTraining() throws {
        for policy in ["edge-popup", "supermask"] {
            let t = try maskedTrainer(policy, density: 0.5, model: "model: {name: mlp, hidden: [32], bias: true}")
            let frozen = t.network.parameters.filter { $0.role == .weight || $0.role == .bias }
            let before = frozen.map(\.value.array)
            let scoresBefore = t.masking.scoreParameters.map(\.value.array)
            try t.fit()
            XCTAssertEqual(frozen.map(\.value.array), before, policy)
            XCTAssertNotEqual(t.masking.scoreParameters.map(\.value.array), scoresBefore, "\(policy) scores must train")
        }
    }

    func testSupermaskMeanMatchesSigmoid() throws {
        let t = try maskedTrainer("supermask", model: "model: {name: mlp, hidden: [], bias: false}")
        let l = t.masking.layers[0]
        var rng = RNG(seed: 9)
        for i in 0..<l.count { l.scores!.value[i] = rng.uniform(-3, 3) }
        let draws = 2000
        var sums = [Double](repeating: 0, count: l.count)
        for d in 0..<draws {
            try t.masking.beforeForward(MaskStep(step: d, epoch: 0, stepsPerEpoch: 1, totalSteps: draws, training: true))
            for i in 0..<l.count { sums[i] += Double(l.mask[i]) }
        }
        for i in 0..<l.count {
            let p = 1 / (1 + exp(-Double(l.scores!.value[i])))
            XCTAssertEqual(sums[i] / Double(draws), p, accuracy: 4 * (p * (1 - p) / Double(draws)).squareRoot() + 1e-3)
        }
    }

    /// The supermask's training draw keeps σ'(s) for its backward pass and ŵ for its forward
    /// pass; a mask written from outside (a checkpoint load, a host) drops both, and the loss and
    /// gradient computed without them have the same bits.
    func testSupermaskStepIsTheSameWithOrWithoutTheDrawsProducts() throws {
        let t = try maskedTrainer("supermask", model: "model: {name: mlp, hidden: [24], bias: false}")
        let x = try syntheticDataset(count: 8, seed: 5)
        var grads: [[[Float]]] = []
        for dropSlope in [false, true] {
            t.masking.context.rng = RNG(seed: 77)  // the same draw both times
            let ctx = Context(training: true, recordGrad: true)
            t.masking.install(on: ctx)  // the engine's own op consumes the masks: products are kept
            try t.masking.beforeForward(MaskStep(step: 3, epoch: 0, stepsPerEpoch: 10, totalSteps: 10, training: true))
            XCTAssertTrue(t.masking.layers.allSatisfy { $0.keepProbabilitySlope != nil && $0.maskedWeight != nil },
                          "a training draw keeps the slopes and ŵ")
            if dropSlope {
                t.masking.masksChanged()
                XCTAssertTrue(t.masking.layers.allSatisfy { $0.keepProbabilitySlope == nil && $0.maskedWeight == nil })
            }
            for l in t.masking.layers { l.scores!.variable.zeroGrad() }
            let loss = try ctx.crossEntropy(t.network.forward(Var(x.images), ctx), labels: x.labels)
            XCTAssertTrue(t.masking.layers.allSatisfy { $0.maskedWeight == nil }, "the forward pass takes ŵ once")
            try loss.backward()
            grads.append(t.masking.layers.map { $0.scores!.grad!.array } + [loss.value.array])
        }
        XCTAssertTrue(grads[0] == grads[1], "the kept slopes and ŵ must give the recomputed loss's and gradient's bits")
        try t.masking.beforeEvaluation()
        XCTAssertTrue(t.masking.layers.allSatisfy { $0.keepProbabilitySlope == nil }, "an evaluation draw keeps none")
        // A training draw's ŵ that no forward pass took must not reach an evaluation pass whose
        // masks are not drawn (eval: round rounds σ(s) instead).
        let r = try maskedTrainer("supermask", extra: "policy_options: {eval: round}", model: "model: {name: mlp, hidden: [24], bias: false}")
        r.masking.install(on: Context(training: true, recordGrad: true))
        try r.masking.beforeForward(MaskStep(step: 0, epoch: 0, stepsPerEpoch: 10, totalSteps: 10, training: true))
        XCTAssertTrue(r.masking.layers.allSatisfy { $0.maskedWeight != nil })
        try r.masking.beforeEvaluation()
        XCTAssertTrue(r.masking.layers.allSatisfy { $0.maskedWeight == nil && $0.keepProbabilitySlope == nil }, "eval: round")
    }

    func testRigLScheduleConstantCountAndZeroRegrowth() throws {
        let t = try maskedTrainer("rigl", density: 0.3, extra: "policy_options: {delta_t: 5, alpha: 0.3}", epochs: 3)
        let total = t.totalSteps
        let expected = keptCounts(t)
        var previousMasks = t.masking.layers.map(\.mask.array)
        var updates = 0
        try t.fit { e in
            guard case .step = e else { return true }
            let step = t.globalStep - 1
            let masks = t.masking.layers.map(\.mask.array)
            XCTAssertEqual(keptCounts(t), expected, "active count at step \(step)")
            if masks != previousMasks {
                updates += 1
                XCTAssertEqual(step % 5, 0, "masks change only on ΔT steps")
                XCTAssertLessThan(step, Int((0.75 * Double(total)).rounded()))
                for (l, old) in zip(t.masking.layers, previousMasks) {
                    let grown = (0..<l.count).filter { l.mask[$0] == 1 && old[$0] == 0 }
                    let dropped = (0..<l.count).filter { l.mask[$0] == 0 && old[$0] == 1 }
                    XCTAssertEqual(grown.count, dropped.count)
                    for i in grown { XCTAssertEqual(l.weight[i], 0, "regrown weight must start at zero (step \(step))") }
                    // Drop count follows the cosine schedule: round(f(t) · nnz).
                    let f = 0.3 / 2 * (1 + cos(Double.pi * Double(step) / (0.75 * Double(total)).rounded()))
                    XCTAssertLessThanOrEqual(dropped.count, Int((f * Double(expected[l.index])).rounded()))
                }
            }
            previousMasks = masks
            return true
        }
        // 3 epochs × 8 steps = 24 steps, T_end = 18, ΔT = 5: updates at steps 5, 10, 15.
        XCTAssertEqual(updates, 3)
    }

    func testRigLDropFractionFormula() {
        // f(t) = α/2 · (1 + cos(π t / T_end))
        let checks: [(Int, Double)] = [(0, 0.3), (50, 0.15), (100, 0.0), (25, 0.15 * (1 + cos(Double.pi / 4)))]
        for (t, f) in checks { XCTAssertEqual(RigLSchedule.dropFraction(alpha: 0.3, step: t, endStep: 100), f, accuracy: 1e-12) }
    }

    func testLotteryRewindRestoresInitialWeightsExactly() throws {
        let t = try maskedTrainer("lottery-one-shot", density: 0.2, extra: "policy_options: {prune_epoch: 1}", epochs: 2)
        let initial = t.masking.layers.map(\.weight.array)
        try t.trainEpoch()
        XCTAssertNotEqual(t.masking.layers.map(\.weight.array), initial, "the dense phase trains")
        XCTAssertEqual(keptCounts(t), t.masking.layers.map(\.count), "dense until the prune epoch")
        // Prune and rewind happen in the hook that runs before the first step of epoch 2.
        try t.masking.beforeForward(MaskStep(step: t.globalStep, epoch: 1, stepsPerEpoch: t.stepsPerEpoch,
                                             totalSteps: t.totalSteps, training: true))
        XCTAssertEqual(t.masking.layers.map(\.weight.array), initial, "rewind restores the initial weights bit for bit")
        XCTAssertEqual(keptCounts(t), t.masking.layers.map(\.keepCount))
        try t.trainEpoch()
        XCTAssertEqual(keptCounts(t), t.masking.layers.map(\.keepCount), "the mask stays fixed after pruning")
    }

    func testTargetedDropoutAndL1AnnealEvaluationCounts() throws {
        for policy in ["targeted-dropout", "l1-anneal"] {
            let t = try maskedTrainer(policy, density: 0.25, epochs: 3)
            try t.fit()
            try t.masking.beforeEvaluation()
            XCTAssertEqual(keptCounts(t), t.masking.layers.map(\.keepCount), policy)
        }
    }

    func testMaskExport() throws {
        let t = try maskedTrainer("dnw", density: 0.5, epochs: 1)
        try t.fit()
        let path = NSTemporaryDirectory() + "masks-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try t.masking.exportMasks(to: path)
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        XCTAssertEqual(obj["policy"] as? String, "dnw")
        let layers = obj["layers"] as! [String: [String: Any]]
        for l in t.masking.layers {
            let entry = layers[l.name]!
            XCTAssertEqual(entry["kept"] as? Int, l.keepCount)
            let bytes = Data(base64Encoded: entry["mask"] as! String)!
            XCTAssertEqual(bytes.count, l.count)
            XCTAssertEqual(bytes.reduce(0) { $0 + Int($1) }, l.keepCount)
        }
    }

    func testPoliciesLearnTheSyntheticTask() throws {
        for policy in ["dnw", "edge-popup", "rigl", "random-static", "lottery-one-shot", "targeted-dropout", "l1-anneal", "snfs", "set"] {
            // edge-popup only selects among frozen random weights: a wider net and more steps.
            let t = policy == "edge-popup"
                ? try maskedTrainer(policy, density: 0.5, extra: "optimizer: {lr: 0.2}", epochs: 10, model: "model: {name: mlp, hidden: [128, 128]}")
                : try maskedTrainer(policy, density: 0.5, epochs: 4)
            try t.fit()
            XCTAssertGreaterThan(try t.evaluate().accuracy, 0.7, policy)
        }
    }
}
