import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

/// The one registry of mask policies: the built-ins plus any registered at run time (plugins,
/// host callbacks). Names are unique. Thread-safe.
public enum PolicyRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var extra: [PolicyDescriptor] = []
    /// Every registered policy by name (built-ins included): O(1) lookups however many
    /// policies plugins and hosts register.
    nonisolated(unsafe) private static var byName: [String: PolicyDescriptor] =
        Dictionary(BuiltInPolicies.all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    /// Built-in policies, in the order `sparsewire policies` lists them.
    public static var builtIn: [PolicyDescriptor] { BuiltInPolicies.all }

    /// Every registered policy.
    public static var all: [PolicyDescriptor] {
        lock.lock(); defer { lock.unlock() }
        return builtIn + extra
    }

    /// Names of every registered policy, built-ins first.
    public static var names: [String] { all.map(\.name) }

    /// How many names an unknown-policy error lists before "… and N more".
    static let namesListedInErrors = 40

    /// Adds a policy; refuses a name that is already taken. Errors: `.config` for an empty or taken name.
    public static func register(_ d: PolicyDescriptor) throws { try register(contentsOf: [d]) }

    /// Adds several policies, all or none; refuses a name already taken (or repeated).
    /// Errors: `.config` for an empty, taken or repeated name.
    public static func register(contentsOf ds: [PolicyDescriptor]) throws {
        lock.lock(); defer { lock.unlock() }
        var added = Set<String>()
        for d in ds {
            guard !d.name.isEmpty else { throw SparseWireError.config("a policy needs a non-empty name") }
            guard byName[d.name] == nil, added.insert(d.name).inserted else {
                throw SparseWireError.config("a policy named '\(d.name)' is already registered (duplicate policy name)")
            }
        }
        extra += ds
        for d in ds { byName[d.name] = d }
    }

    /// Removes a removable entry (`PolicyDescriptor.removable`: registered from host callbacks).
    /// Errors: `.config` for an unknown name; `.state` for a built-in or plugin policy.
    public static func unregister(_ name: String) throws {
        let d = try descriptor(name)
        guard d.removable else {
            throw SparseWireError(.state, "policy '\(name)' is \(builtIn.contains { $0.name == name } ? "built in" : "from a plugin (plugins are never unloaded)") and cannot be unregistered")
        }
        lock.lock(); defer { lock.unlock() }
        byName[name] = nil
        extra.removeAll { $0.name == name }
    }

    /// The entry named `name`.
    /// Errors: `.config` for an unknown name (listing the known ones — the first
    /// `namesListedInErrors` of them — and a close spelling if any).
    public static func descriptor(_ name: String) throws -> PolicyDescriptor {
        lock.lock()
        let found = byName[name]
        lock.unlock()
        if let found { return found }
        let list = names
        let shown = list.prefix(namesListedInErrors).joined(separator: ", ")
        var msg = "unknown policy '\(name)'; known: \(shown)"
        if list.count > namesListedInErrors { msg += " … and \(list.count - namesListedInErrors) more (sparsewire policies lists all)" }
        if let (close, d) = Spelling.closest(name, in: list), d <= 2 {
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
        if spec.structure != .unstructured {
            guard d.honoursStructure else {
                throw SparseWireError.config("policy '\(d.name)' cannot honour masking.structure \(spec.structure) (it chooses weights one by one); "
                    + "policies that can: \(all.filter(\.honoursStructure).map(\.name).joined(separator: ", "))")
            }
            guard spec.scope == .layer else {
                throw SparseWireError.config("masking.structure \(spec.structure) works per layer; masking.scope must be layer, got \(spec.scope.rawValue)")
            }
            try spec.structure.validate(density: k)
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
