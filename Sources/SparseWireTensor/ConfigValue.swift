import Foundation

/// A typed config value.
public enum ConfigValue: Equatable, Sendable, CustomStringConvertible {
    case int(Int), double(Double), bool(Bool), string(String)
    case list([ConfigValue])
    case map([String: ConfigValue])

    public var description: String {
        switch self {
        case let .int(v): return String(v)
        case let .double(v): return String(v)
        case let .bool(v): return String(v)
        case let .string(v): return v
        case let .list(v): return "[" + v.map(\.description).joined(separator: ", ") + "]"
        case let .map(m): return "{" + m.keys.sorted().map { "\($0): \(m[$0]!)" }.joined(separator: ", ") + "}"
        }
    }

    /// JSON-compatible form (for metrics and reports).
    public var jsonObject: Any {
        switch self {
        case let .int(v): return v
        case let .double(v): return v
        case let .bool(v): return v
        case let .string(v): return v
        case let .list(v): return v.map(\.jsonObject)
        case let .map(m): return m.mapValues(\.jsonObject)
        }
    }

    /// Converts what Yams or JSONSerialization produced.
    package static func from(_ any: Any?, key: String) throws -> ConfigValue {
        switch any {
        case let v as Bool: return .bool(v)
        case let v as Int: return .int(v)
        case let v as Double: return .double(v)
        case let v as String: return .string(v)
        case let v as [Any]: return .list(try v.map { try from($0, key: key) })
        case let v as [String: Any]:
            var m = [String: ConfigValue]()
            for (k, x) in v { m[k] = try from(x, key: key.isEmpty ? k : "\(key).\(k)") }
            return .map(m)
        case .none: throw SparseWireError.config("key '\(key)' has no value")
        default: throw SparseWireError.config("key '\(key)': unsupported value \(String(describing: any!))")
        }
    }
}
