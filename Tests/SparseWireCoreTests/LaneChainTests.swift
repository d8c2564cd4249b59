import Foundation
import XCTest
import SparseWireCore

/// Consecutive lane linear layers run as one chain (`Context.laneLinearChain`, chosen by
/// `Sequential`) and give the layer-by-layer bits.
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
        ctx.chainsLaneLayers = chained
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
