import Foundation
import XCTest
import SparseWireCore

/// Sizes are estimated before anything is allocated: absurd networks, batches, layers are
/// refused with an error naming the key and the estimate, never an allocation abort.
final class PreflightTests: XCTestCase {
    let train = try! syntheticDataset(count: 64, seed: 1), test = try! syntheticDataset(count: 16, seed: 2)
    let fmnist = InputSpec(channels: 1, height: 28, width: 28, classes: 10)

    func refuse(_ yaml: String, naming needles: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Trainer(config: Config(yaml: yaml), train: train, test: test), yaml, file: file, line: line) { e in
            let text = "\(e)"
            for n in needles + ["runtime.max_memory"] { XCTAssertTrue(text.contains(n), "\(yaml): \(text) lacks \(n)", file: file, line: line) }
        }
    }

    func testAbsurdSizesAreRefusedByName() {
        refuse("model: {hidden: [100000000, 10]}", naming: ["model.hidden [100000000, 10]", "needs about", "GiB"])
        refuse("model: {name: conv2, width: 3000}", naming: ["model.width 3000"])
        refuse("model: {name: randwire}\ngraph: {model: ws, n: 10000000, k: 4}", naming: ["graph.n 10000000"])
        refuse("model: {name: dnw, setting: discrete, blocks: [32, 100000000]}", naming: ["model.blocks"])
        // Activations dominate: the batch size is named.
        XCTAssertThrowsError(try Models.estimate(ModelSpec(name: "conv4"), input: fmnist).check(batchSize: 100_000_000, limit: MemoryBudget.defaultLimit)) {
            XCTAssertTrue("\($0)".contains("model.width 1.0 at batch_size 100000000"), "\($0)")
        }
    }

    func testABatchLargerThanTheTrainingSetIsTheWholeSet() throws {
        let t = try Trainer(config: Config(yaml: "model: {hidden: [8]}\nbatch_size: 100000000"), train: train, test: test)
        XCTAssertEqual(t.batchSize, 64)
        XCTAssertEqual(t.stepsPerEpoch, 1)
    }

    func testKeysAModelDoesNotReadAreRefused() throws {
        for (yaml, needle) in [("model: {name: mlp, width: 100000}", "model.width (100000.0) does not apply to model 'mlp': only conv2, conv4, conv6, conv8, resnet18, resnet20, resnet32, resnet44, resnet56, resnet110, mobilenetv1, wrn, mobilenetv1-dnw read it"),
                               ("model: {name: conv4, hidden: [10]}", "model.hidden ([10]) does not apply to model 'conv4'"),
                               ("model: {name: mlp}\ngraph: {n: 64}", "graph.n (64) does not apply to model 'mlp': only randwire read it"),
                               ("model: {name: randwire, blocks: [8, 8]}", "model.blocks ([8, 8]) does not apply to model 'randwire'")] {
            XCTAssertThrowsError(try RunSpec(config: Config(yaml: yaml)), yaml) { XCTAssertTrue("\($0)".contains(needle), "\($0)") }
        }
        // Defaults, as a checkpoint's resolved config holds them, are fine.
        XCTAssertNoThrow(try RunSpec(config: Config(yaml: "model: {name: mlp, width: 1.0, channels: 32}\ngraph: {n: 32}")))
    }

    func testTheLimitIsConfigurable() throws {
        XCTAssertNoThrow(try Trainer(config: Config(yaml: "model: {hidden: [64]}"), train: train, test: test))
        refuse("model: {hidden: [64]}\nruntime: {max_memory: 0.00001}", naming: ["model.hidden [64]", "10.5 KiB"])
        XCTAssertThrowsError(try RunSpec(config: Config(yaml: "runtime: {max_memory: -1}"))) { XCTAssertTrue("\($0)".contains("runtime.max_memory")) }
    }

    /// The estimate counts what the builders build: parameters at most 20 % above the real count.
    func testEstimatesMatchTheBuiltNetworks() throws {
        let specs: [String] = [
            "model: {name: mlp, hidden: [300, 100]}", "model: {name: conv4}", "model: {name: conv2, width: 0.5, norm: affine}",
            "model: {name: randwire}", "model: {name: randwire, channels: 16, stages: 3}\ngraph: {model: ba, n: 16, m: 3}",
            "model: {name: dnw}", "model: {name: dnw, setting: continuous, blocks: [8, 16, 16], readout: 8}",
        ]
        for yaml in specs {
            let spec = try ModelSpec(config: Config(yaml: yaml))
            let estimate = try Models.estimate(spec, input: fmnist)
            let built = Double(try Models.build(spec, input: fmnist).parameterCount)
            XCTAssertGreaterThanOrEqual(estimate.parameters, built, yaml)
            XCTAssertLessThanOrEqual(estimate.parameters, built * 1.2 + 1000, yaml)
            XCTAssertGreaterThan(estimate.activationsPerExample, Double(fmnist.features), yaml)
        }
    }

    func testMaskOnlyLayersAreChecked() throws {
        let m = try StandaloneMasking(spec: MaskingSpec(policy: "dnw", density: 0.5), seed: 0)
        XCTAssertNoThrow(try m.addLayer(name: "small", shape: [64, 64]))
        XCTAssertThrowsError(try m.addLayer(name: "huge", shape: [100_000, 100_000, 100])) { e in
            XCTAssertTrue("\(e)".contains("layer 'huge' of shape [100000, 100000, 100]") && "\(e)".contains("TiB"), "\(e)")
        }
    }

    func testBytesAreFormattedInBinaryUnits() {
        XCTAssertEqual(MemoryBudget.format(512), "512 bytes")
        XCTAssertEqual(MemoryBudget.format(1536), "1.5 KiB")
        XCTAssertEqual(MemoryBudget.format(3 * 1_073_741_824), "3.0 GiB")
        XCTAssertEqual(MemoryBudget.format(.infinity), "an unbounded amount")
    }
}
