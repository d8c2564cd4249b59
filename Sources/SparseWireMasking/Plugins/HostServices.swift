import CSparseWire
import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

/// The `sw_host` table one C-defined policy instance receives: logging, error messages, the
/// engine's seeded random stream, top-k helpers, typed option reads and (1.1) optimizer-state
/// resets. `context` is this object (unretained; the adapter owns it and outlives every call).
package final class HostServices {
    package let policy: String
    package let options: PolicyOptions
    package weak var context: PolicyContext?
    /// The instance's layers (set at prepare), for reset_optimizer_state.
    package var layers: [MaskedLayer] = []
    private var error: String?
    /// Whether the pending error is about a config value (an option of the wrong type).
    private var errorIsConfig = false
    package let table: UnsafeMutablePointer<sw_host>

    package init(policy: String, options: PolicyOptions) {
        self.policy = policy
        self.options = options
        table = .allocate(capacity: 1)
        table.initialize(to: sw_host(
            struct_size: UInt32(MemoryLayout<sw_host>.size), abi_version: SW_PLUGIN_ABI_VERSION, context: nil,
            log: { ctx, level, msg in HostServices.from(ctx)?.log(level, msg) },
            set_error: { ctx, msg in
                guard let s = HostServices.from(ctx) else { return }
                s.error = msg.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: strlen($0)), as: UTF8.self) } ?? "(NULL message)"
                s.errorIsConfig = false
            },
            random_u64: { ctx in HostServices.from(ctx)?.context?.rng.next() ?? 0 },
            random_uniform: { ctx in HostServices.from(ctx)?.context?.rng.uniform() ?? 0 },
            random_normal: { ctx in HostServices.from(ctx)?.context?.rng.normal() ?? 0 },
            topk_mask: { values, n, k, mask in
                guard let values, let mask, n > 0 else { return }
                TopK.mask(values, count: Int(n), k: Int(Swift.min(k, n)), into: mask)
            },
            select_topk: { ctx, layers, n, criteria in
                guard let s = HostServices.from(ctx) else { return SW_PLUGIN_FAILED }
                return s.selectTopK(layers, Int(n), criteria)
            },
            option_double: { ctx, name, out in
                guard let s = HostServices.from(ctx) else { return -1 }
                return s.option(name, out) { v in
                    switch v { case let .double(d): return d; case let .int(i): return Double(i); default: return nil }
                }
            },
            option_int: { ctx, name, out in
                guard let s = HostServices.from(ctx) else { return -1 }
                return s.option(name, out) { v in
                    switch v {
                    case let .int(i): return Int64(i)
                    case let .double(d) where d.rounded() == d && abs(d) < 9e18: return Int64(d)
                    default: return nil
                    }
                }
            },
            abi_minor: SW_PLUGIN_ABI_MINOR,
            reset_optimizer_state: { ctx, layer, indices, n in
                guard let s = HostServices.from(ctx) else { return SW_PLUGIN_FAILED }
                return s.resetOptimizerState(Int(layer), indices, n)
            }))
        table.pointee.context = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit { table.deallocate() }

    package static func from(_ ctx: UnsafeMutableRawPointer?) -> HostServices? {
        ctx.map { Unmanaged<HostServices>.fromOpaque($0).takeUnretainedValue() }
    }

    /// The pending error message (cleared), and whether it is a config error.
    package func takeError() -> (message: String, isConfig: Bool)? {
        defer { error = nil; errorIsConfig = false }
        return error.map { ($0, errorIsConfig) }
    }

    private func log(_ level: Int32, _ msg: UnsafePointer<CChar>?) {
        guard let msg else { return }
        let text = String(decoding: UnsafeRawBufferPointer(start: msg, count: strlen(msg)), as: UTF8.self)
        EngineLog.write(EngineLog.Level(rawValue: Swift.min(Swift.max(level, 0), 2)) ?? .warning, source: policy, text)
    }

    private func option<T>(_ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<T>?, _ convert: (ConfigValue) -> T?) -> Int32 {
        guard let name, let key = String(validatingCString: name) else { error = "option name is NULL or not UTF-8"; return -1 }
        guard let v = options.values[key] else { return 0 }
        guard let x = convert(v) else {
            error = "policy '\(policy)': option '\(key)' has the wrong type: '\(v)' (\(T.self == Int64.self ? "an integer" : "a number") expected)"
            errorIsConfig = true
            return -1
        }
        out?.pointee = x
        return 1
    }

    /// reset_optimizer_state: checks the layer and every index before resetting any.
    private func resetOptimizerState(_ layer: Int, _ indices: UnsafePointer<UInt64>?, _ n: UInt64) -> Int32 {
        guard layer >= 0, layer < layers.count else {
            error = "reset_optimizer_state: layer \(layer) out of range (\(layers.count) masked layers)"; return SW_PLUGIN_FAILED
        }
        guard n > 0 else { return SW_PLUGIN_OK }
        guard let indices else { error = "reset_optimizer_state: indices is NULL with n = \(n)"; return SW_PLUGIN_FAILED }
        let l = layers[layer]
        var list = [Int]()
        list.reserveCapacity(Int(Swift.min(n, UInt64(l.count))))
        for i in 0..<Int(n) {
            guard indices[i] < UInt64(l.count) else {
                error = "reset_optimizer_state: index \(indices[i]) (entry \(i)) out of range for layer '\(l.name)' of \(l.count) weights"
                return SW_PLUGIN_FAILED
            }
            list.append(Int(indices[i]))
        }
        context?.optimizer?.resetState(of: l.parameter, indices: list)
        return SW_PLUGIN_OK
    }

    private func selectTopK(_ layers: UnsafePointer<UnsafeMutablePointer<sw_layer>?>?, _ n: Int,
                            _ criteria: UnsafePointer<UnsafePointer<Float>?>?) -> Int32 {
        guard n > 0 else { return SW_PLUGIN_OK }
        guard let layers, let criteria else { error = "select_topk: layers or criteria is NULL"; return SW_PLUGIN_FAILED }
        for i in 0..<n where layers[i] == nil || criteria[i] == nil || layers[i]!.pointee.mask == nil {
            error = "select_topk: layer \(i), its mask or its criterion is NULL"; return SW_PLUGIN_FAILED
        }
        // A structured config (masking.structure): per layer, the structure's selection.
        if let structure = self.layers.first?.structure, structure != .unstructured {
            for i in 0..<n {
                let l = layers[i]!.pointee
                guard Int(l.index) < self.layers.count else { error = "select_topk: layer \(i) has index \(l.index) out of range"; return SW_PLUGIN_FAILED }
                let shape = self.layers[Int(l.index)].parameter.shape
                structure.select(criteria[i]!, shape: shape, keep: Int(l.keep_count), into: l.mask, order: .value)
            }
            return SW_PLUGIN_OK
        }
        if context?.scope == .global && n > 1 {
            let total = (0..<n).reduce(0) { $0 + Int(layers[$1]!.pointee.count) }
            let keep = (0..<n).reduce(0) { $0 + Int(layers[$1]!.pointee.keep_count) }
            let all = UnsafeMutablePointer<Float>.allocate(capacity: total), m = UnsafeMutablePointer<Float>.allocate(capacity: total)
            defer { all.deallocate(); m.deallocate() }
            var o = 0
            for i in 0..<n { let c = Int(layers[i]!.pointee.count); (all + o).update(from: criteria[i]!, count: c); o += c }
            TopK.mask(all, count: total, k: keep, into: m)
            o = 0
            for i in 0..<n { let c = Int(layers[i]!.pointee.count); layers[i]!.pointee.mask.update(from: m + o, count: c); o += c }
        } else {
            for i in 0..<n {
                let l = layers[i]!.pointee
                TopK.mask(criteria[i]!, count: Int(l.count), k: Int(l.keep_count), into: l.mask)
            }
        }
        return SW_PLUGIN_OK
    }
}
