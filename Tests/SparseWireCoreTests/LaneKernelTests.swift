import CKernels
import Foundation
import XCTest
import SparseWireCore

/// A weight of `shape` ([rows, …] as a rows × cols matrix) with a structured pattern of non-zeros.
private func patterned(_ shape: [Int], _ pattern: String, _ rng: inout RNG) -> Tensor {
    let t = Tensor(shape: shape)
    let rows = shape[0], cols = t.count / rows
    for r in 0..<rows {
        switch pattern {
        case "2:4", "1:4", "2:8":
            let parts = pattern.split(separator: ":").map { Int($0)! }
            for g in stride(from: 0, to: cols, by: parts[1]) {
                var picked = Set<Int>()
                while picked.count < parts[0] { picked.insert(g + rng.int(below: parts[1])) }
                for c in picked { t[r * cols + c] = rng.normal() }
            }
        case "block 1x8":
            for g in stride(from: 0, to: cols, by: 8) where rng.uniform() < 0.25 { for c in g..<g + 8 { t[r * cols + c] = rng.normal() } }
        case "sparse":  // unstructured, about 8 % kept
            for c in 0..<cols where rng.uniform() < 0.08 { t[r * cols + c] = rng.normal() }
        default:  // unstructured, about a fifth kept
            for c in 0..<cols where rng.uniform() < 0.2 { t[r * cols + c] = rng.normal() }
        }
    }
    return t
}

private func random(_ shape: [Int], _ rng: inout RNG) -> Tensor {
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t[i] = rng.normal() }
    return t
}

private func assertClose(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    var worst: Float = 0
    for i in 0..<min(a.count, b.count) { worst = max(worst, abs(a[i] - b[i]) / max(1, abs(b[i]))) }
    XCTAssertLessThanOrEqual(worst, 1e-4, "\(what): largest relative difference \(worst)", file: file, line: line)
}

/// The lane kernels (structured masks, `Ops+SparseLanes.swift`) give the dense path's answer.
final class LaneKernelTests: XCTestCase {
    override func tearDown() { BLAS.setThreads(2) }

    func testLaneLinearMatchesDenseForEveryPatternBatchAndTile() throws {
        var rng = RNG(seed: 11)
        for threads in [1, 2] {
            BLAS.setThreads(threads)
            // fan-in 136 and 400 span two to five tiles (laneTileCols ≥ 96); batches cross the 64-lane blocks.
            for (n, fin, fout) in [(32, 16, 5), (64, 136, 33), (70, 400, 24), (130, 48, 9), (7, 24, 4)] {
                for pattern in ["2:4", "1:4", "2:8", "block 1x8", "unstructured"] {
                    for relu in [false, true] {
                        let x = random([n, fin], &rng), w = patterned([fout, fin], pattern, &rng), b = random([fout], &rng)
                        let ctx = Context(training: false)
                        var dense = try ctx.linear(Var(x), Var(w), Var(b))
                        if relu { dense = ctx.relu(dense) }
                        let sw = try SparseWeight(w)
                        sw.kernel = .lanes
                        let sparse = try ctx.sparseLinear(Var(x), sw, Var(b), relu: relu).value
                        assertClose(sparse, dense.value, "\(pattern) n \(n) \(fin)→\(fout) relu \(relu) threads \(threads)")
                    }
                }
            }
        }
    }

    func testLaneConvMatchesDenseForGeometriesAndChannelTiles() throws {
        var rng = RNG(seed: 12)
        // (n, c, h, w, o, k, stride, pad): 20 and 40 channels span several channel tiles; stride 2 runs CSR.
        let cases = [(2, 4, 8, 8, 6, 3, 1, 1), (3, 20, 8, 8, 5, 3, 1, 1), (1, 40, 9, 7, 3, 3, 1, 0), (2, 8, 6, 6, 4, 1, 1, 0),
                     (2, 4, 7, 9, 3, 5, 1, 2), (1, 16, 30, 30, 4, 3, 1, 1), (2, 8, 9, 9, 4, 3, 2, 1),
                     (2, 8, 14, 14, 4, 3, 1, 1)]  // 14 × 14: a 32-lane last block
        for threads in [1, 2] {
            BLAS.setThreads(threads)
            for (n, c, h, w, o, k, stride, pad) in cases {
                // 2:4 (0.5) reads kw aligned shifted copies of the planes; "sparse" (≤ 0.2) one copy.
                for pattern in ["2:4", "block 1x8", "unstructured", "sparse"]
                where (c * k * k) % 8 == 0 || pattern == "unstructured" || pattern == "sparse" {
                    let x = random([n, c, h, w], &rng), wt = patterned([o, c, k, k], pattern, &rng), b = random([o], &rng)
                    let ctx = Context(training: false)
                    let dense = ctx.relu(try ctx.conv2d(Var(x), Var(wt), Var(b), stride: stride, padding: pad)).value
                    let sw = try SparseWeight(wt)
                    sw.kernel = .lanes
                    if pattern == "sparse" { XCTAssertLessThanOrEqual(sw.density, 0.2) }
                    let sparse = try ctx.sparseConv2d(Var(x), sw, Var(b), stride: stride, padding: pad, relu: true).value
                    assertClose(sparse, dense, "\(pattern) conv \([n, c, h, w]) o \(o) k \(k) s \(stride) p \(pad) threads \(threads)")
                    // The packing is cached per geometry: a second input size must not reuse it.
                    let x2 = random([1, c, h + 2, w + 1], &rng)
                    let dense2 = try ctx.conv2d(Var(x2), Var(wt), Var(b), stride: stride, padding: pad).value
                    assertClose(try ctx.sparseConv2d(Var(x2), sw, Var(b), stride: stride, padding: pad).value, dense2, "\(pattern) second geometry")
                }
            }
        }
    }

    /// N:M and 1×8 blocks fill the chunks of 8 exactly; unstructured rows are padded with zeros.
    func testPackingPadsOnlyUnstructuredRows() throws {
        var rng = RNG(seed: 13)
        for (pattern, padded) in [("2:4", false), ("block 1x8", false), ("unstructured", true)] {
            let sw = try SparseWeight(patterned([16, 256], pattern, &rng))
            let pack = try sw.lanePacking(tileCols: 128, key: [128], compact: true) { $0 * 64 }
            XCTAssertEqual(pack.values.count, sw.nonZeros + pack.padding, pattern)
            XCTAssertEqual(pack.padding > 0, padded, "\(pattern): padding \(pack.padding)")
            XCTAssertEqual(pack.values.filter { $0 != 0 }.count, sw.nonZeros, pattern)
            XCTAssertEqual(pack.ptr.count, 2 * 16 + 1, pattern)
            // The compact form names the same inputs: base + delta · 64 for every entry.
            XCTAssertEqual(pack.bases.count, pack.values.count / 8, pattern)
            for c in 0..<pack.bases.count { for q in 0..<8 {
                XCTAssertEqual(pack.offsets[8 * c + q], pack.bases[c] + Int32((pack.deltas[c] >> (8 * UInt64(q))) & 255) * 64, "\(pattern) chunk \(c)")
            } }
        }
    }

    /// Tiles aligned to the structure's chunk span leave no padding in a 2:4 conv weight; the
    /// span follows the structure's name.
    func testTilesAlignedToTheStructureNeedNoPadding() throws {
        var rng = RNG(seed: 16)
        let sw = try SparseWeight(patterned([6, 32, 3, 3], "2:4", &rng))
        XCTAssertEqual(sw.chunkSpan, 1)
        sw.structure = "2:4"
        XCTAssertEqual(sw.chunkSpan, 16)
        XCTAssertEqual(try sw.lanePacking(tileCols: 16 * 9, key: [1]) { $0 }.padding, 0)
        XCTAssertGreaterThan(try sw.lanePacking(tileCols: 90, key: [2]) { $0 }.padding, 0)
        for (name, span) in [("1:4", 32), ("2:8", 32), ("4:8", 16), ("block 1x8", 8), ("block 4x4", 8), ("block 1x3", 24), ("channel", 1), ("fanin", 1)] {
            sw.structure = name
            XCTAssertEqual(sw.chunkSpan, span, name)
        }
    }

    /// The linear lane tile: about 25 kept weights per (tile, row), 96 ... 1024 columns, whole
    /// chunk spans, so structured rows still fill their chunks exactly.
    func testLinearTileFollowsTheDensityAndTheStructure() throws {
        var rng = RNG(seed: 17)
        for (pattern, fin, tile) in [("2:4", 1024, 96), ("1:4", 1024, 96), ("block 1x8", 1024, 96), ("unstructured", 1024, 128)] {
            let sw = try SparseWeight(patterned([40, fin], pattern, &rng))
            if pattern != "unstructured" { sw.structure = pattern }
            // patterned: 2:4 keeps 0.5, 1:4 0.25 (100 → 112 → 96 whole 32-column spans), block
            // 1x8 about 0.25, unstructured about 0.2.
            XCTAssertEqual(sw.laneTileCols % sw.chunkSpan, 0, pattern)
            XCTAssertGreaterThanOrEqual(sw.laneTileCols, tile, pattern)
            // The narrowest tile of at least 25 kept weights per row, up to the rounding.
            XCTAssertGreaterThanOrEqual(Double(sw.laneTileCols) * sw.density, 25 - Double(sw.chunkSpan) * sw.density, pattern)
            XCTAssertTrue(sw.laneTileCols <= 96 || Double(sw.laneTileCols - 16 - sw.chunkSpan) * sw.density < 25, pattern)
            if sw.structure != nil { XCTAssertEqual(try sw.lanePacking(tileCols: sw.laneTileCols, key: [3]) { $0 * 64 }.padding, 0, pattern) }
        }
        let few = Tensor(shape: [64, 4096])
        for r in 0..<64 { for k in 0..<10 { few[r * 4096 + k * 400 + r] = 1 } }
        let sparse = try SparseWeight(few)
        XCTAssertLessThan(sparse.density, 0.01)
        XCTAssertEqual(sparse.laneTileCols, 1024)
        // 512 columns at 96 wanted: 5 equal tiles, 103 → 112 columns.
        let dense = try SparseWeight(random([8, 512], &rng))
        XCTAssertEqual(dense.laneTileCols, 112)
        // 784 columns at about 0.1 (249 wanted): 3 tiles of 262 → 272, not 4 with a 16-column last one.
        let tenth = Tensor(shape: [10, 784])
        for r in 0..<10 { for c in stride(from: 0, to: 784, by: 10) { tenth[r * 784 + c] = 1 } }
        XCTAssertEqual(try SparseWeight(tenth).laneTileCols, 272)
    }

    func testPortableAndFastBuildsAgree() {
        var rng = RNG(seed: 14)
        let rows = 5, tiles = 2, chunks = 7
        // Chunks spread over the (tile, row) slots; offsets anywhere in a 200 × 64 source.
        var ptr: [Int32] = [0]
        for i in 0..<(rows * tiles) { ptr.append(ptr.last! + Int32(i % 3 == 0 ? 0 : min(1, chunks))) }
        let total = Int(ptr.last!)
        let offs = (0..<(total * 8)).map { _ in Int32(rng.int(below: 200 * 64 - 64)) }
        let vals = (0..<(total * 8)).map { _ in rng.normal() }
        let src = (0..<(200 * 64)).map { _ in rng.normal() }
        let bias = (0..<rows).map { _ in rng.normal() }
        for relu: Int32 in [0, 1] {
            var fast = [Float](repeating: 0, count: rows * 64), portable = fast
            var yFast = [Float](repeating: 0, count: 50 * rows), yPortable = yFast
            swk_lane_rows_variant(1, ptr, offs, vals, rows, tiles, 0, rows, src, &fast, 64, bias, relu, &yFast, rows, 50)
            swk_lane_rows_variant(0, ptr, offs, vals, rows, tiles, 0, rows, src, &portable, 64, bias, relu, &yPortable, rows, 50)
            for i in 0..<fast.count { XCTAssertEqual(fast[i], portable[i], accuracy: 1e-4 * max(1, abs(portable[i])), "lane \(i) relu \(relu)") }
            // The 32-lane build computes the first 32 lanes of the same rows.
            var half = [Float](repeating: 0, count: rows * 64)
            swk_lane_rows32_variant(1, ptr, offs, vals, rows, tiles, 0, rows, src, &half, 64, bias, relu)
            for r in 0..<rows { for l in 0..<32 { XCTAssertEqual(half[r * 64 + l], fast[r * 64 + l], accuracy: 1e-4 * max(1, abs(fast[r * 64 + l]))) } }
            XCTAssertTrue((0..<rows).allSatisfy { r in (32..<64).allSatisfy { half[r * 64 + $0] == 0 } }, "lanes past 32 untouched")
            // The transposed copy holds the first 50 lanes of every row.
            for r in 0..<rows { for l in 0..<50 {
                XCTAssertEqual(yFast[l * rows + r], fast[r * 64 + l]); XCTAssertEqual(yPortable[l * rows + r], portable[r * 64 + l])
            } }
        }
        for (r, c) in [(8, 8), (13, 21), (64, 3), (1, 1)] {
            let a = (0..<(r * c)).map { _ in rng.normal() }
            var t1 = [Float](repeating: 0, count: r * c), t0 = t1
            swk_transpose_variant(1, a, r, c, c, &t1, r)
            swk_transpose_variant(0, a, r, c, c, &t0, r)
            for i in 0..<r { for j in 0..<c { XCTAssertEqual(t1[j * r + i], a[i * c + j]); XCTAssertEqual(t0[j * r + i], a[i * c + j]) } }
        }
    }

    /// `auto` runs a structured layer on the lane kernels up to `structuredThreshold` (2:4 at 0.5),
    /// an unstructured one of the same density on the dense path.
    func testAutoPicksTheLaneKernelsForStructuredMasks() throws {
        var rng = RNG(seed: 15)
        let p = Parameter(name: "fc.weight", shape: [8, 16], role: .weight, maskable: true)
        for i in 0..<p.count { p.value[i] = rng.normal() }
        let mask = patterned([8, 16], "2:4", &rng)
        for i in 0..<mask.count { mask[i] = mask[i] != 0 ? 1 : 0 }
        p.mask = mask
        let ctx = Context(training: false)
        XCTAssertNil(try SparseInference(mode: .auto, threshold: 0.3).weight(for: p, ctx), "unstructured 0.5: dense")
        p.maskStructure = "2:4"
        let picked = try SparseInference(mode: .auto, threshold: 0.3).weight(for: p, ctx)
        XCTAssertEqual(picked?.kernel, .lanes)
        XCTAssertNil(try SparseInference(mode: .auto, threshold: 0.3, structuredThreshold: 0.4).weight(for: p, ctx))
        XCTAssertNil(try SparseInference(mode: .dense, threshold: 1).weight(for: p, ctx))
    }

    /// Unstructured masks: lanes for linear layers and convolutions with more than one tap, CSR
    /// for 1×1 convolutions.
    func testUnstructuredKernelFollowsTheLayerShape() throws {
        var rng = RNG(seed: 19)
        for (shape, kernel) in [([8, 16], SparseKernel.lanes), ([8, 4, 3, 3], .lanes), ([8, 4, 1, 3], .lanes), ([8, 16, 1, 1], .csr)] {
            let p = Parameter(name: "w", shape: shape, role: .weight, maskable: true)
            for i in 0..<p.count { p.value[i] = rng.normal() }
            let mask = Tensor(shape: shape)
            for i in 0..<mask.count { mask[i] = rng.uniform() < 0.1 ? 1 : 0 }
            p.mask = mask
            XCTAssertEqual(try SparseInference(mode: .sparse, threshold: 0.3).weight(for: p, Context(training: false))?.kernel, kernel, "\(shape)")
        }
    }

    func testForcedKernelIsCheckedAndHonoured() throws {
        defer { unsetenv("SPARSEWIRE_SPARSE_KERNEL") }
        setenv("SPARSEWIRE_SPARSE_KERNEL", "bsr", 1)
        XCTAssertThrowsError(try SparseInference(mode: .sparse, threshold: 0.3)) {
            XCTAssertTrue("\($0)".contains("SPARSEWIRE_SPARSE_KERNEL") && "\($0)".contains("bsr"), "\($0)")
        }
        setenv("SPARSEWIRE_SPARSE_KERNEL", "csr", 1)
        let p = Parameter(name: "w", shape: [4, 8], role: .weight, maskable: true)
        p.value.data.update(repeating: 1, count: p.count)
        p.mask = Tensor(shape: [4, 8], repeating: 1)
        p.maskStructure = "2:4"
        XCTAssertEqual(try SparseInference(mode: .sparse, threshold: 0.3).weight(for: p, Context(training: false))?.kernel, .csr)
        // The config key is range-checked when the run spec is decoded.
        XCTAssertThrowsError(try Trainer(config: try Config(yaml: "model: {name: mlp, hidden: [8]}\ninference: {structured_below: -0.1}"),
                                         train: try syntheticDataset(count: 32, seed: 1), test: try syntheticDataset(count: 16, seed: 2))) {
            XCTAssertTrue("\($0)".contains("inference.structured_below") && "\($0)".contains("-0.1"), "\($0)")
        }
    }

    /// Binding a policy records the structure on its layers; evaluation gives the same logits on
    /// the dense path and on the lane kernels (a 2:4 conv net and a block 1×8 MLP).
    func testStructuredModelsEvaluateAlikeOnEveryKernel() throws {
        for (model, structure, density) in [("{name: conv2, width: 0.25}", "{type: nm, n: 2, m: 4}", 0.5),
                                            ("{name: mlp, hidden: [64, 32]}", "{type: block, rows: 1, cols: 8}", 0.25)] {
            var logits: [Tensor] = []
            for kernels in ["dense", "sparse", "auto"] {
                let c = try Config(yaml: """
                model: \(model)
                policy: rigl
                density: \(density)
                batch_size: 40
                masking: {structure: \(structure), first_layer_dense: true}
                inference: {kernels: \(kernels)}
                """)
                let t = try Trainer(config: c, train: try syntheticDataset(count: 80, seed: 1), test: try syntheticDataset(count: 40, seed: 2))
                for _ in 0..<2 { _ = try t.nextStep() }
                let masked = t.network.parameters.filter { $0.mask != nil }
                XCTAssertFalse(masked.isEmpty)
                XCTAssertTrue(masked.allSatisfy { $0.maskStructure != nil }, "\(masked.map { $0.maskStructure ?? "nil" })")
                var rng = RNG(seed: 3)
                logits.append(try t.predict(random([40, 1, 4, 4], &rng)))
            }
            for l in logits.dropFirst() { assertClose(l, logits[0], "\(model) \(structure)") }
        }
    }
}
