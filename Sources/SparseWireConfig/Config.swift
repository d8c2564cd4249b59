import Foundation
import Yams
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim

/// A validated training configuration: a flat map from dotted key paths to typed values.
///
/// Parse a YAML (or JSON) document with `Config(yaml:)`, override any key with `set(_:_:)`.
/// Unknown keys, wrong types and values outside the allowed set are errors naming the key.
public struct Config: Sendable, CustomStringConvertible {
    private(set) var values: [String: ConfigValue] = [:]

    /// An empty config: every key at its schema default.
    public init() {}

    /// Parses YAML or JSON text. `source` names the file in error messages.
    public init(yaml text: String, source: String = "config") throws {
        let loaded: Any?
        do {
            loaded = try YAMLText.load(text)
        } catch {
            throw SparseWireError.config("\(source): not valid YAML/JSON: \(error)")
        }
        guard let loaded else { return }  // empty document: all defaults
        guard let top = loaded as? [String: Any] else {
            throw SparseWireError.config("\(source): the top level must be a mapping of keys, got \(type(of: loaded))")
        }
        for key in top.keys.sorted() {
            // `policy_options:` with nothing after it: no options.
            if key == ConfigSchema.policyOptionsPrefix, top[key] is NSNull { continue }
            try set(key, value: ConfigValue.from(top[key], key: key), source: source)
        }
    }

    /// Reads and parses a YAML or JSON file. Errors: `.io` (missing, unreadable, not UTF-8),
    /// `.config` as `init(yaml:source:)` with the path as source.
    public static func load(path: String) throws -> Config {
        guard FileManager.default.fileExists(atPath: path) else { throw SparseWireError(.io, "config file \(path): no such file") }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw SparseWireError(.io, "config file \(path): unreadable or not UTF-8")
        }
        return try Config(yaml: text, source: path)
    }

    /// Sets `path` from command-line text such as "0.05", "true", "[300, 100]" or "conv4".
    public mutating func set(_ path: String, _ text: String) throws {
        let parsed: Any?
        do { parsed = try YAMLText.load(text) } catch {
            throw SparseWireError.config("--set \(path)=\(text): value is not valid YAML: \(error)")
        }
        try set(path, value: ConfigValue.from(parsed ?? "", key: path), source: "--set")
    }

    /// Parses "key=value" (the `--set` syntax).
    public mutating func apply(assignment: String) throws {
        guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else {
            throw SparseWireError.config("--set expects key=value, got '\(assignment)'")
        }
        try set(String(assignment[..<eq]), String(assignment[assignment.index(after: eq)...]))
    }

    /// Sets `path` to `value`. A mapping sets each key in it, as nested mappings and dotted paths
    /// are the same thing (`optimizer: {lr: 0.1}` is `optimizer.lr: 0.1`; keys the mapping does
    /// not name keep their values); under `policy_options` any option name is taken (the policy
    /// checks them). Errors: `.config` naming an unknown key (with a suggestion), a value of the
    /// wrong type, or a name outside the allowed set.
    public mutating func set(_ path: String, value: ConfigValue, source: String = "config") throws {
        let optionsPrefix = ConfigSchema.policyOptionsPrefix
        if path == optionsPrefix {
            guard case let .map(m) = value else {
                throw SparseWireError.config("\(source): key 'policy_options' must be a mapping of option: value, got '\(value)'")
            }
            for k in m.keys.sorted() { try set("\(path).\(k)", value: m[k]!, source: source) }
            return
        }
        if path.hasPrefix(optionsPrefix + ".") {
            guard path.count > optionsPrefix.count + 1 else {
                throw SparseWireError.config("\(source): empty policy option name")
            }
            values[path] = value
            return
        }
        if case let .map(m) = value, ConfigSchema.byPath[path] == nil {
            for k in m.keys.sorted() { try set(path.isEmpty ? k : "\(path).\(k)", value: m[k]!, source: source) }
            return
        }
        guard let key = ConfigSchema.byPath[path] else {
            var msg = "\(source): unknown config key '\(path)'"
            if let s = ConfigSchema.suggestion(for: path) { msg += " (did you mean '\(s)'?)" }
            throw SparseWireError.config(msg)
        }
        values[path] = try Config.coerce(value, to: key, source: source)
    }

    private static func coerce(_ v: ConfigValue, to key: ConfigKey, source: String) throws -> ConfigValue {
        func bad() -> SparseWireError {
            SparseWireError.config("\(source): key '\(key.path)' expects \(key.type.rawValue), got '\(v)'")
        }
        /// A whole Double as Int; 1e300 or infinity is an error, not a trap.
        func exactInt(_ d: Double) throws -> Int {
            guard let i = Int(exactly: d) else { throw SparseWireError.config("\(source): key '\(key.path)': \(d) is out of the integer range") }
            return i
        }
        switch (key.type, v) {
        case (.int, .int), (.double, .double), (.bool, .bool): return v
        case let (.double, .int(i)): return .double(Double(i))
        case let (.int, .double(d)) where d.rounded() == d: return .int(try exactInt(d))
        case let (.string, .string(s)):
            if let allowed = key.allowed, !allowed.contains(s) {
                throw SparseWireError.config("\(source): '\(s)' is not a valid \(key.path); choose one of \(allowed.joined(separator: ", "))")
            }
            return v
        case let (.string, .int(i)): return .string(String(i))
        case let (.intList, .list(items)):
            return .list(try items.map { item -> ConfigValue in
                if case .int = item { return item }
                if case let .double(d) = item, d.rounded() == d { return .int(try exactInt(d)) }
                throw bad()
            })
        case let (.intList, .int(i)): return .list([.int(i)])
        case let (.doubleList, .list(items)):
            return .list(try items.map { item -> ConfigValue in
                if case let .int(i) = item { return .double(Double(i)) }
                if case .double = item { return item }
                throw bad()
            })
        default: throw bad()
        }
    }

    // MARK: typed access (defaults from the schema)

    /// The value of `path`: set, else the schema default, else nil (unknown or no default).
    public func value(_ path: String) -> ConfigValue? {
        values[path] ?? ConfigSchema.byPath[path]?.defaultValue
    }

    /// Whether `path` was set (a default does not count).
    public func isSet(_ path: String) -> Bool { values[path] != nil }

    /// The int value of an int key. Traps for a key of another type: a programming error, as
    /// the key names are the schema's (only `RunSpec(config:)` reads them).
    public func int(_ path: String) -> Int {
        if case let .int(v)? = value(path) { return v }
        preconditionFailure("config key \(path) is not an int key")
    }

    /// The value of a number key (ints are stored as numbers). Traps for another type, as `int(_:)`.
    public func double(_ path: String) -> Double {
        if case let .double(v)? = value(path) { return v }
        preconditionFailure("config key \(path) is not a number key")
    }

    /// The value of a string key. Traps for another type, as `int(_:)`.
    public func string(_ path: String) -> String {
        if case let .string(v)? = value(path) { return v }
        preconditionFailure("config key \(path) is not a string key")
    }

    /// The value of a bool key, or nil when it is unset and has no default (`model.bias`).
    public func bool(_ path: String) -> Bool? {
        if case let .bool(v)? = value(path) { return v }
        return nil
    }

    /// The value of an int-list key ([] when unset without default).
    public func intList(_ path: String) -> [Int] {
        guard case let .list(items)? = value(path) else { return [] }
        return items.compactMap { if case let .int(i) = $0 { return i }; return nil }
    }

    /// The value of a number-list key ([] when unset without default).
    public func doubleList(_ path: String) -> [Double] {
        guard case let .list(items)? = value(path) else { return [] }
        return items.compactMap { if case let .double(d) = $0 { return d }; return nil }
    }

    /// Options of the selected policy, keyed by option name.
    public var policyOptions: [String: ConfigValue] {
        var out = [String: ConfigValue]()
        for (k, v) in values where k.hasPrefix(ConfigSchema.policyOptionsPrefix + ".") {
            out[String(k.dropFirst(ConfigSchema.policyOptionsPrefix.count + 1))] = v
        }
        return out
    }

    /// Parses a YAML/JSON mapping of policy options (empty text or `null`: no options).
    public static func parseOptions(_ text: String, source: String = "options") throws -> [String: ConfigValue] {
        let loaded: Any?
        do { loaded = try YAMLText.load(text) } catch { throw SparseWireError.config("\(source): not valid YAML/JSON: \(error)") }
        guard let loaded else { return [:] }
        guard let m = loaded as? [String: Any] else { throw SparseWireError.config("\(source): must be a mapping of option: value") }
        var out: [String: ConfigValue] = [:]
        for (k, v) in m { out[k] = try ConfigValue.from(v, key: "\(source).\(k)") }
        return out
    }

    /// Replaces every `policy_options.*` key.
    public mutating func replacePolicyOptions(_ options: [String: ConfigValue]) {
        for k in values.keys where k.hasPrefix(ConfigSchema.policyOptionsPrefix + ".") { values[k] = nil }
        for (k, v) in options { values[ConfigSchema.policyOptionsPrefix + "." + k] = v }
    }

    /// Every key with its effective value (defaults included), for reports.
    public var resolved: [String: ConfigValue] {
        var out = values
        for k in ConfigSchema.keys where out[k.path] == nil { if let d = k.defaultValue { out[k.path] = d } }
        return out
    }

    public var description: String {
        resolved.keys.sorted().map { "\($0): \(resolved[$0]!)" }.joined(separator: "\n")
    }
}
