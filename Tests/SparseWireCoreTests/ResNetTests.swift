import XCTest
import SparseWireCore

/// CIFAR-style ResNets: the layer plan of the papers, clear errors, and a training step whose
/// masks cover every conv and the classifier.
final class ResNetTests: XCTestCase {
    let input = InputSpec(channels: 1, height: 28, width: 28, classes: 10)

    func testResNet20HasNineteenConvsTwoProjectionsAndTheCIFARWidths() throws {
        let net = try Models.resNet(depth: 20, input: input)
        let convs = net.parameters.filter { $0.shape.count == 4 }
        XCTAssertEqual(convs.count, 19 + 2)  // stem + 9 blocks × 2, and one projection per stage change
        XCTAssertEqual(convs.filter { $0.name.contains("shortcut") }.map(\.shape), [[32, 16, 1, 1], [64, 32, 1, 1]])
        XCTAssertEqual(convs.first?.shape, [16, 1, 3, 3])
        XCTAssertEqual(net.parameters.last?.shape, [10])  // fc bias
        let x = Var(Tensor(shape: [2, 1, 28, 28], repeating: 0.5))
        XCTAssertEqual(try net.forward(x, Context(training: false)).shape, [2, 10])
        // Estimate and build agree on the parameter count within the norms' few floats per channel.
        let est = try Models.estimate(ModelSpec(name: "resnet20", norm: .affine), input: input)
        XCTAssertEqual(est.parameters, Double(net.parameterCount), accuracy: Double(net.parameterCount) * 0.02)
    }

    func testResNet18AndWidthScaling() throws {
        let net = try Models.resNet(depth: 18, input: input, width: 0.25)
        let convs = net.parameters.filter { $0.shape.count == 4 }
        XCTAssertEqual(convs.count, 17 + 3)
        XCTAssertEqual(convs.last { !$0.name.contains("shortcut") }?.shape, [128, 128, 3, 3])  // 512 × 0.25
        XCTAssertThrowsError(try Models.resNet(depth: 21, input: input)) { XCTAssertTrue("\($0)".contains("18, 20, 32")) }
        XCTAssertThrowsError(try Models.resNet(depth: 20, input: input, width: 0)) { XCTAssertTrue("\($0)".contains("model.width")) }
    }

    func testATrainingStepMasksEveryConvAndLowersTheLoss() throws {
        var cfg = Config()
        try cfg.set("model.name", value: .string("resnet20"))
        try cfg.set("model.width", value: .double(0.25))
        try cfg.set("model.norm", value: .string("affine"))
        try cfg.set("policy", value: .string("rigl"))
        try cfg.set("density", value: .double(0.3))
        try cfg.set("batch_size", value: .int(16))
        var rng = RNG(seed: 2)
        let x = Tensor(shape: [16, 1, 28, 28])
        for i in 0..<x.count { x[i] = rng.normal() }
        let labels = (0..<16).map { Int32($0 % 10) }
        let data = try x.data.withMemoryRebound(to: Float.self, capacity: x.count) { p in
            try labels.withUnsafeBufferPointer { try Dataset(name: "random", features: p, shape: x.shape, labels: $0.baseAddress!, classes: 10) }
        }
        let t = try Trainer(config: cfg, train: data, test: data)
        XCTAssertEqual(t.masking.layers.count, 22)  // 21 convs + fc
        let first = try t.step(images: x, labels: labels).loss
        var last = first
        for _ in 0..<15 { last = try t.step(images: x, labels: labels).loss }
        XCTAssertLessThan(last, first)
        XCTAssertThrowsError(try RunSpec(config: { var c = cfg; try? c.set("model.hidden", value: .list([.int(10)])); return c }())) {
            XCTAssertTrue("\($0)".contains("model.hidden"), "\($0)")
        }
    }
}
