import Foundation
import XCTest
import SparseWireCore

/// A stop request mid-epoch, a checkpoint, and a fresh trainer that loads it: the run ends
/// bit-identical to one that was never stopped.
final class PreemptionTests: XCTestCase {
    /// `kernels`: training.kernels (sparse: the sparse training path, rebuilt from the checkpoint).
    func makeTrainer(kernels: String = "auto", optimizer: String = "{name: sgd, lr: 0.1, momentum: 0.9}") throws -> Trainer {
        try Trainer(config: Config(yaml: "model: {hidden: [16]}\npolicy: rigl\ndensity: 0.3\npolicy_options: {delta_t: 3}\nbatch_size: 16\nepochs: 3\nthreads: 1\ntraining: {kernels: \(kernels)}\noptimizer: \(optimizer)"),
                    train: try syntheticDataset(count: 160, seed: 5), test: try syntheticDataset(count: 48, seed: 6))
    }

    func testStopMidEpochSaveAndResumeIsBitIdentical() throws {
        try stopSaveAndResume(kernels: "auto")
    }

    func testSparseTrainingResumesBitIdentical() throws {
        try stopSaveAndResume(kernels: "sparse")
    }

    /// Adam's moments are compact at the kept entries between RigL's updates: a checkpoint
    /// written mid-run holds them written back, and the resumed run continues with the same bits.
    func testSparseTrainingWithAdamResumesBitIdentical() throws {
        try stopSaveAndResume(kernels: "sparse", optimizer: "{name: adam, lr: 0.003, weight_decay: 0.0001}")
    }

    private func stopSaveAndResume(kernels: String, optimizer: String = "{name: sgd, lr: 0.1, momentum: 0.9}") throws {
        let makeTrainer = { try self.makeTrainer(kernels: kernels, optimizer: optimizer) }
        let straight = try makeTrainer()
        try straight.fit()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("preempt-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        for stopAt in [1, 7, 10, 23] {   // steps into the run: mid-epoch, last step of epoch 1, mid-epoch 3
            let first = try makeTrainer()
            var seen = 0
            XCTAssertThrowsError(try first.fit { event in
                if case .step = event { seen += 1; if seen == stopAt { first.requestStop() } }
                return true
            }) { e in
                guard let p = e as? TrainingPreempted else { return XCTFail("\(e)") }
                XCTAssertEqual(p.epoch, (stopAt - 1) / 10 + 1)
                XCTAssertEqual(p.stepsDone, (stopAt - 1) % 10 + 1)
            }
            XCTAssertEqual(first.globalStep, stopAt)
            XCTAssertNotNil(first.openEpoch)
            try first.save(to: path)

            let resumed = try makeTrainer()
            try resumed.load(from: path)
            XCTAssertEqual(resumed.openEpoch, first.openEpoch)
            try resumed.fit()
            XCTAssertEqual(resumed.globalStep, straight.globalStep)
            XCTAssertEqual(resumed.history.last?.trainLoss, straight.history.last?.trainLoss, "stopped at step \(stopAt)")
            XCTAssertEqual(resumed.history.last?.testLoss, straight.history.last?.testLoss, "stopped at step \(stopAt)")
            for (a, b) in zip(resumed.network.parameters, straight.network.parameters) {
                XCTAssertEqual(a.value.array, b.value.array, "\(a.name), stopped at step \(stopAt)")
                XCTAssertEqual(a.mask?.array, b.mask?.array, "\(a.name) mask, stopped at step \(stopAt)")
            }
        }
    }

    func testARequestFromAnotherThreadStopsAfterAWholeStep() throws {
        nonisolated(unsafe) let t = try makeTrainer()
        let started = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var firstStep = true
        let stopper = Thread {
            started.wait()
            t.requestStop()
        }
        stopper.start()
        XCTAssertThrowsError(try t.fit { _ in
            if firstStep { firstStep = false; started.signal(); Thread.sleep(forTimeInterval: 0.05) }
            return true
        }) { XCTAssertTrue($0 is TrainingPreempted, "\($0)") }
        XCTAssertGreaterThanOrEqual(t.globalStep, 1)
        XCTAssertEqual(t.openEpoch?.steps, t.globalStep)
    }
}
