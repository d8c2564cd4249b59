import Foundation
import XCTest
import SparseWireCore

final class CheckpointTests: XCTestCase {
    func trainer(_ yaml: String) throws -> Trainer {
        try Trainer(config: try Config(yaml: yaml), train: try syntheticDataset(count: 256, seed: 1),
                    test: try syntheticDataset(count: 128, seed: 2))
    }

    func testSafeTensorsRoundTripAndLayout() throws {
        let a = try Tensor(shape: [2, 3], values: [1, -2, 3.5, 0, 5, -6])
        let b = try Tensor(shape: [1], values: [42])
        let data = try SafeTensors.encode(["b": b, "a": a], metadata: ["k": "v"])
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(n % 8, 0, "header padded to 8 bytes")
        XCTAssertEqual(data.count, 8 + n + 4 * 7)
        let (t, m) = try SafeTensors.decode(data, source: "mem")
        XCTAssertEqual(m, ["k": "v"])
        XCTAssertEqual(t["a"]!.shape, [2, 3])
        XCTAssertEqual((0..<6).map { t["a"]![$0] }, [1, -2, 3.5, 0, 5, -6])
        XCTAssertEqual(t["b"]![0], 42)
    }

    func testSafeTensorsBoolAndU8RoundTrip() throws {
        let m = try Tensor(shape: [2, 2], values: [1, 0, 0, 1])
        let u = try Tensor(shape: [3], values: [0, 1, 1])
        let w = try Tensor(shape: [1], values: [0.5])
        let data = try SafeTensors.encode(["m": m, "u": u, "w": w], metadata: [:], dtypes: ["m": .bool, "u": .u8])
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(data.count, 8 + n + 4 + 3 + 4, "one byte per BOOL/U8 element")
        let header = String(decoding: data[8..<(8 + n)], as: UTF8.self)
        XCTAssertTrue(header.contains(#""m":{"data_offsets":[0,4],"dtype":"BOOL""#), header)
        XCTAssertTrue(header.contains(#""dtype":"U8""#), header)
        let (t, _) = try SafeTensors.decode(data, source: "mem")
        XCTAssertEqual((0..<4).map { t["m"]![$0] }, [1, 0, 0, 1])
        XCTAssertEqual((0..<3).map { t["u"]![$0] }, [0, 1, 1])
        XCTAssertEqual(t["w"]![0], 0.5)
    }

    func testAtomicWriteReplacesAndLeavesNoTemporaryFile() throws {
        let dir = NSTemporaryDirectory() + "sw-atomic-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write(Data("old".utf8), to: dir + "/f")
        try AtomicFile.write(Data("new".utf8), to: dir + "/f")
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/f"), Data("new".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["f"])
        XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: dir + "/missing/f")) { e in
            XCTAssertTrue("\(e)".contains("missing/f"), "\(e)")
        }
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/f"), Data("new".utf8))
    }

    func testSafeTensorsRejectsCorruptFiles() throws {
        func header(_ json: String, body: Int) -> Data {
            var d = Data()
            withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(Data(json.utf8)); d.append(Data(count: body))
            return d
        }
        let cases: [(Data, String)] = [
            (Data([1, 2, 3]), "shorter than the 8-byte header length"),
            (Data([255, 255, 255, 255, 0, 0, 0, 0]), "exceeds the file"),
            (header("[1]", body: 0), "not a JSON object"),
            (header(#"{"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}}"#, body: 12), "shape [2] needs 8"),
            (header(#"{"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, body: 4), "outside the 4-byte data section"),
            (header(#"{"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, body: 8), "a hole before tensor 'x'"),
            (header(#"{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, body: 8), "4 trailing bytes"),
            (header(#"{"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, body: 4), "bad dimension"),
            (header(#"{"x": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}"#, body: 4), "reads F32, BOOL and U8"),
            (header(#"{"x": {"dtype": "BOOL", "shape": [4], "data_offsets": [0, 16]}}"#, body: 16), "holds 16 bytes, shape [4] needs 4"),
            (header(#"{"x": {"dtype": "U8", "shape": [2], "data_offsets": [0, 4]}}"#, body: 4), "shape [2] needs 2"),
            ({ var d = header(#"{"x": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}"#, body: 0); d.append(contentsOf: [1, 2]); return d }(),
             "holds byte 2 at element 1"),
            (header(#"{"__metadata__": {"k": 1}}"#, body: 0), "metadata 'k' is not a string"),
            (header(#"{"x": {"dtype": "F32", "shape": [1]}}"#, body: 4), "needs dtype, shape and two data_offsets"),
            (header(#"{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "y": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, body: 4), "overlaps"),
        ]
        for (data, needle) in cases {
            XCTAssertThrowsError(try SafeTensors.decode(data, source: "bad.safetensors")) { e in
                XCTAssertTrue("\(e)".contains(needle), "expected '\(needle)' in \(e)")
            }
        }
    }

    func testTrainerCheckpointRestoresWeightsMasksAndMomentum() throws {
        let yaml = "model: {name: mlp, hidden: [16]}\noptimizer: {lr: 0.1, momentum: 0.9}\nepochs: 2\nbatch_size: 32\npolicy: rigl\ndensity: 0.3\npolicy_options: {delta_t: 2}"
        let a = try trainer(yaml)
        try a.trainEpoch()
        let path = NSTemporaryDirectory() + "sw-ckpt-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try a.save(to: path)
        let b = try trainer(yaml)
        try b.load(from: path)
        XCTAssertEqual(b.globalStep, a.globalStep)
        XCTAssertEqual(b.epochsDone, 1)
        // Same weights, masks, momentum and RNG: the next epoch is bit-identical.
        let ma = try a.trainEpoch(), mb = try b.trainEpoch()
        XCTAssertEqual(ma.trainLoss, mb.trainLoss)
        XCTAssertEqual(ma.testAccuracy, mb.testAccuracy)
        for (p, q) in zip(a.network.parameters, b.network.parameters) {
            XCTAssertEqual((0..<p.count).map { p.value[$0] }, (0..<q.count).map { q.value[$0] }, p.name)
        }
    }

    func testCheckpointOfAnotherNetworkIsRefusedUnchanged() throws {
        let a = try trainer("model: {name: mlp, hidden: [16]}\nepochs: 1")
        let path = NSTemporaryDirectory() + "sw-ckpt2-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try a.save(to: path)
        let b = try trainer("model: {name: mlp, hidden: [8]}\nepochs: 1")
        let before = b.network.parameters[0].value.copy()
        XCTAssertThrowsError(try b.load(from: path)) { e in XCTAssertTrue("\(e)".contains("fc1.weight"), "\(e)") }
        XCTAssertEqual((0..<before.count).map { before[$0] }, (0..<before.count).map { b.network.parameters[0].value[$0] })
    }

    func testBadPolicyRNGMetadataIsRefused() throws {
        let a = try trainer("model: {name: mlp, hidden: [16]}\nepochs: 1\npolicy: supermask")
        var (t, m) = try a.checkpointTensors()
        m["policy_rng"] = "1,2,3"
        let path = NSTemporaryDirectory() + "sw-ckpt3-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors.write(t, metadata: m, to: path)
        XCTAssertThrowsError(try a.load(from: path)) { e in XCTAssertTrue("\(e)".contains("bad policy_rng metadata"), "\(e)") }
        m["policy_rng"] = nil  // older checkpoints have none: accepted
        try SafeTensors.write(t, metadata: m, to: path)
        XCTAssertNoThrow(try a.load(from: path))
    }

    func testSwitchPolicyKeepsWeightsAndFailsAtomically() throws {
        let t = try trainer("model: {name: mlp, hidden: [16]}\noptimizer: {lr: 0.1}\nepochs: 2\nbatch_size: 32")
        try t.trainEpoch()
        let w = t.network.parameters[0].value.copy()
        XCTAssertThrowsError(try t.switchPolicy("edge-popup", options: ["k": .double(0.5)], density: 0.5))
        XCTAssertEqual(t.masking.descriptor.name, "dense")
        try t.switchPolicy("dnw", options: [:], density: 0.25)
        XCTAssertEqual(t.masking.descriptor.name, "dnw")
        XCTAssertEqual((0..<w.count).map { w[$0] }, (0..<w.count).map { t.network.parameters[0].value[$0] })
        try t.nextStep()
        for l in t.masking.layers { XCTAssertEqual(l.parameter.keptCount, l.keepCount) }
        try t.switchPolicy("dense", options: [:], density: 1)
        XCTAssertTrue(t.network.parameters.allSatisfy { $0.mask == nil && $0.trainable })
    }
}
