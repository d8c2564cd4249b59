import CKernels
import Foundation
import XCTest
import SparseWireCore

/// Fusions of layers on the lane kernels, chosen by `Sequential`: consecutive linear layers as
/// one chain (`Context.laneLinearChain`) and conv → ReLU → 2×2 max pooling in one pass
/// (`Context.sparseConv2dReLUPool`) give the layer-by-layer bits.
final class LaneChainTests: XCTestCase {
    override func tearDown() { BLAS.setThreads(2) }

    /// A masked linear layer: a normal weight, a mask keeping `pattern` ("2:4", "block 1x8" or
    /// "unstructured" at about 0.1), the structure recorded as the engine would.
    private func maskedLinear(_ name: String, _ fin: Int, _ fout: Int, _ pattern: String, _ rng: inout RNG) -> Linear {
        let l = Linear(name: name, inFeatures: fin, outFeatures: fout)
        for i in 0..<l.weight.count { l.weight.value[i] = rng.normal() * 0.3 }
        for i in 0..<fout { l.bias!.value[i] = rng.normal() * 0.1 }
        let mask = Tensor(shape: [fout, fin])
        for r in 0..<fout {
            switch pattern {
            case "2:4":
                for g in stride(from: 0, to: fin, by: 4) {
                    let a = rng.int(below: 4), b = (a + 1 + rng.int(below: 3)) % 4
                    mask[r * fin + g + a] = 1
                    mask[r * fin + g + b] = 1
                }
            case "block 1x8":
                for g in stride(from: 0, to: fin, by: 8) where rng.uniform() < 0.2 { for c in g..<g + 8 { mask[r * fin + c] = 1 } }
            default:
                for c in 0..<fin where rng.uniform() < 0.1 { mask[r * fin + c] = 1 }
            }
        }
        l.weight.mask = mask
        l.weight.maskStructure = pattern == "unstructured" ? nil : pattern
        return l
    }

    private func run(_ net: Sequential, _ x: Tensor, mode: SparseInference.Mode, chained: Bool) throws -> Tensor {
        let ctx = Context(training: false)
        ctx.sparseInference = try SparseInference(mode: mode, threshold: 0.3)
        ctx.fusesLaneLayers = chained
        return try net.forward(Var(x), ctx).value
    }

    func testChainGivesTheLayerByLayerBitsForEveryPatternBatchAndThreads() throws {
        var rng = RNG(seed: 21)
        for pattern in ["2:4", "block 1x8", "unstructured"] {
            // relu, relu, none (linear → linear), relu, last: fan-ins 200 and 96 cross several tiles.
            let net = Sequential([maskedLinear("a", 200, 96, pattern, &rng), Lambda.relu, maskedLinear("b", 96, 48, pattern, &rng), Lambda.relu,
                                  maskedLinear("c", 48, 40, pattern, &rng), maskedLinear("d", 40, 24, pattern, &rng), Lambda.relu,
                                  maskedLinear("e", 24, 8, pattern, &rng)])
            for threads in [1, 2] {
                BLAS.setThreads(threads)
                // 3 blocks (the last 2 samples), 2 full ones, 1 block (2 threads: layer by layer), CSR below 32.
                for n in [130, 128, 64, 40, 31] {
                    let x = Tensor(shape: [n, 200])
                    for i in 0..<x.count { x[i] = rng.normal() }
                    let chained = try run(net, x, mode: .sparse, chained: true)
                    let single = try run(net, x, mode: .sparse, chained: false)
                    let dense = try run(net, x, mode: .dense, chained: true)
                    XCTAssertEqual(chained.shape, [n, 8])
                    let differ = (0..<chained.count).filter { chained[$0].bitPattern != single[$0].bitPattern }
                    XCTAssertEqual(differ.count, 0, "\(pattern) n \(n) threads \(threads): first at \(differ.first ?? -1)")
                    var worst: Float = 0
                    for i in 0..<dense.count { worst = max(worst, abs(chained[i] - dense[i]) / max(1, abs(dense[i]))) }
                    XCTAssertLessThanOrEqual(worst, 1e-4, "\(pattern) n \(n) threads \(threads) against the dense path")
                }
            }
        }
    }

    /// A masked conv layer as `maskedLinear`, patterns over its [out, in·k·k] rows.
    private func maskedConv(_ name: String, _ c: Int, _ o: Int, _ pattern: String, _ rng: inout RNG) -> Conv2d {
        let l = Conv2d(name: name, inChannels: c, outChannels: o, kernel: 3, padding: 1)
        let lin = maskedLinear(name, c * 9, o, pattern, &rng)
        l.weight.value.data.update(from: lin.weight.value.data, count: l.weight.count)
        l.bias!.value.data.update(from: lin.bias!.value.data, count: o)
        l.weight.mask = Tensor(shape: [o, c, 3, 3])
        l.weight.mask!.data.update(from: lin.weight.mask!.data, count: l.weight.count)
        l.weight.maskStructure = lin.weight.maskStructure
        return l
    }

    func testConvReLUPoolGivesTheUnfusedBits() throws {
        var rng = RNG(seed: 23)
        defer { unsetenv("SPARSEWIRE_SPARSE_KERNEL") }
        for pattern in ["2:4", "block 1x8", "sparse", "csr"] {
            // 16 → 8 channels (2:4: 144 columns; block 1x8: 18 blocks), then 8 → 8. "sparse" (about
            // 0.1, unstructured, the lanes forced) reads one copy of the planes; "csr" (the same
            // masks on their default kernel) does not fuse and runs layer by layer.
            if pattern == "sparse" { setenv("SPARSEWIRE_SPARSE_KERNEL", "lanes", 1) } else { unsetenv("SPARSEWIRE_SPARSE_KERNEL") }
            let mask = pattern == "sparse" || pattern == "csr" ? "unstructured" : pattern
            let a = maskedConv("a", 16, 8, mask, &rng), b = maskedConv("b", 8, 8, mask, &rng)
            let net = Sequential([a, Lambda.relu, Lambda.maxPool(2), b, Lambda.relu, Lambda.maxPool(2)])
            for threads in [1, 2] {
                BLAS.setThreads(threads)
                // 11 × 11: odd sizes pool by floor (5 × 5, then 2 × 2); 1 sample splits the rows.
                for (n, h) in [(3, 11), (1, 17), (2, 4)] {
                    let x = Tensor(shape: [n, 16, h, h])
                    for i in 0..<x.count { x[i] = rng.normal() }
                    let fused = try run(net, x, mode: .sparse, chained: true)
                    let single = try run(net, x, mode: .sparse, chained: false)
                    let dense = try run(net, x, mode: .dense, chained: true)
                    XCTAssertEqual(fused.shape, [n, 8, h / 4, h / 4])
                    let differ = (0..<fused.count).filter { fused[$0].bitPattern != single[$0].bitPattern }
                    XCTAssertEqual(differ.count, 0, "\(pattern) n \(n) h \(h) threads \(threads): first at \(differ.first ?? -1)")
                    var worst: Float = 0
                    for i in 0..<dense.count { worst = max(worst, abs(fused[i] - dense[i]) / max(1, abs(dense[i]))) }
                    XCTAssertLessThanOrEqual(worst, 1e-4, "\(pattern) n \(n) h \(h) threads \(threads) against the dense path")
                }
            }
        }
    }

    /// The pooling kernel over a padded grid in both builds against the definition, odd sizes
    /// included (the 8-wide body and the scalar tail).
    func testGridMaxPoolMatchesTheDefinitionInBothBuilds() {
        var rng = RNG(seed: 24)
        for (h, w) in [(2, 2), (5, 7), (6, 16), (7, 23), (4, 34)] { for fast: Int32 in [0, 1] {
            let planes = 3, ldr = w + 5, lds = h * ldr + 3
            var src = [Float](repeating: 0, count: planes * lds)
            for i in src.indices { src[i] = max(0, rng.normal()) }
            var out = [Float](repeating: -1, count: planes * (h / 2) * (w / 2))
            swk_maxpool2x2_grid_variant(fast, src, lds, ldr, planes, h, w, &out)
            var want = out
            for p in 0..<planes { for y in 0..<(h / 2) { for x in 0..<(w / 2) {
                let at = p * lds + 2 * y * ldr + 2 * x
                want[(p * (h / 2) + y) * (w / 2) + x] = max(src[at], src[at + 1], src[at + ldr], src[at + ldr + 1])
            } } }
            XCTAssertEqual(out, want, "\(h)×\(w) fast \(fast)")
        } }
    }

    func testChainRejectsShapesThatDoNotChain() throws {
        var rng = RNG(seed: 22)
        let a = maskedLinear("a", 32, 16, "2:4", &rng), b = maskedLinear("b", 24, 8, "2:4", &rng)
        let ctx = Context(training: false)
        ctx.sparseInference = try SparseInference(mode: .sparse, threshold: 0.3)
        let stages = try [a, b].map { try XCTUnwrap($0.laneStage(ctx)) }
        XCTAssertThrowsError(try ctx.laneLinearChain(Var(Tensor(shape: [64, 32])), stages)) {
            XCTAssertTrue("\($0)".contains("[16, 32]") && "\($0)".contains("[8, 24]"), "\($0)")
        }
        XCTAssertThrowsError(try ctx.laneLinearChain(Var(Tensor(shape: [64, 30])), stages)) {
            XCTAssertTrue("\($0)".contains("[64, 30]"), "\($0)")
        }
        // Sequential does not chain them: each layer runs alone and the second one's shape error surfaces.
        XCTAssertThrowsError(try Sequential([a, b]).forward(Var(Tensor(shape: [64, 32])), ctx))
    }
}
