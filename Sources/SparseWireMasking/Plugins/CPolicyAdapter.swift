import CKernels
import CSparseWire
import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

/// Makes a C-defined policy (`sw_policy_def`) a `MaskPolicy`: the engine calls it exactly like
/// a built-in. The C state is created at `prepare` (when the seeded stream and density are
/// known) and destroyed with the adapter. Layer views point at the engine's tensors and are
/// refreshed before every call; nothing Swift crosses the boundary.
package final class CPolicyAdapter: MaskPolicy {
    package let definition: CPolicyDefinition
    package let options: PolicyOptions
    private let services: HostServices
    private var state: UnsafeMutableRawPointer?
    private var created = false
    private var layers: [MaskedLayer] = []
    private var views: UnsafeMutablePointer<UnsafeMutablePointer<sw_layer>?>?
    private var names: [UnsafeMutablePointer<CChar>] = []
    private var shapes: [UnsafeMutablePointer<Int64>] = []

    package init(definition: CPolicyDefinition, options: PolicyOptions) {
        self.definition = definition
        self.options = options
        services = HostServices(policy: definition.name, options: options)
    }

    deinit {
        if created, let destroy = definition.table.destroy { destroy(state) }
        if let views {
            for i in 0..<layers.count { views[i]?.deallocate() }
            views.deallocate()
        }
        names.forEach { free($0) }
        shapes.forEach { $0.deallocate() }
    }

    package var routing: GradientRouting { definition.routing }
    package var trainsWeights: Bool { definition.flags & SW_POLICY_FROZEN_WEIGHTS == 0 }
    package var inertDeadWeights: Bool { definition.flags & SW_POLICY_INERT_DEAD_WEIGHTS != 0 }

    package var softMasks: Bool { definition.softMasks }

    private func fail(_ hook: String, _ rc: Int32) -> SparseWireError {
        guard let (msg, isConfig) = services.takeError() else {
            return SparseWireError(.plugin, "policy '\(definition.name)' (\(definition.origin)): \(hook) failed: returned \(rc) without a message")
        }
        // An option of the wrong type is the user's config, not the plugin's fault.
        if isConfig { return SparseWireError(.config, msg) }
        return SparseWireError(.plugin, "policy '\(definition.name)' (\(definition.origin)): \(hook) failed: \(msg)")
    }

    private func check(_ hook: String, _ rc: Int32) throws {
        if rc != SW_PLUGIN_OK { throw fail(hook, rc) }
        _ = services.takeError()  // a message set by a callback that then succeeded
    }

    /// Points every view at the current tensors; weights are writable except in evaluation.
    private func refresh(writable: Bool = true) -> UnsafeMutablePointer<UnsafeMutablePointer<sw_layer>?> {
        let v = views!
        for (i, l) in layers.enumerated() {
            let p = v[i]!
            p.pointee.weights = UnsafePointer(l.parameter.value.data)
            p.pointee.writable_weights = writable ? l.parameter.value.data : nil
            p.pointee.mask = l.mask.data
            p.pointee.scores = l.scores?.value.data
            p.pointee.grad = l.denseGradient.map { UnsafePointer($0.data) }
        }
        return v
    }

    /// After a hook that writes masks: every mask value must be finite and ≥ 0; exactly 0 or 1
    /// when the policy declares a density contract (1.1) without SW_POLICY_SOFT_MASKS (a 1.0
    /// policy may write scaled samples); and under the fixed contract the kept counts must be
    /// exact. Errors: `.plugin` naming the policy, the hook, the layer and the counts or value.
    private func checkMasks(after hook: String, _ ctx: PolicyContext?) throws {
        let who = "policy '\(definition.name)' (\(definition.origin))"
        let binary = definition.densityContract != .undeclared && !definition.softMasks
        var kept: [Int] = []
        for l in layers {
            let m = l.mask.data
            var ones = 0, zeros = 0, valid = 0
            swk_mask_census(m, l.count, &ones, &zeros, &valid)  // one vectorised pass
            if binary ? ones + zeros != l.count : valid != l.count {
                // Only on failure: find the first offending value for the message.
                let i = (0..<l.count).first { binary ? (m[$0] != 0 && m[$0] != 1) : !(m[$0].isFinite && m[$0] >= 0) }!
                throw SparseWireError(.plugin, "\(who): after \(hook), the mask of layer '\(l.name)' holds \(m[i]) at index \(i); "
                    + (binary ? "masks must be 0 or 1 (SW_POLICY_SOFT_MASKS allows other values)" : "masks must be finite and ≥ 0"))
            }
            kept.append(l.count - zeros)
            // A policy that says it honours masking.structure is held to it.
            if definition.honoursStructure, !definition.softMasks,
               let why = l.structure.violation(of: m, shape: l.parameter.shape, keep: l.keepCount) {
                throw SparseWireError(.plugin, "\(who) declares SW_POLICY_HONOURS_STRUCTURE, but after \(hook) the mask of layer '\(l.name)' "
                    + "breaks masking.structure \(l.structure.description): \(why)")
            }
        }
        guard definition.densityContract == .fixed else { return }
        if ctx?.scope == .global, layers.count > 1 {
            let total = kept.reduce(0, +), target = layers.reduce(0) { $0 + $1.keepCount }
            guard total == target else {
                let detail = zip(layers, kept).map { "\($0.name) \($1)" }.joined(separator: ", ")
                throw SparseWireError(.plugin, "\(who) declares SW_POLICY_FIXED_DENSITY, but after \(hook) its masks keep \(total) weights in all "
                    + "under masking.scope global; the target is \(target) (per layer: \(detail))")
            }
            return
        }
        for (l, k) in zip(layers, kept) where k != l.keepCount {
            throw SparseWireError(.plugin, "\(who) declares SW_POLICY_FIXED_DENSITY, but after \(hook) layer '\(l.name)' keeps \(k) of \(l.count) "
                + "weights; its keep_count is \(l.keepCount) (density \(l.density))")
        }
    }

    private func info(_ s: MaskStep) -> sw_step_info {
        sw_step_info(struct_size: UInt32(MemoryLayout<sw_step_info>.size), training: s.training ? 1 : 0,
                     step: Int64(s.step), epoch: Int64(s.epoch), steps_per_epoch: Int64(s.stepsPerEpoch),
                     total_steps: Int64(s.totalSteps))
    }

    package func prepare(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws {
        guard !created else { throw SparseWireError(.state, "policy '\(definition.name)': prepare called twice") }
        self.layers = layers
        services.context = ctx
        services.layers = layers
        let v = UnsafeMutablePointer<UnsafeMutablePointer<sw_layer>?>.allocate(capacity: Swift.max(layers.count, 1))
        views = v
        for (i, l) in layers.enumerated() {
            if definition.usesScores {
                l.scores = Parameter(name: l.name + ".scores", shape: l.parameter.shape, role: .other, maskable: false)
            }
            let name = strdup(l.name)!
            names.append(name)
            let shape = UnsafeMutablePointer<Int64>.allocate(capacity: Swift.max(l.parameter.shape.count, 1))
            for (d, s) in l.parameter.shape.enumerated() { shape[d] = Int64(s) }
            shapes.append(shape)
            let view = UnsafeMutablePointer<sw_layer>.allocate(capacity: 1)
            view.initialize(to: sw_layer(struct_size: UInt32(MemoryLayout<sw_layer>.size), index: UInt32(i),
                                         name: UnsafePointer(name), shape: UnsafePointer(shape),
                                         rank: UInt32(l.parameter.shape.count), count: UInt64(l.count),
                                         keep_count: UInt64(l.keepCount), density: l.density,
                                         weights: nil, scores: nil, grad: nil, mask: nil, writable_weights: nil))
            v[i] = view
        }
        let json = try options.jsonText()
        var st: UnsafeMutableRawPointer?
        let rc = json.withCString { definition.table.create!(definition.table.user_data, services.table, $0, ctx.density, &st) }
        try check("create", rc)
        state = st
        created = true
        if let prepare = definition.table.prepare {
            try check("prepare", prepare(state, refresh(), UInt32(layers.count)))
        }
    }

    package func needsDenseGradient(at step: MaskStep) -> Bool {
        guard created, let f = definition.table.needs_gradient else { return false }
        var s = info(step)
        return f(state, &s) != 0
    }

    package func updateMasks(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws {
        var s = info(step)
        try check("update_masks", definition.table.update_masks!(state, refresh(), UInt32(layers.count), &s))
        try checkMasks(after: "update_masks", ctx)
    }

    package func afterBackward(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws -> Bool {
        guard let f = definition.table.after_backward else { return false }
        var s = info(step)
        var skip: Int32 = 0
        try check("after_backward", f(state, refresh(), UInt32(layers.count), &s, &skip))
        try checkMasks(after: "after_backward", ctx)
        return skip != 0
    }

    /// The hooks the plugin's table fills (a NULL hook does nothing).
    package func activeHooks(at step: MaskStep) -> PolicyHooks {
        var h: PolicyHooks = []
        if definition.table.update_masks != nil { h.insert(.updateMasks) }
        if definition.table.after_backward != nil { h.insert(.afterBackward) }
        if definition.table.after_step != nil { h.insert(.afterStep) }
        return h
    }

    package func afterStep(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws {
        guard let f = definition.table.after_step else { return }
        var s = info(step)
        try check("after_step", f(state, refresh(), UInt32(layers.count), &s))
        try checkMasks(after: "after_step", ctx)
    }

    package func evaluationMasks(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws {
        guard let f = definition.table.evaluation_masks else { return }
        try check("evaluation_masks", f(state, refresh(writable: false), UInt32(layers.count)))
        try checkMasks(after: "evaluation_masks", ctx)
    }

    package func saveState() throws -> [UInt8]? {
        guard let save = definition.table.save_state, created else { return nil }
        var needed: UInt64 = 0
        try check("save_state", save(state, nil, 0, &needed))
        guard needed <= UInt64(1) << 34 else {
            throw SparseWireError(.plugin, "policy '\(definition.name)' (\(definition.origin)): save_state asks for \(needed) bytes (more than 16 GiB)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(needed))
        var again: UInt64 = 0
        try bytes.withUnsafeMutableBufferPointer { b in
            try check("save_state", save(state, b.baseAddress, needed, &again))
        }
        guard again == needed else {
            throw SparseWireError(.plugin, "policy '\(definition.name)' (\(definition.origin)): save_state reported \(needed) bytes, then \(again) on the second call")
        }
        return bytes
    }

    package func loadState(_ bytes: [UInt8]) throws {
        guard let load = definition.table.load_state else {
            throw SparseWireError(.data, "the checkpoint holds \(bytes.count) bytes of state for policy '\(definition.name)', which has no load_state hook")
        }
        guard created else { throw SparseWireError(.state, "policy '\(definition.name)': load_state before prepare") }
        try bytes.withUnsafeBufferPointer { b in
            try check("load_state", load(state, b.baseAddress, UInt64(b.count)))
        }
    }

    /// Whether the policy writes state through save_state (checkpoints must then hold it).
    package var savesState: Bool { definition.table.save_state != nil }
}
