import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
/// A policy's options (`policy_options:` in the config), with typed, validated access.
/// Every read names the option; unknown options are refused by the registry before the policy
/// is built.
public struct PolicyOptions: Sendable {
    /// The policy's name, for error messages.
    public let policy: String
    /// The raw option values by name.
    public let values: [String: ConfigValue]

    /// Wraps `values` for `policy`; nothing is checked here.
    public init(policy: String, values: [String: ConfigValue]) {
        self.policy = policy
        self.values = values
    }

    package func bad(_ key: String, _ expected: String) -> SparseWireError {
        SparseWireError.config("policy '\(policy)': option '\(key)' expects \(expected), got '\(values[key]!)'")
    }

    /// The number `key` (an int is widened), or `d` when absent.
    /// Errors: `.config` when it is not a number or lies outside `range`.
    public func double(_ key: String, default d: Double, range: ClosedRange<Double>? = nil) throws -> Double {
        guard let v = values[key] else { return d }
        let x: Double
        switch v {
        case let .double(y): x = y
        case let .int(i): x = Double(i)
        default: throw bad(key, "a number")
        }
        if let range, !range.contains(x) { throw bad(key, "a number in \(range.lowerBound)...\(range.upperBound)") }
        return x
    }

    /// The integer `key` (a whole double is accepted), or `d` when absent.
    /// Errors: `.config` when it is not an integer or is below `min`.
    public func int(_ key: String, default d: Int, min: Int = Int.min) throws -> Int {
        guard let v = values[key] else { return d }
        let x: Int
        switch v {
        case let .int(i): x = i
        case let .double(y) where y.rounded() == y: x = Int(y)
        default: throw bad(key, "an integer")
        }
        guard x >= min else { throw bad(key, "an integer ≥ \(min)") }
        return x
    }

    /// The boolean `key`, or `d` when absent. Errors: `.config` when it is not true or false.
    public func bool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = values[key] else { return d }
        guard case let .bool(b) = v else { throw bad(key, "true or false") }
        return b
    }

    /// The string `key`, or `d` when absent (`d` is not checked against `allowed`).
    /// Errors: `.config` when it is not a string in `allowed`.
    public func string(_ key: String, default d: String, allowed: [String]) throws -> String {
        guard let v = values[key] else { return d }
        guard case let .string(s) = v, allowed.contains(s) else { throw bad(key, "one of \(allowed.joined(separator: ", "))") }
        return s
    }
}

/// A policy as the registry knows it.
public struct PolicyDescriptor: Sendable {
    /// The name configs and the CLI select the policy by (unique in the registry).
    public let name: String
    /// One-line description, as `sparsewire policies` prints it.
    public let summary: String
    /// Option names with a one-line help each.
    public let options: [(name: String, help: String)]
    /// Per-layer density allocation used when `masking.distribution` is `auto`.
    public let preferredDistribution: DensityDistribution
    /// Builds a fresh policy from its options (`PolicyRegistry.make` checks their names first).
    /// Errors: those of the policy's option reads (`.config` for the built-ins).
    public let make: @Sendable (PolicyOptions) throws -> any MaskPolicy
    /// Whether `PolicyRegistry.unregister` may remove it (policies registered from host
    /// callbacks); built-ins and plugin policies stay.
    public let removable: Bool
    /// Whether the policy keeps `masking.structure` (its masks come from `PolicyContext.selectTopK`,
    /// or the plugin ABI's `select_topk`); others refuse a structured config.
    public let honoursStructure: Bool

    /// A registry entry; `preferredDistribution` defaults to uniform.
    public init(name: String, summary: String, options: [(name: String, help: String)] = [],
                preferredDistribution: DensityDistribution = .uniform, removable: Bool = false,
                honoursStructure: Bool = false, make: @escaping @Sendable (PolicyOptions) throws -> any MaskPolicy) {
        self.name = name; self.summary = summary; self.options = options
        self.preferredDistribution = preferredDistribution; self.removable = removable
        self.honoursStructure = honoursStructure; self.make = make
    }
}

/// How the global density is spread over the masked layers.
public enum DensityDistribution: String, Sendable, CaseIterable {
    /// Every layer keeps the same fraction.
    case uniform
    /// Erdős–Rényi-Kernel: density ∝ Σ(shape)/Π(shape), rescaled to the global density.
    case erk
}

extension PolicyOptions {
    /// The options as a JSON object (sorted keys), as plugins receive them.
    package func jsonText() throws -> String {
        let obj = values.mapValues(\.jsonObject)
        let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }
}
