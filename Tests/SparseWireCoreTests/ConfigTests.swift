import XCTest
import SparseWireCore

final class ConfigTests: XCTestCase {
    func testParseDefaultsAndTypes() throws {
        let c = try Config(yaml: """
        model: {name: conv4, width: 0.5}
        optimizer:
          lr: 1          # an int where a number is expected is fine
        epochs: 3
        policy_options: {foo: 2}
        """)
        XCTAssertEqual(c.string("model.name"), "conv4")
        XCTAssertEqual(c.double("model.width"), 0.5)
        XCTAssertEqual(c.double("optimizer.lr"), 1)
        XCTAssertEqual(c.int("epochs"), 3)
        XCTAssertEqual(c.int("batch_size"), 128, "default")
        XCTAssertEqual(c.policyOptions["foo"], .int(2))
    }

    func testJSONIsAccepted() throws {
        let c = try Config(yaml: #"{"model": {"name": "mlp", "hidden": [64]}, "seed": 7}"#)
        XCTAssertEqual(c.intList("model.hidden"), [64])
        XCTAssertEqual(c.int("seed"), 7)
    }

    func testOverrides() throws {
        var c = try Config(yaml: "optimizer: {lr: 0.1}\nmodel: {hidden: [300, 100]}")
        try c.apply(assignment: "optimizer.lr=0.05")
        try c.apply(assignment: "model.hidden=[10, 20, 30]")
        try c.apply(assignment: "optimizer.nesterov=true")
        try c.apply(assignment: "policy_options.alpha=0.3")
        XCTAssertEqual(c.double("optimizer.lr"), 0.05)
        XCTAssertEqual(c.intList("model.hidden"), [10, 20, 30])
        XCTAssertEqual(c.bool("optimizer.nesterov"), true)
        XCTAssertEqual(c.policyOptions["alpha"], .double(0.3))
    }

    func testUnknownKeyNamesItAndSuggests() {
        XCTAssertThrowsError(try Config(yaml: "optimiser: {lr: 0.1}", source: "x.yaml")) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("optimiser.lr"), m)
            XCTAssertTrue(m.contains("did you mean 'optimizer.lr'"), m)
            XCTAssertTrue(m.contains("x.yaml"), m)
        }
        var c = Config()
        XCTAssertThrowsError(try c.apply(assignment: "epoch=3")) { e in
            XCTAssertTrue("\(e)".contains("'epoch'") && "\(e)".contains("'epochs'"), "\(e)")
        }
        XCTAssertThrowsError(try c.apply(assignment: "lr=3")) { e in
            XCTAssertTrue("\(e)".contains("optimizer.lr"), "\(e)")
        }
        for (wrong, right) in [("optimizer.learning_rate", "optimizer.lr"), ("optimizer.wd", "optimizer.weight_decay"),
                               ("batch-size", "batch_size"), ("model.widht", "model.width"), ("sparsity", "density")] {
            XCTAssertThrowsError(try c.apply(assignment: "\(wrong)=1")) { e in
                XCTAssertTrue("\(e)".contains("did you mean '\(right)'"), "\(wrong): \(e)")
            }
        }
    }

    func testWrongTypesAndValues() {
        var c = Config()
        XCTAssertThrowsError(try c.apply(assignment: "epochs=many")) { XCTAssertTrue("\($0)".contains("epochs")) }
        XCTAssertThrowsError(try c.apply(assignment: "epochs=1.5")) { XCTAssertTrue("\($0)".contains("1.5")) }
        XCTAssertThrowsError(try c.apply(assignment: "model.name=resnet")) { XCTAssertTrue("\($0)".contains("resnet")) }
        XCTAssertThrowsError(try c.apply(assignment: "noequals"))
        XCTAssertThrowsError(try Config(yaml: "- a\n- b")) { XCTAssertTrue("\($0)".contains("mapping")) }
        XCTAssertThrowsError(try Config(yaml: "model: [unclosed")) { XCTAssertTrue("\($0)".contains("YAML")) }
        XCTAssertThrowsError(try Config.load(path: "/nonexistent/c.yaml")) { XCTAssertTrue("\($0)".contains("/nonexistent/c.yaml")) }
    }

    func testPolicyValidation() throws {
        var c = Config()
        XCTAssertNoThrow(try PolicyRegistry.validate(MaskingSpec(config: c)))
        try c.apply(assignment: "policy=dnse")
        XCTAssertThrowsError(try PolicyRegistry.validate(MaskingSpec(config: c))) { XCTAssertTrue("\($0)".contains("did you mean 'dense'")) }
        c = Config()
        try c.apply(assignment: "density=0.5")
        XCTAssertThrowsError(try PolicyRegistry.validate(MaskingSpec(config: c))) { XCTAssertTrue("\($0)".contains("0.5")) }
        c = Config()
        try c.apply(assignment: "policy_options.alpha=1")
        XCTAssertThrowsError(try PolicyRegistry.validate(MaskingSpec(config: c))) { XCTAssertTrue("\($0)".contains("alpha")) }
    }

    /// Inputs the fuzzer (fuzz/run.sh) found crashing the process; now errors.
    func testFuzzFindingsAreErrorsNotTraps() {
        let cases: [(String, String)] = [
            ("? [a, b]\n: 1\n", "is a sequence; keys must be plain names"),
            ("model: {? {x: 1}: 2}\n", "is a mapping; keys must be plain names"),
            ("epochs: 1e300\n", "out of the integer range"),
            ("model: {hidden: [1e30]}\n", "out of the integer range"),
            (String(repeating: "[", count: 100) + String(repeating: "]", count: 100), "nested deeper than 64 levels"),
        ]
        for (text, needle) in cases {
            XCTAssertThrowsError(try Config(yaml: text, source: "fuzzed.yaml")) { e in
                XCTAssertTrue("\(e)".contains(needle), "expected '\(needle)' in \(e)")
            }
        }
    }
}
