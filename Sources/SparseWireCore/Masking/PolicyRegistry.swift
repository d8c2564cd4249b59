/// The names of the mask policies the engine knows, with a one-line description each.
/// (The MaskPolicy protocol and the built-in policies come with the masking issue; until then
/// only `dense` exists.)
public enum PolicyRegistry {
    public struct Entry: Sendable {
        public let name: String
        public let summary: String
        /// Options the policy accepts under `policy_options:`.
        public let options: [String]
    }

    public static let builtIn: [Entry] = [
        Entry(name: "dense", summary: "no mask: every weight is used and trained (the dense baseline)", options: []),
    ]

    public static var names: [String] { builtIn.map(\.name) }

    public static func entry(_ name: String) throws -> Entry {
        if let e = builtIn.first(where: { $0.name == name }) { return e }
        var msg = "unknown policy '\(name)'; known: \(names.joined(separator: ", "))"
        if let close = names.min(by: { ConfigSchema.editDistance($0, name) < ConfigSchema.editDistance($1, name) }),
           ConfigSchema.editDistance(close, name) <= 2 {
            msg += " (did you mean '\(close)'?)"
        }
        throw SparseWireError.config(msg)
    }

    /// Checks the policy name, its options and the density of a config.
    public static func validate(_ config: Config) throws {
        let e = try entry(config.string("policy"))
        for key in config.policyOptions.keys.sorted() where !e.options.contains(key) {
            throw SparseWireError.config("policy '\(e.name)' has no option '\(key)'"
                + (e.options.isEmpty ? " (it takes none)" : "; its options: \(e.options.joined(separator: ", "))"))
        }
        let k = config.double("density")
        guard k > 0 && k <= 1 else { throw SparseWireError.config("density must be in (0, 1] (the fraction of weights kept), got \(k)") }
        if e.name == "dense" && k != 1 {
            throw SparseWireError.config("policy 'dense' keeps every weight; density \(k) needs a masking policy")
        }
    }
}
