import Foundation
import XCTest
import SparseWireCore

/// A synthetic 4-class problem: class = quadrant of two informative features plus noise.
func syntheticDataset(count: Int, seed: UInt64) throws -> Dataset {
    var rng = RNG(seed: seed)
    var feats = [Float](), labels = [Int32]()
    for _ in 0..<count {
        let a = rng.uniform(-1, 1), b = rng.uniform(-1, 1)
        labels.append(Int32((a > 0 ? 1 : 0) + (b > 0 ? 2 : 0)))
        var row = [a * 3, b * 3]
        for _ in 0..<14 { row.append(rng.normal() * 0.3) }
        feats += row
    }
    return try feats.withUnsafeBufferPointer { f in try labels.withUnsafeBufferPointer {
        try Dataset(name: "synthetic", features: f.baseAddress!, shape: [count, 1, 4, 4], labels: $0.baseAddress!, classes: 4) } }
}

final class TrainingTests: XCTestCase {
    func trainer(_ yaml: String, seed: Int = 0) throws -> Trainer {
        var c = try Config(yaml: yaml)
        try c.apply(assignment: "seed=\(seed)")
        return try Trainer(config: c, train: try syntheticDataset(count: 512, seed: 1), test: try syntheticDataset(count: 256, seed: 2))
    }

    func lossCurve(_ t: Trainer) throws -> [Double] {
        var losses: [Double] = []
        try t.fit { e in
            if case let .step(_, _, _, loss, _, _) = e { losses.append(loss) }
            return true
        }
        return losses
    }

    func testMLPLearnsSyntheticTask() throws {
        let t = try trainer("model: {name: mlp, hidden: [32]}\noptimizer: {lr: 0.1}\nepochs: 5\nbatch_size: 32")
        let before = try t.evaluate().accuracy
        try t.fit()
        let after = try t.evaluate().accuracy
        XCTAssertLessThan(before, 0.6)
        XCTAssertGreaterThan(after, 0.9, "accuracy after training \(after)")
        XCTAssertEqual(t.history.count, 5)
        XCTAssertLessThan(t.history.last!.trainLoss, t.history.first!.trainLoss)
    }

    func testSameSeedSameLossCurveDifferentSeedDifferent() throws {
        let yaml = "model: {name: mlp, hidden: [16], norm: affine}\noptimizer: {lr: 0.05, nesterov: true}\nepochs: 2\nbatch_size: 64"
        let a = try lossCurve(trainer(yaml, seed: 3))
        let b = try lossCurve(trainer(yaml, seed: 3))
        let c = try lossCurve(trainer(yaml, seed: 4))
        XCTAssertEqual(a, b, "same seed and threads must give a bit-identical loss curve")
        XCTAssertNotEqual(a, c)
    }

    func testConvNetDeterministicAndTrains() throws {
        let yaml = "model: {name: conv2, width: 0.125}\noptimizer: {name: adam, lr: 0.003}\nepochs: 2\nbatch_size: 64\nschedule: {name: constant}"
        let a = try trainer(yaml, seed: 1)
        let la = try lossCurve(a)
        let lb = try lossCurve(trainer(yaml, seed: 1))
        XCTAssertEqual(la, lb)
        XCTAssertGreaterThan(try a.evaluate().accuracy, 0.7)
    }

    func testObserverCanStop() throws {
        let t = try trainer("model: {name: mlp, hidden: [8]}\nepochs: 3\nbatch_size: 64")
        var steps = 0
        try t.fit { e in
            if case .step = e { steps += 1 }
            return steps < 3
        }
        XCTAssertEqual(steps, 3)
        XCTAssertEqual(t.globalStep, 3)
    }

    func testTrainerRejectsBadSettings() throws {
        XCTAssertThrowsError(try trainer("batch_size: 0")) { XCTAssertTrue("\($0)".contains("batch_size")) }
        XCTAssertThrowsError(try trainer("optimizer: {lr: -1}")) { XCTAssertTrue("\($0)".contains("lr")) }
        XCTAssertThrowsError(try trainer("optimizer: {name: adam, betas: [0.9]}")) { XCTAssertTrue("\($0)".contains("betas")) }
        XCTAssertThrowsError(try trainer("model: {name: mlp, hidden: [0]}")) { XCTAssertTrue("\($0)".contains("hidden")) }
        XCTAssertThrowsError(try trainer("loss: {label_smoothing: 1.5}")) { XCTAssertTrue("\($0)".contains("label_smoothing")) }
    }

    func testNaNLossStopsWithClearError() throws {
        let t = try trainer("model: {name: mlp, hidden: [8]}\noptimizer: {lr: 1.0e+30, momentum: 0}\nepochs: 1\nbatch_size: 16\nschedule: {name: constant}")
        XCTAssertThrowsError(try t.fit()) { e in
            XCTAssertEqual((e as? SparseWireError)?.kind, .numeric, "\(e)")
            XCTAssertTrue("\(e)".contains("step"), "\(e)")
        }
    }

    func testPredictShapeAndValidation() throws {
        let t = try trainer("model: {name: mlp, hidden: [8]}")
        let logits = try t.predict(Tensor(shape: [3, 1, 4, 4]))
        XCTAssertEqual(logits.shape, [3, 4])
        XCTAssertThrowsError(try t.predict(Tensor(shape: [3, 16])))
    }
}

final class OptimizerTests: XCTestCase {
    func param(_ values: [Float], grad: [Float]) throws -> Parameter {
        let p = Parameter(name: "w", shape: [values.count], role: .weight, maskable: true)
        for (i, v) in values.enumerated() { p.value[i] = v }
        p.variable.accumulate(try Tensor(shape: [grad.count], values: grad))
        return p
    }

    func testSGDMomentumNesterovWeightDecayMatchPyTorchFormulas() throws {
        let p = try param([1, -2], grad: [0.5, 0.25])
        let opt = try SGD([p], momentum: 0.9, nesterov: true, weightDecay: 0.1)
        opt.step(lr: 0.1)
        // d = g + 0.1 w = [0.6, 0.05]; b = d; w -= lr (d + 0.9 b) = lr * 1.9 d
        XCTAssertEqual(p.value[0], 1 - 0.1 * 1.9 * 0.6, accuracy: 1e-6)
        XCTAssertEqual(p.value[1], -2 - 0.1 * 1.9 * 0.05, accuracy: 1e-6)
        let w0 = p.value[0]
        opt.step(lr: 0.1)  // same grad: d = 0.5 + 0.1 w0; b = 0.9·0.6 + d
        let d = 0.5 + 0.1 * w0, b = 0.9 * 0.6 + d
        XCTAssertEqual(p.value[0], w0 - 0.1 * (d + 0.9 * b), accuracy: 1e-6)
        opt.resetState(of: p, indices: [0])
        XCTAssertEqual(opt.momentumBuffer(of: p)?[0], 0)
    }

    func testAdamFirstStepIsLRTimesSign() throws {
        let p = try param([1, 1], grad: [3, -0.001])
        let opt = try Adam([p])
        opt.step(lr: 0.01)
        XCTAssertEqual(p.value[0], 0.99, accuracy: 1e-5)
        XCTAssertEqual(p.value[1], 1.01, accuracy: 1e-4)
    }

    func testFrozenParametersDoNotMove() throws {
        let p = try param([1, 2], grad: [1, 1])
        p.trainable = false
        try SGD([p], momentum: 0.9).step(lr: 1)
        XCTAssertEqual(p.value.array, [1, 2])
    }

    func testSchedules() {
        let cos = LRSchedule(kind: .cosine, base: 1)
        XCTAssertEqual(cos.lr(step: 0, stepsPerEpoch: 10, totalSteps: 100), 1, accuracy: 1e-12)
        XCTAssertEqual(cos.lr(step: 50, stepsPerEpoch: 10, totalSteps: 100), 0.5, accuracy: 1e-12)
        XCTAssertEqual(cos.lr(step: 100, stepsPerEpoch: 10, totalSteps: 100), 0, accuracy: 1e-12)
        let warm = LRSchedule(kind: .constant, base: 1, warmupEpochs: 1)
        XCTAssertEqual(warm.lr(step: 4, stepsPerEpoch: 10, totalSteps: 100), 0.5, accuracy: 1e-12)
        XCTAssertEqual(warm.lr(step: 10, stepsPerEpoch: 10, totalSteps: 100), 1)
        let step = LRSchedule(kind: .step(stepSize: 2, gamma: 0.1), base: 1)
        XCTAssertEqual(step.lr(step: 39, stepsPerEpoch: 10, totalSteps: 100), 0.1, accuracy: 1e-12)
        let ms = LRSchedule(kind: .multistep(milestones: [1, 3], gamma: 0.5), base: 1)
        XCTAssertEqual(ms.lr(step: 5, stepsPerEpoch: 10, totalSteps: 100), 1)
        XCTAssertEqual(ms.lr(step: 35, stepsPerEpoch: 10, totalSteps: 100), 0.25)
    }

    func testInitializerStatistics() {
        var rng = RNG(seed: 5)
        let p = Parameter(name: "w", shape: [200, 100, 3, 3], role: .weight, maskable: true)  // fan_in 900
        Initializer.kaimingNormal().fill(p, rng: &rng)
        let v = p.value.array
        let mean = v.reduce(0, +) / Float(v.count)
        let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(v.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 2e-3)
        XCTAssertEqual(std, (2 / Float(900)).squareRoot(), accuracy: 1e-3)
        Initializer.signedConstant().fill(p, rng: &rng)
        let c = (2 / Float(900)).squareRoot()
        XCTAssertTrue(p.value.array.allSatisfy { abs(abs($0) - c) < 1e-7 })
        let pos = p.value.array.filter { $0 > 0 }.count
        XCTAssertEqual(Double(pos) / Double(p.count), 0.5, accuracy: 0.01)
        Initializer.kaimingUniform(mode: .fanOut).fill(p, rng: &rng, fanScale: 0.5)  // fan_out 1800·0.5
        let bound = Float(2).squareRoot() * (3 / Float(900)).squareRoot()
        XCTAssertLessThanOrEqual(p.value.array.map(abs).max()!, bound)
        XCTAssertGreaterThan(p.value.array.map(abs).max()!, bound * 0.99)
        XCTAssertThrowsError(try Initializer.named("he_normal")) { XCTAssertTrue("\($0)".contains("he_normal")) }
    }

    func testLeNetAndConvParameterCounts() throws {
        let spec = InputSpec(channels: 1, height: 28, width: 28, classes: 10)
        XCTAssertEqual(Models.mlp(input: spec, hidden: [300, 100]).parameterCount, 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10)
        let conv4 = try Models.convNet(depth: 4, input: spec)
        // 3·3·(1·64 + 64·64 + 64·128 + 128·128) + 128·7·7·256 + 256·256 + 256·10
        XCTAssertEqual(conv4.parameterCount, 9 * (64 + 4096 + 8192 + 16384) + 6272 * 256 + 65536 + 2560)
    }
}
