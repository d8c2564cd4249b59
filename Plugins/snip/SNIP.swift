// snip — SNIP (Lee et al. 2019, "Single-shot Network Pruning based on Connection Sensitivity"),
// a SparseWire policy plugin written in Swift that speaks ONLY the C plugin ABI of
// Include/sparsewire_plugin.h: no Swift type crosses the boundary, the host never sees Swift.
//
// At the first training step the masks are all ones; the host keeps dL/dŵ for that step, the
// policy ranks every connection by its sensitivity |dL/dŵ ⊙ w| and keeps the top k (per layer
// or globally, as `masking.scope` says; the paper prunes globally), skips that step's update
// (the weights stay at their initialisation, as SNIP prunes before training) and never changes
// the mask again. Only kept weights learn.
//
// Plugin ABI 1.1: whether the mask has been chosen is saved in checkpoints (save_state /
// load_state: one byte), so a run resumed after the first step does not prune again; the
// density contract is "learned" (all ones until the first step, then exactly the target).
//
// Build: swift build -c release --product sw_snip → .build/release/libsw_snip.so
import CSparseWire

#if canImport(Glibc)
import Glibc
#endif

/// One instance: the host table and whether the mask has been chosen.
private final class SNIPState {
    let host: UnsafePointer<sw_host>
    var chosen = false
    init(host: UnsafePointer<sw_host>) { self.host = host }

    func fail(_ message: String) -> Int32 {
        message.withCString { host.pointee.set_error(host.pointee.context, $0) }
        return SW_PLUGIN_FAILED
    }
}

private func state(_ p: UnsafeMutableRawPointer?) -> SNIPState {
    Unmanaged<SNIPState>.fromOpaque(p!).takeUnretainedValue()
}

private func makeDefinition() -> UnsafeMutablePointer<sw_policy_def> {
    var d = sw_policy_def()
    d.struct_size = UInt32(MemoryLayout<sw_policy_def>.size)
    d.name = UnsafePointer(strdup("snip"))
    d.summary = UnsafePointer(strdup("SNIP: prune once at the first step by |dL/dŵ ⊙ w| (Lee et al. 2019) [Swift plugin]"))
    d.routing = SW_ROUTE_MASKED_WEIGHTS
    d.flags = SW_POLICY_LEARNED_DENSITY
    d.save_state = { p, buf, capacity, needed in
        needed?.pointee = 1
        if let buf, capacity >= 1 { buf[0] = state(p).chosen ? 1 : 0 }
        return SW_PLUGIN_OK
    }
    d.load_state = { p, bytes, size in
        let s = state(p)
        guard size == 1, let bytes, bytes[0] <= 1 else { return s.fail("load_state: expected 1 byte (0 or 1), got \(size)") }
        s.chosen = bytes[0] == 1
        return SW_PLUGIN_OK
    }
    d.create = { _, host, _, _, out in
        guard let host, let out else { return SW_PLUGIN_FAILED }
        out.pointee = Unmanaged.passRetained(SNIPState(host: host)).toOpaque()
        return SW_PLUGIN_OK
    }
    d.destroy = { p in if let p { Unmanaged<SNIPState>.fromOpaque(p).release() } }
    d.needs_gradient = { p, step in
        guard let step else { return 0 }
        return !state(p).chosen && step.pointee.training != 0 ? 1 : 0
    }
    d.update_masks = { _, _, _, _ in SW_PLUGIN_OK }  // the mask is fixed once chosen
    d.after_backward = { p, layers, n, _, skip in
        let s = state(p)
        guard !s.chosen, let layers else { return SW_PLUGIN_OK }
        var criteria: [UnsafePointer<Float>?] = []
        var buffers: [UnsafeMutablePointer<Float>] = []
        defer { buffers.forEach { $0.deallocate() } }
        for i in 0..<Int(n) {
            guard let l = layers[i], let g = l.pointee.grad, let w = l.pointee.weights else {
                return s.fail("layer \(i) has no gradient at the first step (needs_gradient was ignored?)")
            }
            let c = Int(l.pointee.count)
            let b = UnsafeMutablePointer<Float>.allocate(capacity: c)
            for j in 0..<c { b[j] = abs(g[j] * w[j]) }
            buffers.append(b)
            criteria.append(UnsafePointer(b))
        }
        let rc = criteria.withUnsafeBufferPointer { s.host.pointee.select_topk(s.host.pointee.context, layers, n, $0.baseAddress) }
        guard rc == SW_PLUGIN_OK else { return rc }
        s.chosen = true
        skip?.pointee = 1
        "snip: connections chosen at the first step".withCString { s.host.pointee.log(s.host.pointee.context, SW_LOG_INFO, $0) }
        return SW_PLUGIN_OK
    }
    let p = UnsafeMutablePointer<sw_policy_def>.allocate(capacity: 1)
    p.initialize(to: d)
    return p
}

nonisolated(unsafe) private let descriptor: UnsafeMutablePointer<sw_plugin> = {
    let table = UnsafeMutablePointer<UnsafePointer<sw_policy_def>?>.allocate(capacity: 1)
    table[0] = UnsafePointer(makeDefinition())
    let p = UnsafeMutablePointer<sw_plugin>.allocate(capacity: 1)
    p.initialize(to: sw_plugin(struct_size: UInt32(MemoryLayout<sw_plugin>.size), abi_version: SW_PLUGIN_ABI_VERSION,
                               name: UnsafePointer(strdup("snip")), version: UnsafePointer(strdup("1.1.0")),
                               policy_count: 1, policies: UnsafePointer(table), abi_minor: SW_PLUGIN_ABI_MINOR))
    return p
}()

@c @implementation
public func sw_plugin_entry() -> UnsafePointer<sw_plugin>? { UnsafePointer(descriptor) }
