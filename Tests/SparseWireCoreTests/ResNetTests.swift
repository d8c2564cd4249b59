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
        let (t, x, labels) = try randomBatchTrainer(cfg, batch: 16, seed: 2)
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

/// MobileNetV1: the 13 depthwise-separable blocks, the width multiplier, maskable pointwise convs.
final class MobileNetTests: XCTestCase {
    func testTheLayerPlanWidthAndMasks() throws {
        let input = InputSpec(channels: 1, height: 28, width: 28, classes: 10)
        let net = try Models.mobileNetV1(input: input, width: 0.25)
        let pw = net.parameters.filter { $0.name.hasSuffix(".pw.weight") }
        XCTAssertEqual(pw.count, 13)
        XCTAssertEqual(pw.first?.shape, [16, 8, 1, 1])   // 64 × 0.25 from 32 × 0.25
        XCTAssertEqual(pw.last?.shape, [256, 256, 1, 1])  // 1024 × 0.25
        XCTAssertEqual(net.parameters.filter { $0.maskable }.count, 14)  // 13 pointwise + fc
        XCTAssertEqual(try net.forward(Var(Tensor(shape: [2, 1, 28, 28], repeating: 0.1)), Context(training: false)).shape, [2, 10])
        let full = try Models.mobileNetV1(input: InputSpec(channels: 3, height: 32, width: 32, classes: 10))
        let est = try Models.estimate(ModelSpec(name: "mobilenetv1", norm: .affine), input: InputSpec(channels: 3, height: 32, width: 32, classes: 10))
        XCTAssertEqual(est.parameters, Double(full.parameterCount), accuracy: Double(full.parameterCount) * 0.01)
        XCTAssertEqual(full.parameterCount, 3_217_226)  // MobileNetV1 ×1.0 for 10 classes: 3.2M (the paper's 4.2M has 1000 classes)
        XCTAssertThrowsError(try Models.mobileNetV1(input: input, width: -1)) { XCTAssertTrue("\($0)".contains("model.width")) }
    }
}

/// Wide ResNets: WRN-d-k's layer plan (pre-activation blocks, 16k/32k/64k channels), the
/// estimate, clear errors, a masked training step, and the pre-activation arithmetic.
final class WideResNetTests: XCTestCase {
    let input = InputSpec(channels: 1, height: 28, width: 28, classes: 10)

    func testWRN22x2HasTheStagesOfThePaper() throws {
        let net = try Models.wideResNet(depth: 22, input: input, width: 2)
        let convs = net.parameters.filter { $0.shape.count == 4 }
        XCTAssertEqual(convs.count, 1 + 3 * 3 * 2 + 3)  // stem, 3 stages × 3 blocks × 2 convs, 3 projections (16 → 32 too)
        XCTAssertEqual(convs.first?.shape, [16, 1, 3, 3])
        XCTAssertEqual(convs.filter { $0.name.contains("shortcut") }.map(\.shape), [[32, 16, 1, 1], [64, 32, 1, 1], [128, 64, 1, 1]])
        XCTAssertEqual(convs.last { !$0.name.contains("shortcut") }?.shape, [128, 128, 3, 3])
        XCTAssertEqual(net.parameters.last?.shape, [10])
        XCTAssertEqual(try net.forward(Var(Tensor(shape: [2, 1, 28, 28], repeating: 0.5)), Context(training: false)).shape, [2, 10])
        for (depth, width) in [(22, 2.0), (28, 2.0), (16, 4.0)] {
            let built = try Models.wideResNet(depth: depth, input: InputSpec(channels: 3, height: 32, width: 32, classes: 10), width: width)
            let est = try Models.estimate(ModelSpec(name: "wrn", width: width, depth: depth, norm: .affine),
                                          input: InputSpec(channels: 3, height: 32, width: 32, classes: 10))
            XCTAssertEqual(est.parameters, Double(built.parameterCount), accuracy: 1, "WRN-\(depth)-\(width)")
        }
        // CIFAR-10: WRN-28-2 has 1.47 M parameters; WRN-28-10 the paper's 36.5 M (estimated, not built).
        let cifar = InputSpec(channels: 3, height: 32, width: 32, classes: 10)
        XCTAssertEqual(try Models.wideResNet(depth: 28, input: cifar).parameterCount, 1_467_610)
        XCTAssertEqual(try Models.estimate(ModelSpec(name: "wrn", width: 10, depth: 28, norm: .affine), input: cifar).parameters, 36_479_194)
        XCTAssertThrowsError(try Models.wideResNet(depth: 20, input: input)) { XCTAssertTrue("\($0)".contains("model.depth for wrn must be 6n + 4"), "\($0)") }
        XCTAssertThrowsError(try Models.wideResNet(depth: 22, input: input, width: 0)) { XCTAssertTrue("\($0)".contains("model.width"), "\($0)") }
    }

    func testAPreActivationBlockAddsTheIdentityWithoutAFinalReLU() throws {
        // pre = ReLU only, body = a 1×1 conv of weight −1: y = −ReLU(x) + x = min(x, 0), which a
        // post-activation block (ReLU after the sum) would clamp to 0.
        let conv = Conv2d(name: "c", inChannels: 1, outChannels: 1, kernel: 1, bias: false)
        conv.weight.value.fill(-1)
        let block = Residual(pre: Sequential([Lambda.relu]), body: Sequential([conv]), shortcut: nil)
        let x = Tensor(shape: [1, 1, 1, 4])
        for (i, v) in [-2, -0.5, 0.5, 3].enumerated() { x[i] = Float(v) }
        let y = try block.forward(Var(x), Context(training: false)).value
        XCTAssertEqual((0..<4).map { y[$0] }, [-2, -0.5, 0, 0])
    }

    /// Finite differences through both residual forms: post-activation with a projection
    /// (ResNet) and pre-activation with the identity and with a projection (WRN). Without norms:
    /// batch norm is checked on its own, and a norm scale moves hundreds of units across the
    /// ReLU kinks at once, which finite differences cannot follow.
    func testResidualBlockGradients() throws {
        let spec = InputSpec(channels: 2, height: 8, width: 8, classes: 3)
        let wrn = (try Models.wideResNet(depth: 10, input: spec, width: 0.5, norm: .none).body as! Sequential).layers.compactMap { $0 as? Residual }
        let res = (try Models.resNet(depth: 20, input: spec, width: 0.25, norm: .none).body as! Sequential).layers.compactMap { $0 as? Residual }
        // WRN: stage 1's block (pre-activation, 16 → 8 channels: projection), stage 2's (stride 2);
        // ResNet-20: an identity block and stage 2's first (projection, stride 2).
        let blocks = [wrn[0], wrn[1], res[0], res[3]]
        XCTAssertEqual(blocks.map { $0.pre != nil }, [true, true, false, false])
        XCTAssertEqual(blocks.map { $0.shortcut != nil }, [true, true, false, true])
        let identityPre = try Models.wideResNet(depth: 16, input: spec, width: 0.5, norm: .none)
        let idBlock = (identityPre.body as! Sequential).layers.compactMap { $0 as? Residual }[1]  // stage 1, second block: identity
        XCTAssertNil(idBlock.shortcut)
        var seed: UInt64 = 40
        for (i, b) in (blocks + [idBlock]).enumerated() {
            for p in b.parameters {
                seed += 1; let t = awayFromZero(p.shape, seed: seed)
                for j in 0..<p.count { p.value[j] = p.role == .normWeight ? 1 + 0.2 * t[j] : p.role == .normBias ? 0.1 * t[j] : 0.6 * t[j] }
            }
            let cin = b.parameters.first { $0.shape.count == 4 }!.shape[1]
            try moduleGradCheck(b, input: awayFromZero([8, cin, 8, 8], seed: seed + 100), h: 1e-3, label: "residual \(i)")
        }
    }

    func testATrainingStepMasksEveryConvAndTheConfigKeys() throws {
        let cfg = try Config(yaml: "model: {name: wrn, depth: 10, width: 1, norm: affine}\npolicy: set\ndensity: 0.3\nbatch_size: 8\n")
        let (t, x, labels) = try randomBatchTrainer(cfg, batch: 8, seed: 4)
        XCTAssertEqual(t.masking.layers.count, 1 + 3 * 2 + 2 + 1)  // stem, 3 blocks × 2, 2 projections (width 1: 16 → 16 needs none), fc
        let first = try t.step(images: x, labels: labels).loss
        var last = first
        for _ in 0..<10 { last = try t.step(images: x, labels: labels).loss }
        XCTAssertLessThan(last, first)
        XCTAssertThrowsError(try RunSpec(config: Config(yaml: "model: {name: conv4, depth: 28}\n"))) {
            XCTAssertTrue("\($0)".contains("model.depth (28) does not apply to model 'conv4': only wrn read it"), "\($0)")
        }
    }
}
