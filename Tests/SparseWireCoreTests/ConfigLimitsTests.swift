import Foundation
import XCTest
import SparseWireCore

/// Hostile config documents are refused with an error naming the limit, in bounded time and
/// memory, before any value is built from them.
final class ConfigLimitsTests: XCTestCase {
    /// A few hundred bytes whose aliases expand to 10^9 strings.
    static let billionLaughs: String = {
        var lines = [#"a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]"#]
        let names = ["b", "c", "d", "e", "f", "g", "h", "i"]
        var prev = "a"
        for n in names {
            lines.append("\(n): &\(n) [" + Array(repeating: "*\(prev)", count: 10).joined(separator: ", ") + "]")
            prev = n
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    func testAliasBombIsRefusedQuickly() {
        XCTAssertLessThan(Self.billionLaughs.utf8.count, 1000)
        let start = Date()
        XCTAssertThrowsError(try Config(yaml: Self.billionLaughs, source: "bomb.yaml")) { e in
            XCTAssertTrue("\(e)".contains("bomb.yaml") && "\(e)".contains("aliases") && "\(e)".contains("\(ConfigLimits.nodes)"), "\(e)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "the walk stops at the node limit")
        var c = Config()
        XCTAssertThrowsError(try c.set("policy_options", Self.billionLaughs)) { XCTAssertTrue("\($0)".contains("aliases"), "\($0)") }
    }

    func testSizeStringAndDepthLimits() {
        let big = "seed: 1\n" + String(repeating: "# padding\n", count: ConfigLimits.bytes / 10 + 1)
        XCTAssertThrowsError(try Config(yaml: big)) { XCTAssertTrue("\($0)".contains("\(ConfigLimits.bytes) bytes"), "\($0)") }
        let long = "log: {metrics: \"" + String(repeating: "x", count: ConfigLimits.stringLength + 1) + "\"}\n"
        XCTAssertThrowsError(try Config(yaml: long)) { XCTAssertTrue("\($0)".contains("config strings are limited"), "\($0)") }
        let deep = String(repeating: "[", count: ConfigLimits.depth + 2) + String(repeating: "]", count: ConfigLimits.depth + 2)
        XCTAssertThrowsError(try Config(yaml: "model: {hidden: \(deep)}")) { XCTAssertTrue("\($0)".contains("nested deeper"), "\($0)") }
    }

    func testRealConfigsAreWellWithinTheLimits() throws {
        let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs")
        let files = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter { $0.hasSuffix(".yaml") }
        XCTAssertFalse(files.isEmpty)
        for f in files { XCTAssertNoThrow(try Config.load(path: configs.appendingPathComponent(f).path), f) }
        // Up to the limits exactly is fine.
        let manyOptions = "policy_options: {" + (0..<1000).map { "o\($0): \($0)" }.joined(separator: ", ") + "}\n"
        XCTAssertEqual(try Config(yaml: manyOptions).policyOptions.count, 1000)
    }
}
