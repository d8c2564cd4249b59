/// The one error type of the engine. `kind` says which boundary was crossed wrongly,
/// `message` names the offending input (a path, a key, a shape, a value).
public struct SparseWireError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case shape, config, data, io, numeric, state, unsupported, plugin
    }
    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue) error: \(message)" }

    public static func shape(_ m: String) -> SparseWireError { .init(.shape, m) }
    public static func config(_ m: String) -> SparseWireError { .init(.config, m) }
    public static func data(_ m: String) -> SparseWireError { .init(.data, m) }
}
