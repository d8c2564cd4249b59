import Foundation
import XCTest
import SparseWireCore

final class NaNTests: XCTestCase {
    func poisoned(count: Int, badIndex: Int) throws -> Dataset {
        let d = try syntheticDataset(count: count, seed: 1)
        var feats = [Float](repeating: 0, count: d.images.count)
        for i in 0..<feats.count { feats[i] = d.images[i] }
        feats[badIndex * 16 + 3] = .nan
        return try feats.withUnsafeBufferPointer { f in try d.labels.withUnsafeBufferPointer {
            try Dataset(name: "poisoned", features: f.baseAddress!, shape: [count, 1, 4, 4], labels: $0.baseAddress!, classes: 4) } }
    }

    func testNaNInTheDataStopsWithTheStep() throws {
        var c = try Config(yaml: "model: {name: mlp, hidden: [8]}\nbatch_size: 32\nepochs: 1\ndata: {normalize: false}")
        try c.apply(assignment: "seed=0")
        let t = try Trainer(config: c, train: try poisoned(count: 128, badIndex: 70), test: try syntheticDataset(count: 64, seed: 2))
        XCTAssertThrowsError(try t.fit()) { e in
            let s = "\(e)"
            // ReLU maps the NaN pixel to 0 in the forward pass; its gradient is not finite
            XCTAssertTrue(s.contains("numeric error: non-finite gradient in fc1.weight at step 2 (epoch 1)"), s)
            XCTAssertTrue(s.contains("on_nan: skip"), s)
        }
    }

    func testDivergingWeightsNameTheParameter() throws {
        let c = try Config(yaml: "model: {name: mlp, hidden: [8]}\nbatch_size: 32\nepochs: 3\noptimizer: {lr: 1e30, momentum: 0}")
        let t = try Trainer(config: c, train: try syntheticDataset(count: 128, seed: 1), test: try syntheticDataset(count: 64, seed: 2))
        XCTAssertThrowsError(try t.fit()) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("numeric error"), s)
            XCTAssertTrue(s.contains("at step"), s)
            XCTAssertTrue(s.contains("largest |value|") || s.contains("non-finite gradient in") || s.contains("holds non-finite values"), s)
            XCTAssertTrue(s.contains(".weight") || s.contains(".bias"), s)
        }
    }

    func testSkipLeavesAFiniteModel() throws {
        let c = try Config(yaml: "model: {name: mlp, hidden: [8]}\nbatch_size: 32\nepochs: 2\non_nan: skip\ndata: {normalize: false}\noptimizer: {lr: 0.1}")
        let t = try Trainer(config: c, train: try poisoned(count: 128, badIndex: 70), test: try syntheticDataset(count: 64, seed: 2))
        try t.fit()
        XCTAssertEqual(t.skippedSteps, 2, "the poisoned batch, once per epoch")
        XCTAssertEqual(t.globalStep, 8)
        for p in t.network.parameters { for i in 0..<p.count { XCTAssertTrue(p.value[i].isFinite, p.name) } }
        XCTAssertGreaterThan(try t.evaluate().accuracy, 0.5)
    }
}
