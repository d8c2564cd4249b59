/// The one error type of the engine. `kind` says which boundary was crossed wrongly,
/// `message` names the offending input (a path, a key, a shape, a value).
public struct SparseWireError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong: `.shape` (tensor shapes, sizes), `.config` (a key or value), `.data`
    /// (file or tensor contents), `.io` (the file system), `.numeric` (non-finite values),
    /// `.state` (a call in the wrong order or state), `.unsupported` (a missing feature or
    /// tool), `.plugin` (a C policy plugin).
    public enum Kind: String, Sendable {
        case shape, config, data, io, numeric, state, unsupported, plugin
    }
    /// The category; its raw value is the word `description` prints.
    public let kind: Kind
    /// Human-readable detail naming the offending input.
    public let message: String

    /// An error of `kind` with `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue) error: \(message)" }

    /// A `.shape` error with message `m`.
    public static func shape(_ m: String) -> SparseWireError { .init(.shape, m) }
    /// A `.config` error with message `m`.
    public static func config(_ m: String) -> SparseWireError { .init(.config, m) }
    /// A `.data` error with message `m`.
    public static func data(_ m: String) -> SparseWireError { .init(.data, m) }
}
