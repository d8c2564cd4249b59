import CSparseWire
import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

/// A policy defined by a C function table (`sw_policy_def` of Include/sparsewire_plugin.h),
/// from a plugin or from host callbacks. The table is validated and copied; its strings are
/// copied into Swift strings, its function pointers and `user_data` must stay valid.
public final class CPolicyDefinition: @unchecked Sendable {
    /// The policy name (1–64 characters of [a-z0-9_-]).
    public let name: String
    /// One-line summary; empty when the table's is NULL.
    public let summary: String
    /// The gradient routing decoded from the table's SW_ROUTE_* value.
    public let routing: GradientRouting
    /// The SW_POLICY_* bits: FROZEN_WEIGHTS, USES_SCORES, PREFERS_ERK.
    public let flags: UInt32
    /// Declared options with their help (empty when NULL).
    public let options: [(name: String, help: String)]
    /// Where it came from, for error messages: "plugin /path/libsw_gmp.so" or "host callbacks".
    public let origin: String
    package let table: sw_policy_def

    /// Checks a C policy table and copies it. Nothing is called.
    /// Errors: `.plugin` for a NULL or short table, a bad name, NULL or non-UTF-8 strings, an unknown
    /// routing or flag, scores routing without USES_SCORES, no `create` / `update_masks`, or bad options.
    public init(_ def: UnsafePointer<sw_policy_def>?, origin: String) throws {
        guard let def else { throw SparseWireError(.plugin, "\(origin): policy table pointer is NULL") }
        let size = Int(def.pointee.struct_size)
        guard size >= MemoryLayout<sw_policy_def>.size else {
            throw SparseWireError(.plugin, "\(origin): sw_policy_def.struct_size is \(size), expected ≥ \(MemoryLayout<sw_policy_def>.size) (set it to sizeof(sw_policy_def))")
        }
        let t = def.pointee
        let name = try CString.read(t.name, what: "policy name", origin: origin)
        guard !name.isEmpty, name.count <= 64,
              name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }) else {
            throw SparseWireError(.plugin, "\(origin): policy name '\(name)' must be 1–64 characters of [a-z0-9_-]")
        }
        let summary = try t.summary.map { try CString.read($0, what: "summary of '\(name)'", origin: origin) } ?? ""
        let routing: GradientRouting
        switch t.routing {
        case SW_ROUTE_NONE: routing = .none
        case SW_ROUTE_STRAIGHT_THROUGH: routing = .straightThrough
        case SW_ROUTE_MASKED_WEIGHTS: routing = .maskedWeights
        case SW_ROUTE_SCORES: routing = .scores(absolute: false)
        case SW_ROUTE_ABS_SCORES: routing = .scores(absolute: true)
        case SW_ROUTE_SIGMOID_SCORES: routing = .sigmoidScores
        default: throw SparseWireError(.plugin, "\(origin): policy '\(name)' has unknown routing \(t.routing) (SW_ROUTE_* is 0…5)")
        }
        let known = SW_POLICY_FROZEN_WEIGHTS | SW_POLICY_USES_SCORES | SW_POLICY_PREFERS_ERK
        guard t.flags & ~known == 0 else {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' sets unknown flag bits 0x\(String(t.flags & ~known, radix: 16))")
        }
        if t.routing >= SW_ROUTE_SCORES, t.flags & SW_POLICY_USES_SCORES == 0 {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' routes gradients to scores but does not set SW_POLICY_USES_SCORES")
        }
        guard t.create != nil else { throw SparseWireError(.plugin, "\(origin): policy '\(name)' has no create callback") }
        guard t.update_masks != nil else { throw SparseWireError(.plugin, "\(origin): policy '\(name)' has no update_masks callback") }
        guard t.option_count <= 256, t.option_count == 0 || t.options != nil else {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' declares \(t.option_count) options with options = \(t.options == nil ? "NULL" : "a table")")
        }
        var options: [(name: String, help: String)] = []
        for i in 0..<Int(t.option_count) {
            let o = t.options![i]
            let on = try CString.read(o.name, what: "option \(i) of '\(name)'", origin: origin)
            guard !on.isEmpty else { throw SparseWireError(.plugin, "\(origin): option \(i) of '\(name)' has an empty name") }
            let help = try o.help.map { try CString.read($0, what: "help of option '\(on)'", origin: origin) } ?? ""
            options.append((on, help))
        }
        self.name = name; self.summary = summary; self.routing = routing; self.flags = t.flags
        self.options = options; self.origin = origin
        var copy = t
        copy.struct_size = UInt32(MemoryLayout<sw_policy_def>.size)
        copy.name = nil; copy.summary = nil; copy.options = nil  // strings live in the Swift copies
        table = copy
    }

    /// Whether SW_POLICY_USES_SCORES is set (each layer then gets a score tensor at `prepare`).
    public var usesScores: Bool { flags & SW_POLICY_USES_SCORES != 0 }

    /// The registry entry; each `make` builds a fresh instance (created at `prepare`).
    public var descriptor: PolicyDescriptor {
        PolicyDescriptor(name: name, summary: summary.isEmpty ? "(\(origin))" : summary, options: options,
                         preferredDistribution: flags & SW_POLICY_PREFERS_ERK != 0 ? .erk : .uniform) { [self] opts in
            CPolicyAdapter(definition: self, options: opts)
        }
    }
}

/// Reading C strings from outside: NULL and invalid UTF-8 are errors that name what was read.
package enum CString {
    package static func read(_ p: UnsafePointer<CChar>?, what: String, origin: String) throws -> String {
        guard let p else { throw SparseWireError(.plugin, "\(origin): \(what) is NULL") }
        guard let s = String(validatingCString: p) else { throw SparseWireError(.plugin, "\(origin): \(what) is not valid UTF-8") }
        return s
    }
}
