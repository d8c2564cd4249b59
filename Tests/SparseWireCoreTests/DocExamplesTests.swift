import Foundation
import XCTest
import SparseWireCore

/// The code of the DocC articles (Sources/SparseWireCore/SparseWireCore.docc), run as written
/// but on synthetic data, so the documentation cannot drift from the API.
final class DocExamplesTests: XCTestCase {
    /// WritingAPolicyInSwift.md: the magnitude policy.
    final class Magnitude: MaskPolicy {
        var routing: GradientRouting { .maskedWeights }
        func updateMasks(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws {
            ctx.selectTopK(layers, order: .magnitude) { $0.weight }
        }
    }

    func testWritingAPolicyInSwift() throws {
        let name = "magnitude-doc-example"
        try PolicyRegistry.register(PolicyDescriptor(name: name, summary: "largest |w| per layer") { _ in Magnitude() })
        var config = Config()
        try config.set("model", "{name: mlp, hidden: [16]}")
        try config.set("policy", value: .string(name))
        try config.set("density", value: .double(0.2))
        let t = try Trainer(config: config, train: try syntheticDataset(count: 64, seed: 1), test: try syntheticDataset(count: 32, seed: 2))
        try t.step(images: t.train.images, labels: t.train.labels)
        for l in t.masking.layers {
            XCTAssertEqual(l.parameter.keptCount, l.keepCount, l.name)
            // The kept weights are the largest |w| of the layer.
            let w = l.weight.array, m = l.mask.array
            let smallestKept = zip(w, m).filter { $0.1 != 0 }.map { abs($0.0) }.min()!
            let largestDropped = zip(w, m).filter { $0.1 == 0 }.map { abs($0.0) }.max()!
            XCTAssertGreaterThanOrEqual(smallestKept, largestDropped, l.name)
        }
    }

    func testTrainingArticle() throws {
        var config = try Config(yaml: """
            model: {name: mlp, hidden: [32, 16]}
            policy: rigl
            density: 0.1
            epochs: 2
            """)
        try config.apply(assignment: "optimizer={lr: 0.05}")
        let spec = try RunSpec(config: config)
        XCTAssertEqual(spec.optimizer.lr, 0.05)
        let (train, test) = (try syntheticDataset(count: 256, seed: 3), try syntheticDataset(count: 64, seed: 4))
        let trainer = try Trainer(spec: spec, config: config, train: train, test: test)
        var epochs: [Int] = []
        try trainer.fit { event in
            if case let .epochEnd(m) = event { epochs.append(m.epoch) }
            return true
        }
        XCTAssertEqual(epochs, [1, 2])
        XCTAssertLessThan(trainer.keptCount, trainer.parameterCount)
        let lastAccuracy = trainer.history.last!.testAccuracy
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("doc-example-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try trainer.save(to: path)
        try trainer.load(from: path)

        var built = RunSpec()
        built.model.name = "conv4"
        built.masking = MaskingSpec(policy: "edge-popup", density: 0.5)
        built.runtime.threads = 2
        XCTAssertEqual(built.masking.policy, "edge-popup")

        let (loss, accuracy) = try trainer.evaluate()
        XCTAssertTrue(loss.isFinite && (0...1).contains(accuracy), "\(loss) \(accuracy)")
        XCTAssertEqual(accuracy, lastAccuracy, "the reloaded checkpoint evaluates as the last epoch did")
        let session = try trainer.inferenceSession()
        let logits = try session.predict(test.images)
        XCTAssertEqual(logits.shape, [64, 4])
    }
}
