import Foundation
import XCTest
import SparseWireCore

/// The typed run spec: decoded once from a config, every key reaching its typed field, range
/// errors naming the key, whole mappings assignable everywhere, docs/CONFIG.md equal to the schema.
final class RunSpecTests: XCTestCase {
    func testEveryKeyReachesItsTypedField() throws {
        let c = try Config(yaml: """
        model: {name: conv4, width: 0.5, bias: true, norm: affine, init: signed_constant, init_mode: fan_out}
        data: {dataset: mnist, path: /tmp/x, normalize: false, train_limit: 100, test_limit: 50}
        optimizer: {name: adam, lr: 0.01, betas: [0.8, 0.9], eps: 1.0e-6, weight_decay: 0.001}
        schedule: {name: step, step_size: 2, gamma: 0.5, warmup_epochs: 1}
        loss: {label_smoothing: 0.1}
        epochs: 4
        batch_size: 64
        eval_batch_size: 500
        seed: 9
        threads: 2
        on_nan: skip
        policy: rigl
        density: 0.2
        policy_options: {delta_t: 50}
        masking: {scope: global, distribution: uniform, first_layer_dense: true, last_layer_dense: true, save: m.json}
        inference: {kernels: sparse, sparse_below: 0.4}
        log: {metrics: m.jsonl, every: 7}
        """)
        let s = try RunSpec(config: c)
        XCTAssertEqual(s.model.name, "conv4"); XCTAssertEqual(s.model.width, 0.5); XCTAssertEqual(s.model.bias, true)
        XCTAssertEqual(s.model.norm, .affine); XCTAssertEqual(s.model.initializer, .signedConstant(mode: .fanOut))
        let r = try ModelSpec(config: Config(yaml: """
            model: {name: randwire, channels: 24, stages: 3, head: 128, edge_drop: 0.2}
            graph: {model: er, n: 16, p: 0.3, seed: 5}
            """)).randWire
        XCTAssertEqual(r.generator, .er(n: 16, p: 0.3)); XCTAssertEqual(r.seed, 5)
        XCTAssertEqual(r.channels, 24); XCTAssertEqual(r.stages, 3); XCTAssertEqual(r.head, 128); XCTAssertEqual(r.edgeDrop, 0.2)
        let d = try ModelSpec(config: Config(yaml: "model: {name: dnw, setting: discrete, blocks: [8, 16], steps: 3, readout: 12}")).dnw
        XCTAssertEqual(d.setting, .discrete); XCTAssertEqual(d.blocks, [8, 16]); XCTAssertEqual(d.steps, 3); XCTAssertEqual(d.readout, 12)
        XCTAssertEqual(s.data, DataSpec(dataset: "mnist", path: "/tmp/x", normalize: false, trainLimit: 100, testLimit: 50))
        XCTAssertEqual(s.optimizer, OptimizerSpec(kind: .adam, lr: 0.01, momentum: 0.9, weightDecay: 0.001, beta1: 0.8, beta2: 0.9, eps: 1e-6))
        XCTAssertEqual(s.schedule, LRSchedule(kind: .step(stepSize: 2, gamma: 0.5), base: 0.01, warmupEpochs: 1))
        XCTAssertEqual(s.training, TrainingSpec(epochs: 4, batchSize: 64, evalBatchSize: 500, seed: 9, onNaN: .skip, labelSmoothing: 0.1))
        XCTAssertEqual(s.masking, MaskingSpec(policy: "rigl", options: ["delta_t": .int(50)], density: 0.2, scope: .global,
                                              distribution: .uniform, firstLayerDense: true, lastLayerDense: true))
        XCTAssertEqual(s.inference, InferenceSpec(kernels: .sparse, sparseBelow: 0.4))
        XCTAssertEqual(s.runtime, RuntimeSpec(threads: 2))
        XCTAssertEqual(s.log, LogSpec(metrics: "m.jsonl", every: 7, masks: "m.json"))
    }

    func testRangeErrorsNameTheKeyWhenDecoded() throws {
        let cases: [(String, String)] = [
            ("batch_size: 0", "batch_size"), ("epochs: -1", "epochs"), ("eval_batch_size: 0", "eval_batch_size"),
            ("loss: {label_smoothing: 1}", "loss.label_smoothing"), ("threads: -2", "threads"),
            ("optimizer: {lr: 0}", "optimizer.lr"), ("optimizer: {name: adam, betas: [0.9]}", "optimizer.betas"),
            ("schedule: {warmup_epochs: -1}", "schedule.warmup_epochs"), ("schedule: {name: step, step_size: 0}", "schedule.step_size"),
            ("inference: {sparse_below: -0.1}", "inference.sparse_below"), ("policy: rigl\ndensity: 1.5", "density"),
            ("policy: dnw\npolicy_options: {nope: 1}", "nope"),
        ]
        for (yaml, key) in cases {
            XCTAssertThrowsError(try RunSpec(config: Config(yaml: yaml)), yaml) { XCTAssertTrue("\($0)".contains(key), "\(yaml): \($0)") }
        }
    }

    /// `--set`, `sw_engine_set` and Python keywords all reach `Config.set(_:_:)` with text.
    func testWholeMappingsCanBeAssignedLikeDottedKeys() throws {
        var c = Config()
        try c.apply(assignment: "policy_options={ema_decay: 0.5, grow: gradient}")
        XCTAssertEqual(c.policyOptions, ["ema_decay": .double(0.5), "grow": .string("gradient")])
        try c.apply(assignment: "optimizer={lr: 0.5, momentum: 0.8}")
        XCTAssertEqual(c.double("optimizer.lr"), 0.5)
        XCTAssertEqual(c.double("optimizer.momentum"), 0.8)
        XCTAssertEqual(c.string("optimizer.name"), "sgd", "keys the mapping does not name keep their values")
        try c.set("model", #"{"name": "conv4", "width": 0.25}"#)
        XCTAssertEqual(c.string("model.name"), "conv4")
        XCTAssertEqual(c.double("model.width"), 0.25)
        // A mapping nested inside a mapping, and a document that sets both forms, agree.
        try c.set("masking", "{scope: global}")
        XCTAssertEqual(c.string("masking.scope"), "global")
        // Errors name the offending key, never suggest the key itself.
        XCTAssertThrowsError(try c.apply(assignment: "optimizer={lrr: 1}")) { e in
            XCTAssertTrue("\(e)".contains("optimizer.lrr") && "\(e)".contains("did you mean 'optimizer.lr'"), "\(e)")
        }
        XCTAssertThrowsError(try c.apply(assignment: "policy_options=3")) { e in
            XCTAssertTrue("\(e)".contains("policy_options") && "\(e)".contains("mapping"), "\(e)")
            XCTAssertFalse("\(e)".contains("did you mean 'policy_options'"), "\(e)")
        }
        XCTAssertThrowsError(try c.apply(assignment: "model={hidden: many}")) { XCTAssertTrue("\($0)".contains("model.hidden"), "\($0)") }
    }

    func testSwitchingPolicyIsOnePathAndValidated() throws {
        let c = try Config(yaml: "policy: dnw\ndensity: 0.3\npolicy_options: {}")
        let next = try c.switchingPolicy(to: "rigl", options: ["delta_t": .int(10)], density: 0.1)
        XCTAssertEqual(next.string("policy"), "rigl")
        XCTAssertEqual(next.policyOptions, ["delta_t": .int(10)])
        XCTAssertEqual(next.double("density"), 0.1)
        XCTAssertThrowsError(try c.switchingPolicy(to: "rigl", options: ["zzz": .int(1)], density: nil)) { XCTAssertTrue("\($0)".contains("zzz")) }
        let spec = try MaskingSpec(config: c).switching(to: "rigl", options: [:], density: nil)
        XCTAssertEqual(spec.policy, "rigl"); XCTAssertEqual(spec.density, 0.3)
    }

    /// docs/CONFIG.md's key table is the schema's, so the two cannot drift apart.
    func testConfigDocumentationMatchesTheSchema() throws {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/CONFIG.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        let begin = "<!-- BEGIN GENERATED: sparsewire keys --markdown -->\n", end = "<!-- END GENERATED -->"
        guard let a = text.range(of: begin), let b = text.range(of: end, range: a.upperBound..<text.endIndex) else {
            return XCTFail("docs/CONFIG.md lacks the generated-table markers")
        }
        XCTAssertEqual(String(text[a.upperBound..<b.lowerBound]), ConfigSchema.markdownTable(),
                       "docs/CONFIG.md is out of date: replace its table with `.build/release/sparsewire keys --markdown`")
        for k in ConfigSchema.keys { XCTAssertTrue(ConfigSchema.markdownTable().contains("| `\(k.path)` |"), k.path) }
    }
}
