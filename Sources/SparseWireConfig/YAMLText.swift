import Yams
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim

/// YAML/JSON text → Foundation values, through Yams, refusing what Yams would trap on.
///
/// Yams' constructor force-unwraps mapping keys as strings, so a document with a sequence or a
/// mapping as a key (`? [a, b]: 1`, found by fuzz/run.sh) would crash the process. The node tree
/// is checked first: every key must be a scalar, nesting at most 64 levels.
package enum YAMLText {
    package static let maxDepth = 64

    package static func load(_ text: String) throws -> Any? {
        guard let node = try Yams.compose(yaml: text) else { return nil }
        try check(node, depth: 0)
        return Constructor.default.any(from: node)
    }

    private static func check(_ node: Node, depth: Int) throws {
        guard depth <= maxDepth else { throw SparseWireError.config("nested deeper than \(maxDepth) levels") }
        switch node {
        case .mapping(let m):
            for (key, value) in m {
                guard case .scalar = key else {
                    let line = key.mark.map { " at line \($0.line)" } ?? ""
                    throw SparseWireError.config("a mapping key\(line) is a \(kind(key)); keys must be plain names")
                }
                try check(value, depth: depth + 1)
            }
        case .sequence(let s):
            for value in s { try check(value, depth: depth + 1) }
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
