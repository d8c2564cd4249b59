import XCTest
import SparseWireCore

/// `masking.structure`: N:M, block, channel and constant fan-in masks — exact counts and the
/// structure's invariants after every step, for every policy that honours it; clear errors.
final class MaskStructureTests: XCTestCase {
    /// The invariant of `structure` on a 0/1 mask of `shape` keeping `keep` weights; nil when it holds.
    func violation(_ s: MaskStructure, _ m: Tensor, keep: Int) -> String? {
        let (rows, cols) = MaskStructure.matrix(m.shape)
        let ones = (0..<m.count).filter { m[$0] == 1 }.count
        guard (0..<m.count).allSatisfy({ m[$0] == 0 || m[$0] == 1 }) else { return "not 0/1" }
        guard ones == keep else { return "keeps \(ones), expected \(keep)" }
        switch s {
        case .unstructured: return nil
        case let .nm(n, mm):
            for g in stride(from: 0, to: m.count, by: mm) where (g..<(g + mm)).filter({ m[$0] == 1 }).count != n {
                return "group at \(g) keeps \((g..<(g + mm)).filter { m[$0] == 1 }.count) of \(mm), expected \(n)"
            }
        case let .block(r, c):
            for r0 in stride(from: 0, to: rows, by: r) {
                for c0 in stride(from: 0, to: cols, by: c) {
                    let v = (r0..<(r0 + r)).flatMap { i in (c0..<(c0 + c)).map { m[i * cols + $0] } }
                    if Set(v).count != 1 { return "tile at (\(r0), \(c0)) is partly kept" }
                }
            }
        case .channel:
            for i in 0..<rows where Set((0..<cols).map { m[i * cols + $0] }).count != 1 { return "row \(i) is partly kept" }
        case .fanin:
            let k = keep / rows
            for i in 0..<rows where (0..<cols).filter({ m[i * cols + $0] == 1 }).count != k { return "row \(i) does not keep \(k)" }
        }
        return nil
    }

    /// The library's own check (which plugins that claim the structure are held to) agrees with
    /// this file's oracle: valid selections pass, and moving one kept weight breaks each structure.
    func testTheLibraryCheckAgreesWithTheOracle() {
        var rng = RNG(seed: 11)
        let shape = [8, 16]
        let v = Tensor(shape: shape)
        for i in 0..<v.count { v[i] = rng.normal() }
        let cases: [(MaskStructure, Int)] = [(.nm(n: 2, m: 4), 64), (.block(rows: 2, cols: 4), 32), (.channel, 32), (.fanin, 32)]
        for (s, keep) in cases {
            let m = Tensor(shape: shape)
            s.select(v.data, shape: shape, keep: keep, into: m.data, order: .magnitude)
            XCTAssertNil(s.violation(of: m.data, shape: shape, keep: keep), "\(s)")
            XCTAssertNil(violation(s, m, keep: keep), "\(s)")
            // Move one kept weight of row 0 to a dropped place in the last row: same count, broken structure.
            let from = (0..<16).first { m[$0] == 1 }!, to = (112..<128).first { m[$0] == 0 }!
            m[from] = 0; m[to] = 1
            XCTAssertNotNil(s.violation(of: m.data, shape: shape, keep: keep), "\(s)")
            XCTAssertNotNil(violation(s, m, keep: keep), "\(s)")
        }
        let m = Tensor(shape: shape)
        XCTAssertNil(MaskStructure.unstructured.violation(of: m.data, shape: shape, keep: 7))
    }

    func testSelectionKeepsTheStructureAndTheLargest() {
        var rng = RNG(seed: 3)
        let shape = [8, 4, 2, 2]  // a conv: 8 filters, fan-in 16
        let v = Tensor(shape: shape)
        for i in 0..<v.count { v[i] = rng.normal() }
        let cases: [(MaskStructure, Double, Int)] = [(.nm(n: 2, m: 4), 0.5, 64), (.nm(n: 1, m: 8), 0.125, 16),
                                                    (.block(rows: 2, cols: 4), 0.25, 32), (.channel, 0.25, 32),
                                                    (.fanin, 0.25, 32), (.unstructured, 0.1, 13)]
        for (s, density, keep) in cases {
            XCTAssertEqual(s.keepCount(shape: shape, density: density), keep, "\(s)")
            let m = Tensor(shape: shape)
            s.select(v.data, shape: shape, keep: keep, into: m.data, order: .magnitude)
            XCTAssertNil(violation(s, m, keep: keep), "\(s)")
        }
        // N:M keeps the n largest |v| of each group
        let m = Tensor(shape: shape)
        MaskStructure.nm(n: 2, m: 4).select(v.data, shape: shape, keep: 64, into: m.data, order: .magnitude)
        for g in stride(from: 0, to: v.count, by: 4) {
            let kept = (g..<(g + 4)).filter { m[$0] == 1 }.map { Swift.abs(v[$0]) }
            let dropped = (g..<(g + 4)).filter { m[$0] == 0 }.map { Swift.abs(v[$0]) }
            XCTAssertGreaterThanOrEqual(kept.min()!, dropped.max()!, "group \(g)")
        }
        // channel keeps the filters of largest norm
        let c = Tensor(shape: shape)
        MaskStructure.channel.select(v.data, shape: shape, keep: 32, into: c.data, order: .magnitude)
        let norms = (0..<8).map { i in (0..<16).reduce(Float(0)) { $0 + v[i * 16 + $1] * v[i * 16 + $1] } }
        let keptRows = (0..<8).filter { c[$0 * 16] == 1 }
        XCTAssertEqual(Set(keptRows), Set(norms.enumerated().sorted { $0.element > $1.element }.prefix(2).map(\.offset)))
    }

    func testEveryHonouringPolicyKeepsTheStructureAfterEveryStep() throws {
        let structures: [(String, MaskStructure, Double)] = [
            ("{type: nm, n: 2, m: 4}", .nm(n: 2, m: 4), 0.5), ("{type: block, rows: 2, cols: 4}", .block(rows: 2, cols: 4), 0.25),
            ("{type: channel}", .channel, 0.5), ("{type: fanin}", .fanin, 0.25)]
        for (yaml, structure, density) in structures {
            for policy in ["dnw", "dnw-no-update", "edge-popup", "random-static", "lottery-one-shot"] {
                let extra = "masking: {structure: \(yaml)}" + (policy == "lottery-one-shot" ? "\npolicy_options: {prune_epoch: 0}" : "")
                let t = try maskedTrainer(policy, density: density, extra: extra)
                var steps = 0
                try t.fit { e in
                    if case .step = e {
                        steps += 1
                        for l in t.masking.layers {
                            XCTAssertEqual(l.structure, structure)
                            if let v = self.violation(structure, l.mask, keep: l.keepCount) { XCTFail("\(policy) \(structure) \(l.name) step \(steps): \(v)") }
                        }
                    }
                    return true
                }
                XCTAssertGreaterThan(steps, 10)
            }
            // targeted-dropout: the evaluation mask (its top-k) keeps the structure
            let t = try maskedTrainer("targeted-dropout", density: density, extra: "masking: {structure: \(yaml)}")
            try t.fit()
            try t.masking.core.evaluationMasks()
            for l in t.masking.layers { XCTAssertNil(violation(structure, l.mask, keep: l.keepCount), "targeted-dropout \(structure) \(l.name)") }
        }
    }

    /// rigl / set / snfs drop and regrow inside the structure: N:M groups keep n, rows keep
    /// their fan-in, whole tiles and channels move; counts exact after every step.
    func testRegrowthPoliciesRewireInsideTheStructure() throws {
        let structures: [(String, MaskStructure, Double)] = [
            ("{type: nm, n: 2, m: 4}", .nm(n: 2, m: 4), 0.5), ("{type: fanin}", .fanin, 0.25),
            ("{type: block, rows: 2, cols: 4}", .block(rows: 2, cols: 4), 0.25), ("{type: channel}", .channel, 0.5)]
        for (yaml, structure, density) in structures {
            for policy in ["rigl", "set", "snfs"] {
                let t = try maskedTrainer(policy, density: density,
                                          extra: "masking: {structure: \(yaml), distribution: uniform}\npolicy_options: {delta_t: 3, alpha: 0.5}")
                let before = t.masking.layers.map { $0.mask.copy() }
                var steps = 0
                try t.fit { e in
                    if case .step = e {
                        steps += 1
                        for l in t.masking.layers {
                            if let v = self.violation(structure, l.mask, keep: l.keepCount) { XCTFail("\(policy) \(structure) \(l.name) step \(steps): \(v)") }
                        }
                    }
                    return true
                }
                let changed = zip(before, t.masking.layers).contains { b, l in (0..<l.count).contains { b[$0] != l.mask[$0] } }
                XCTAssertTrue(changed, "\(policy) \(structure): the topology never changed")
            }
        }
    }

    /// Under N:M every layer is at n/m, whatever allocation the policy prefers (rigl: ERK).
    func testNMLayersReportTheirTrueDensityUnderERK() throws {
        let t = try maskedTrainer("rigl", density: 0.5, extra: "masking: {structure: {type: nm}}")
        for l in t.masking.layers {
            XCTAssertEqual(l.density, 0.5, accuracy: 1e-12, l.name)
            XCTAssertEqual(l.keepCount, l.count / 2, l.name)
        }
    }

    func testStructuresSurviveACheckpointResume() throws {
        let extra = "masking: {structure: {type: nm, n: 1, m: 4}}"
        let a = try maskedTrainer("dnw", density: 0.25, extra: extra, epochs: 2)
        try a.fit(until: 1)
        let path = NSTemporaryDirectory() + "sw-structure-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try a.save(to: path)
        let b = try maskedTrainer("dnw", density: 0.25, extra: extra, epochs: 2)
        try b.load(from: path)
        try b.fit()
        for l in b.masking.layers { XCTAssertNil(violation(.nm(n: 1, m: 4), l.mask, keep: l.keepCount), l.name) }
    }

    func testInvalidStructuresAreRefusedNamingTheProblem() {
        func refused(_ policy: String, _ density: Double, _ extra: String, _ needle: String,
                     model: String = "model: {name: mlp, hidden: [32, 16]}", line: UInt = #line) {
            XCTAssertThrowsError(try maskedTrainer(policy, density: density, extra: extra, model: model), line: line) { e in
                XCTAssertTrue("\(e)".contains(needle), "\(e)", line: line)
            }
        }
        refused("l1-anneal", 0.5, "masking: {structure: {type: nm}}", "policy 'l1-anneal' cannot honour masking.structure 2:4")
        refused("supermask", 0.5, "masking: {structure: {type: channel}}", "policy 'supermask' cannot honour")
        refused("dnw", 0.3, "masking: {structure: {type: nm, n: 2, m: 4}}", "set density: 0.5")
        refused("dnw", 0.5, "masking: {structure: {type: nm, n: 5, m: 4}}", "masking.structure.n must be in 1…m (4), got 5")
        refused("dnw", 0.5, "masking: {structure: {type: nm, n: 4, m: 8}}", "m = 8 does not divide the fan-in",
                model: "model: {name: mlp, hidden: [12, 16]}")
        refused("dnw", 0.5, "masking: {structure: {type: block, rows: 64, cols: 4}}", "larger than layer 'fc1.weight'")
        refused("dnw", 0.5, "masking: {structure: {type: block, rows: 3, cols: 4}}", "does not tile layer 'fc1.weight'")
        refused("dnw", 0.5, "masking: {structure: {type: nm}, scope: global}", "masking.scope must be layer")
        refused("dnw", 0.5, "masking: {structure: {type: diagonal}}", "diagonal")
    }
}
