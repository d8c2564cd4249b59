import CSparseWire
import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

/// How many weights a C-defined policy keeps, as its flags declare (plugin ABI 1.1).
public enum DensityContract: Sendable, Equatable {
    /// SW_POLICY_FIXED_DENSITY: exactly keep_count ones per layer (or in total under global
    /// scope) after every hook, checked by the host.
    case fixed
    /// SW_POLICY_LEARNED_DENSITY: the policy decides; not checked.
    case learned
    /// Neither flag (every 1.0 plugin): not checked.
    case undeclared
}

/// What a C-defined policy option accepts (SW_OPTION_*); untyped 1.0 options are `.number`
/// read lazily by the plugin.
public enum COptionType: UInt32, Sendable {
    /// Any finite number.
    case number = 0
    /// A whole number.
    case integer = 1
    /// Any JSON value.
    case any = 2
}

/// A policy defined by a C function table (`sw_policy_def` of Include/sparsewire_plugin.h),
/// from a plugin or from host callbacks. The table is validated and copied; its strings are
/// copied into Swift strings, its function pointers and `user_data` must stay valid. A table
/// shorter than this header's (a 1.0 plugin) is read up to its `struct_size`; the fields it
/// lacks are NULL.
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
    /// The declared density contract (SW_POLICY_FIXED_DENSITY / _LEARNED_DENSITY).
    public let densityContract: DensityContract
    /// Types of typed options (`sw_option_info`, 1.1), by name; empty for 1.0 options.
    public let optionTypes: [String: COptionType]
    package let table: sw_policy_def

    /// Size of a 1.0 `sw_policy_def` (the table ends at `evaluation_masks`): the least a table may declare.
    public static let version1Size = MemoryLayout<sw_policy_def>.offset(of: \sw_policy_def.save_state)!

    /// Where each field added after 1.0 ends, in order (a declared size is cut back to one of these).
    static let fieldEnds: [Int] = {
        typealias D = sw_policy_def
        let o = { (k: PartialKeyPath<D>) in MemoryLayout<D>.offset(of: k)! }
        return [version1Size, o(\D.load_state), o(\D.destroy_user_data), o(\D.option_infos), o(\D.option_info_count),
                o(\D.option_info_count) + MemoryLayout<UInt32>.size]
    }()

    /// Checks a C policy table and copies it. Nothing is called.
    /// Errors: `.plugin` for a NULL or short table, a bad name, NULL or non-UTF-8 strings, an unknown
    /// routing or flag, scores routing without USES_SCORES, no `create` / `update_masks`, or bad options.
    public init(_ def: UnsafePointer<sw_policy_def>?, origin: String) throws {
        guard let def else { throw SparseWireError(.plugin, "\(origin): policy table pointer is NULL") }
        let size = Int(def.pointee.struct_size)
        guard size >= CPolicyDefinition.version1Size else {
            throw SparseWireError(.plugin, "\(origin): sw_policy_def.struct_size is \(size), expected ≥ \(CPolicyDefinition.version1Size) (set it to sizeof(sw_policy_def))")
        }
        // Copy only the fields the writer's struct holds whole (a 1.0 table is shorter; a size that
        // ends inside a field must not yield half a pointer); the rest stays zero.
        var t = sw_policy_def()
        let whole = CStructPrefix.wholeFields(size, fieldEnds: CPolicyDefinition.fieldEnds)
        withUnsafeMutableBytes(of: &t) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(def), count: whole))
        }
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
            | SW_POLICY_FIXED_DENSITY | SW_POLICY_LEARNED_DENSITY | SW_POLICY_SOFT_MASKS | SW_POLICY_HONOURS_STRUCTURE | SW_POLICY_INERT_DEAD_WEIGHTS
        guard t.flags & ~known == 0 else {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' sets unknown flag bits 0x\(String(t.flags & ~known, radix: 16))")
        }
        let fixed = t.flags & SW_POLICY_FIXED_DENSITY != 0, learned = t.flags & SW_POLICY_LEARNED_DENSITY != 0
        guard !(fixed && learned) else {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' sets both SW_POLICY_FIXED_DENSITY and SW_POLICY_LEARNED_DENSITY (at most one)")
        }
        guard !(fixed && t.flags & SW_POLICY_SOFT_MASKS != 0) else {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' sets SW_POLICY_FIXED_DENSITY (0/1 masks with exact counts) and SW_POLICY_SOFT_MASKS")
        }
        guard (t.save_state == nil) == (t.load_state == nil) else {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' sets \(t.save_state == nil ? "load_state" : "save_state") without \(t.save_state == nil ? "save_state" : "load_state") (checkpoints need both)")
        }
        if t.flags & SW_POLICY_INERT_DEAD_WEIGHTS != 0, t.flags & SW_POLICY_SOFT_MASKS != 0 {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' sets SW_POLICY_INERT_DEAD_WEIGHTS with SW_POLICY_SOFT_MASKS (a host holding masked weights at zero needs 0/1 masks)")
        }
        if t.flags & SW_POLICY_INERT_DEAD_WEIGHTS != 0, t.routing != SW_ROUTE_MASKED_WEIGHTS {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' sets SW_POLICY_INERT_DEAD_WEIGHTS, which needs routing SW_ROUTE_MASKED_WEIGHTS (2), but its routing is \(t.routing)")
        }
        if t.routing >= SW_ROUTE_SCORES, t.flags & SW_POLICY_USES_SCORES == 0 {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' routes gradients to scores but does not set SW_POLICY_USES_SCORES")
        }
        guard t.create != nil else { throw SparseWireError(.plugin, "\(origin): policy '\(name)' has no create callback") }
        guard t.update_masks != nil else { throw SparseWireError(.plugin, "\(origin): policy '\(name)' has no update_masks callback") }
        guard t.option_count <= 256, t.option_count == 0 || t.options != nil else {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' declares \(t.option_count) options with options = \(t.options == nil ? "NULL" : "a table")")
        }
        guard t.option_info_count <= 256, t.option_info_count == 0 || t.option_infos != nil else {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' declares \(t.option_info_count) typed options with option_infos = \(t.option_infos == nil ? "NULL" : "a table")")
        }
        guard t.option_info_count == 0 || t.option_count == 0 else {
            throw SparseWireError(.plugin, "\(origin): policy '\(name)' sets both options (\(t.option_count)) and option_infos (\(t.option_info_count)); use one")
        }
        var options: [(name: String, help: String)] = []
        var types: [String: COptionType] = [:]
        func add(_ i: Int, _ namePointer: UnsafePointer<CChar>?, _ helpPointer: UnsafePointer<CChar>?) throws -> String {
            let on = try CString.read(namePointer, what: "option \(i) of '\(name)'", origin: origin)
            guard !on.isEmpty else { throw SparseWireError(.plugin, "\(origin): option \(i) of '\(name)' has an empty name") }
            guard !options.contains(where: { $0.name == on }) else { throw SparseWireError(.plugin, "\(origin): option '\(on)' of '\(name)' is declared twice") }
            let help = try helpPointer.map { try CString.read($0, what: "help of option '\(on)'", origin: origin) } ?? ""
            options.append((on, help))
            return on
        }
        for i in 0..<Int(t.option_count) {
            let o = t.options![i]
            _ = try add(i, o.name, o.help)
        }
        for i in 0..<Int(t.option_info_count) {
            guard let o = t.option_infos![i] else { throw SparseWireError(.plugin, "\(origin): option_infos[\(i)] of '\(name)' is NULL") }
            let least = MemoryLayout<sw_option_info>.size
            guard Int(o.pointee.struct_size) >= least else {
                throw SparseWireError(.plugin, "\(origin): option_infos[\(i)] of '\(name)' has struct_size \(o.pointee.struct_size), expected ≥ \(least)")
            }
            guard let type = COptionType(rawValue: o.pointee.type) else {
                throw SparseWireError(.plugin, "\(origin): option_infos[\(i)] of '\(name)' has unknown type \(o.pointee.type) (SW_OPTION_* is 0…2)")
            }
            types[try add(i, o.pointee.name, o.pointee.help)] = type
        }
        self.name = name; self.summary = summary; self.routing = routing; self.flags = t.flags
        self.options = options; self.origin = origin; self.optionTypes = types
        densityContract = fixed ? .fixed : learned ? .learned : .undeclared
        var copy = t
        copy.struct_size = UInt32(MemoryLayout<sw_policy_def>.size)
        copy.name = nil; copy.summary = nil; copy.options = nil  // strings live in the Swift copies
        copy.option_infos = nil; copy.option_count = 0; copy.option_info_count = 0
        table = copy
    }

    deinit {
        // Only reachable once the policy is unregistered and its last instance is gone.
        table.destroy_user_data?(table.user_data)
    }

    /// Checks given option values against the declared types (1.1 typed options).
    /// Errors: `.config` naming the option, its value and the type it needs.
    public func checkOptionTypes(_ options: PolicyOptions) throws {
        for (key, type) in optionTypes.sorted(by: { $0.key < $1.key }) where options.values[key] != nil {
            switch type {
            case .number: _ = try options.double(key, default: 0)
            case .integer: _ = try options.int(key, default: 0)
            case .any: break
            }
        }
    }

    /// Whether masks may hold values other than 0 and 1 (SW_POLICY_SOFT_MASKS).
    public var softMasks: Bool { flags & SW_POLICY_SOFT_MASKS != 0 }
    /// Whether the policy declares SW_POLICY_HONOURS_STRUCTURE (its masks are then checked
    /// against masking.structure after every hook).
    public var honoursStructure: Bool { flags & SW_POLICY_HONOURS_STRUCTURE != 0 }

    /// The origin of tables registered by `sw_register_policy` (removable again).
    public static let hostCallbacks = "host callbacks"

    /// Whether SW_POLICY_USES_SCORES is set (each layer then gets a score tensor at `prepare`).
    public var usesScores: Bool { flags & SW_POLICY_USES_SCORES != 0 }

    /// The registry entry; each `make` builds a fresh instance (created at `prepare`).
    public var descriptor: PolicyDescriptor {
        PolicyDescriptor(name: name, summary: summary.isEmpty ? "(\(origin))" : summary, options: options,
                         preferredDistribution: flags & SW_POLICY_PREFERS_ERK != 0 ? .erk : .uniform,
                         removable: origin == CPolicyDefinition.hostCallbacks,
                         honoursStructure: flags & SW_POLICY_HONOURS_STRUCTURE != 0) { [self] opts in
            try checkOptionTypes(opts)
            return CPolicyAdapter(definition: self, options: opts)
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

/// Reading C structs that grow at the end: how much of a writer's struct to copy.
package enum CStructPrefix {
    /// The largest field end ≤ `declared` (at least the first end, which callers check), so a
    /// struct_size that stops inside a field never yields part of it.
    package static func wholeFields(_ declared: Int, fieldEnds: [Int]) -> Int {
        fieldEnds.last { $0 <= declared } ?? fieldEnds[0]
    }
}
