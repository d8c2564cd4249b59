import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

/// The one registry of mask policies: the built-ins plus any registered at run time (plugins,
/// host callbacks). Names are unique. Thread-safe.
public enum PolicyRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var extra: [PolicyDescriptor] = []

    /// Built-in policies, in the order `sparsewire policies` lists them.
    public static var builtIn: [PolicyDescriptor] { BuiltInPolicies.all }

    /// Every registered policy.
    public static var all: [PolicyDescriptor] {
        lock.lock(); defer { lock.unlock() }
        return builtIn + extra
    }

    /// Names of every registered policy, built-ins first.
    public static var names: [String] { all.map(\.name) }

    /// Adds a policy; refuses a name that is already taken. Errors: `.config` for an empty or taken name.
    public static func register(_ d: PolicyDescriptor) throws { try register(contentsOf: [d]) }

    /// Adds several policies, all or none; refuses a name already taken (or repeated).
    /// Errors: `.config` for an empty, taken or repeated name.
    public static func register(contentsOf ds: [PolicyDescriptor]) throws {
        lock.lock(); defer { lock.unlock() }
        var taken = Set((builtIn + extra).map(\.name))
        for d in ds {
            guard !d.name.isEmpty else { throw SparseWireError.config("a policy needs a non-empty name") }
            guard taken.insert(d.name).inserted else {
                throw SparseWireError.config("a policy named '\(d.name)' is already registered (duplicate policy name)")
            }
        }
        extra += ds
    }

    /// The entry named `name`.
    /// Errors: `.config` for an unknown name (listing the known ones, and a close spelling if any).
    public static func descriptor(_ name: String) throws -> PolicyDescriptor {
        let list = all
        if let d = list.first(where: { $0.name == name }) { return d }
        var msg = "unknown policy '\(name)'; known: \(list.map(\.name).joined(separator: ", "))"
        if let (close, d) = Spelling.closest(name, in: list.map(\.name)), d <= 2 {
            msg += " (did you mean '\(close)'?)"
        }
        throw SparseWireError.config(msg)
    }

    /// Checks the policy name, its options and the density.
    /// Errors: `.config` naming the unknown policy or option, or the density out of (0, 1].
    public static func validate(_ spec: MaskingSpec) throws {
        let d = try descriptor(spec.policy)
        let known = Set(d.options.map(\.name))
        for key in spec.options.keys.sorted() where !known.contains(key) {
            throw SparseWireError.config("policy '\(d.name)' has no option '\(key)'"
                + (known.isEmpty ? " (it takes none)" : "; its options: \(d.options.map(\.name).joined(separator: ", "))"))
        }
        let k = spec.density
        guard k > 0 && k <= 1 else { throw SparseWireError.config("density must be in (0, 1] (the fraction of weights kept), got \(k)") }
        if d.name == "dense" && k != 1 {
            throw SparseWireError.config("policy 'dense' keeps every weight; density \(k) needs a masking policy")
        }
    }

    /// Builds the policy `spec` names (validated first). Errors: `.config` from `validate` or
    /// the policy's option reads.
    public static func make(_ spec: MaskingSpec) throws -> (PolicyDescriptor, any MaskPolicy) {
        try validate(spec)
        let d = try descriptor(spec.policy)
        return (d, try d.make(PolicyOptions(policy: d.name, values: spec.options)))
    }
}
