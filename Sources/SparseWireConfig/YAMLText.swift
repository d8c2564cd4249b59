import Yams
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim

/// The limits every config document is held to (a file, a string, a `--set` value, an
/// `sw_engine_set` value, a checkpoint's stored config): generous for real configs (the largest
/// shipped one is under 1 KiB, 60 nodes), and small enough that no document can exhaust memory
/// or time — a YAML "billion laughs" of a few hundred bytes whose aliases expand to 10^9 nodes is
/// refused after counting 100,000 of them. docs/CONFIG.md lists them.
public enum ConfigLimits {
    /// Largest document, in bytes of UTF-8.
    public static let bytes = 1 << 20
    /// Deepest nesting of mappings and sequences.
    public static let depth = 64
    /// Most nodes (mappings, sequences, scalars), counted with every alias expanded.
    public static let nodes = 100_000
    /// Longest string (a scalar value or a key), in characters.
    public static let stringLength = 65_536
}

/// YAML/JSON text → Foundation values, through Yams, refusing what Yams would trap on.
///
/// Yams' constructor force-unwraps mapping keys as strings, so a document with a sequence or a
/// mapping as a key (`? [a, b]: 1`, found by fuzz/run.sh) would crash the process. The node tree
/// is checked first: every key must be a scalar, and the document must keep within
/// `ConfigLimits` (size, depth, nodes after alias expansion, string length) before any value is
/// built from it.
package enum YAMLText {
    package static func load(_ text: String) throws -> Any? {
        let size = text.utf8.count
        guard size <= ConfigLimits.bytes else {
            throw SparseWireError.config("the document is \(size) bytes; configs are limited to \(ConfigLimits.bytes) bytes (1 MiB)")
        }
        guard let node = try Yams.compose(yaml: text) else { return nil }
        var budget = ConfigLimits.nodes
        try check(node, depth: 0, budget: &budget)
        return Constructor.default.any(from: node)
    }

    private static func check(_ node: Node, depth: Int, budget: inout Int) throws {
        guard depth <= ConfigLimits.depth else { throw SparseWireError.config("nested deeper than \(ConfigLimits.depth) levels") }
        budget -= 1
        guard budget >= 0 else {
            throw SparseWireError.config("more than \(ConfigLimits.nodes) values once anchors and aliases are expanded "
                + "(an alias bomb?); configs are limited to \(ConfigLimits.nodes)")
        }
        switch node {
        case .mapping(let m):
            for (key, value) in m {
                guard case .scalar = key else {
                    let line = key.mark.map { " at line \($0.line)" } ?? ""
                    throw SparseWireError.config("a mapping key\(line) is a \(kind(key)); keys must be plain names")
                }
                try check(key, depth: depth + 1, budget: &budget)
                try check(value, depth: depth + 1, budget: &budget)
            }
        case .sequence(let s):
            for value in s { try check(value, depth: depth + 1, budget: &budget) }
        case .scalar(let scalar):
            let n = scalar.string.count
            guard n <= ConfigLimits.stringLength else {
                let line = node.mark.map { " at line \($0.line)" } ?? ""
                throw SparseWireError.config("a string\(line) is \(n) characters; config strings are limited to \(ConfigLimits.stringLength)")
            }
        default:
            break
        }
    }

    private static func kind(_ node: Node) -> String {
        switch node {
        case .mapping: "mapping"
        case .sequence: "sequence"
        case .scalar: "scalar"
        case .alias: "alias"
        }
    }
}
