import XCTest
import SparseWireCore

/// ONNX export refusals and the model header (the numeric checks against ONNX Runtime live in
/// tests_cli/test_onnx.py, which has onnxruntime).
final class ONNXExportTests: XCTestCase {
    let input = InputSpec(channels: 1, height: 4, width: 4, classes: 3)

    func testACustomLambdaIsRefusedNamingIt() {
        let net = Network(name: "custom", body: Sequential([Lambda.flatten, Lambda { x, _ in x }]))
        XCTAssertThrowsError(try ONNXExport.encode(net, input: input) { $0.value }) { error in
            let e = error as? SparseWireError
            XCTAssertEqual(e?.kind, .unsupported)
            XCTAssertTrue("\(error)".contains("custom Lambda"), "\(error)")
        }
    }

    func testTheModelStartsWithIRVersion8AndReportsZeros() throws {
        let net = Models.mlp(input: input, hidden: [5])
        var rng = RNG(seed: 1)
        Models.initialize(net, weightInit: .kaimingNormal(), rng: &rng)
        let (data, report) = try ONNXExport.encode(net, input: input) { p in
            let t = p.value.copy()
            if p.name == "fc1.weight" { for i in 0..<t.count where i % 2 == 0 { t[i] = 0 } }  // a "mask"
            return t
        }
        XCTAssertEqual(Array(data.prefix(2)), [0x08, 0x08])  // field 1 (ir_version), varint 8
        XCTAssertEqual(report.map(\.name), ["fc1.weight", "fc2.weight"])
        XCTAssertEqual(report[0].zeros, 40)
        XCTAssertEqual(report[0].density, 0.5)
    }
}
