import CSparseWire
import Foundation
import SparseWireCore

/// What an `sw_policy*` points at: a stand-alone policy over host-owned buffers.
final class PolicyHandle {
    static let table = HandleTable<PolicyHandle>(kind: "sw_policy")
    let masking: StandaloneMasking
    /// One mutating call at a time (see `CallGuard`).
    let calls = CallGuard(allowed: "sw_policy_info, sw_policy_needs_gradient and sw_policy_optimizer_resets")
    init(_ m: StandaloneMasking) { masking = m }

    /// The host's layer buffers: an array of structs (the first calls) or, for the `_v2` calls,
    /// an array of pointers to structs that may be larger than this header's.
    enum Table {
        case structs(UnsafePointer<sw_layer_buffers>?)
        case pointers(UnsafePointer<UnsafePointer<sw_layer_buffers>?>?)
    }

    /// Checks the host's buffer table against the declared layers.
    func buffers(_ table: Table, _ n: UInt32, needScores: Bool) throws -> [sw_layer_buffers] {
        let declared = masking.parameters.count
        guard declared > 0 else { throw SparseWireError(.state, "no layer declared (call sw_policy_add_layer first)") }
        guard Int(n) == declared else { throw SparseWireError.shape("n is \(n), but \(declared) layers are declared") }
        let least = MemoryLayout<sw_layer_buffers>.size
        func entry(_ i: Int) throws -> sw_layer_buffers {
            switch table {
            case let .structs(layers): return try require(layers, "layers")[i]
            case let .pointers(layers):
                guard let p = try require(layers, "layers")[i] else { throw BoundaryError.argument("layers[\(i)] is NULL") }
                guard Int(p.pointee.struct_size) >= least else { return p.pointee }  // refused below, naming the layer
                var b = sw_layer_buffers()  // read only the fields this header knows; a larger struct is fine
                withUnsafeMutableBytes(of: &b) { $0.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: least)) }
                return b
            }
        }
        return try (0..<Int(n)).map { i in
            let b = try entry(i)
            let name = masking.parameters[i].name
            guard b.struct_size >= UInt32(least) else {
                throw BoundaryError.argument("layers[\(i)] ('\(name)').struct_size is \(b.struct_size); set it to sizeof(sw_layer_buffers) = \(least)")
            }
            guard b.weights != nil else { throw BoundaryError.argument("layers[\(i)] ('\(name)').weights is NULL") }
            guard b.mask != nil else { throw BoundaryError.argument("layers[\(i)] ('\(name)').mask is NULL") }
            if needScores, b.scores == nil {
                throw BoundaryError.argument("layers[\(i)] ('\(name)').scores is NULL; policy '\(masking.descriptor.name)' learns scores")
            }
            return b
        }
    }

    var usesScores: Bool {
        switch masking.policy.routing { case .scores, .sigmoidScores: return true; default: return false }
    }

    /// Host → engine: weights (and scores once they exist).
    func copyIn(_ bufs: [sw_layer_buffers]) {
        for (p, b) in zip(masking.parameters, bufs) { p.value.data.update(from: b.weights!, count: p.count) }
        guard masking.prepared else { return }
        for (l, b) in zip(masking.layers, bufs) {
            if let s = l.scores, let hs = b.scores { s.value.data.update(from: hs, count: s.count) }
        }
    }

    /// Engine → host: masks, weights, scores.
    func copyOut(_ bufs: [sw_layer_buffers]) {
        for (l, b) in zip(masking.layers, bufs) {
            b.mask!.update(from: l.mask.data, count: l.count)
            b.weights!.update(from: l.parameter.value.data, count: l.count)
            if let s = l.scores, let hs = b.scores { hs.update(from: s.value.data, count: s.count) }
        }
    }

    func run(_ layers: Table, _ n: UInt32, _ body: () throws -> Void) throws {
        let bufs = try buffers(layers, n, needScores: usesScores)
        copyIn(bufs)
        masking.clearOptimizerResets()
        try masking.prepareIfNeeded()
        try body()
        copyOut(bufs)
    }
}

private func maskStep(_ p: PolicyHandle, _ step: Int64, _ total: Int64) throws -> MaskStep {
    guard step >= 0, total >= 0 else { throw BoundaryError.argument("step (\(step)) and total_steps (\(total)) must be ≥ 0") }
    return p.masking.step(Int(step), of: Int(total))
}

@c @implementation
public func sw_policy_create(_ name: UnsafePointer<CChar>?, _ config: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> sw_status {
    out?.pointee = nil
    return guarded("sw_policy_create") {
        let out = try require(out, "out")
        // Mask-only policies run on the host's thread, next to the host's own threads (PyTorch's
        // OpenMP workers): OpenBLAS's spinning workers would fight those (50× slower steps).
        BLAS.setThreads(1)
        var cfg = try parseConfig(config)
        try cfg.set("policy", value: .string(try string(name, "name")))
        out.pointee = PolicyHandle.table.add(PolicyHandle(try StandaloneMasking(spec: MaskingSpec(config: cfg), seed: TrainingSpec(config: cfg).rngSeed)))
    }
}

@c @implementation
public func sw_policy_destroy(_ policy: OpaquePointer?) {
    _ = PolicyHandle.table.remove(policy)
}

@c @implementation
public func sw_policy_add_layer(_ policy: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ shape: UnsafePointer<Int64>?, _ rank: UInt32) -> sw_status {
    policyCall(policy, "sw_policy_add_layer") {
        let p = try PolicyHandle.table.get(policy)
        let n = try string(name, "name")
        let s = try require(shape, "shape")
        guard rank >= 1, rank <= 8 else { throw SparseWireError.shape("layer '\(n)': rank must be 1…8, got \(rank)") }
        let dims = (0..<Int(rank)).map { s[$0] }
        guard dims.allSatisfy({ $0 > 0 && $0 < (1 << 32) }) else { throw SparseWireError.shape("layer '\(n)': shape \(dims) needs positive dimensions") }
        try p.masking.addLayer(name: n, shape: dims.map { Int($0) })
    }
}

@c @implementation
public func sw_policy_info(_ policy: OpaquePointer?, _ routing: UnsafeMutablePointer<UInt32>?, _ flags: UnsafeMutablePointer<UInt32>?) -> sw_status {
    guarded("sw_policy_info") {
        let p = try PolicyHandle.table.get(policy)
        let r: UInt32
        switch p.masking.policy.routing {
        case .none: r = SW_ROUTE_NONE
        case .straightThrough: r = SW_ROUTE_STRAIGHT_THROUGH
        case .maskedWeights: r = SW_ROUTE_MASKED_WEIGHTS
        case let .scores(absolute): r = absolute ? SW_ROUTE_ABS_SCORES : SW_ROUTE_SCORES
        case .sigmoidScores: r = SW_ROUTE_SIGMOID_SCORES
        }
        routing?.pointee = r
        var f: UInt32 = 0
        if !p.masking.policy.trainsWeights { f |= SW_POLICY_FROZEN_WEIGHTS }
        if p.usesScores { f |= SW_POLICY_USES_SCORES }
        if p.masking.descriptor.preferredDistribution == .erk { f |= SW_POLICY_PREFERS_ERK }
        if p.masking.policy.softMasks { f |= SW_POLICY_SOFT_MASKS }
        if p.masking.descriptor.honoursStructure { f |= SW_POLICY_HONOURS_STRUCTURE }
        if p.masking.policy.inertDeadWeights { f |= SW_POLICY_INERT_DEAD_WEIGHTS }
        if let c = p.masking.policy as? CPolicyAdapter {
            f |= c.definition.flags & (SW_POLICY_FIXED_DENSITY | SW_POLICY_LEARNED_DENSITY)
        }
        flags?.pointee = f
    }
}

private func beforeForward(_ policy: OpaquePointer?, _ function: String, _ step: Int64, _ totalSteps: Int64,
                           _ layers: PolicyHandle.Table, _ n: UInt32) -> sw_status {
    policyCall(policy, function) {
        let p = try PolicyHandle.table.get(policy)
        let s = try maskStep(p, step, totalSteps)
        try p.run(layers, n) { try p.masking.beforeForward(s) }
    }
}

private func afterBackward(_ policy: OpaquePointer?, _ function: String, _ step: Int64, _ totalSteps: Int64,
                           _ layers: PolicyHandle.Table, _ n: UInt32, _ skipUpdate: UnsafeMutablePointer<Int32>?) -> sw_status {
    skipUpdate?.pointee = 0
    return policyCall(policy, function) {
        let p = try PolicyHandle.table.get(policy)
        let s = try maskStep(p, step, totalSteps)
        let bufs = try p.buffers(layers, n, needScores: p.usesScores)
        let grads: [Tensor?] = zip(p.masking.parameters, bufs).map { param, b in
            guard let g = b.grad else { return nil }
            let t = Tensor(shape: param.shape)
            t.data.update(from: g, count: t.count)
            return t
        }
        var skip = false
        try p.run(layers, n) { skip = try p.masking.afterBackward(s, grads: grads) }
        skipUpdate?.pointee = skip ? 1 : 0
    }
}

private func afterStep(_ policy: OpaquePointer?, _ function: String, _ step: Int64, _ totalSteps: Int64,
                       _ layers: PolicyHandle.Table, _ n: UInt32) -> sw_status {
    policyCall(policy, function) {
        let p = try PolicyHandle.table.get(policy)
        let s = try maskStep(p, step, totalSteps)
        try p.run(layers, n) { try p.masking.afterStep(s) }
    }
}

private func evaluationMasks(_ policy: OpaquePointer?, _ function: String, _ layers: PolicyHandle.Table, _ n: UInt32) -> sw_status {
    policyCall(policy, function) {
        let p = try PolicyHandle.table.get(policy)
        try p.run(layers, n) { try p.masking.evaluationMasks() }
    }
}

@c @implementation
public func sw_policy_before_forward(_ policy: OpaquePointer?, _ step: Int64, _ totalSteps: Int64,
                                     _ layers: UnsafePointer<sw_layer_buffers>?, _ n: UInt32) -> sw_status {
    beforeForward(policy, "sw_policy_before_forward", step, totalSteps, .structs(layers), n)
}

@c @implementation
public func sw_policy_after_backward(_ policy: OpaquePointer?, _ step: Int64, _ totalSteps: Int64,
                                     _ layers: UnsafePointer<sw_layer_buffers>?, _ n: UInt32,
                                     _ skipUpdate: UnsafeMutablePointer<Int32>?) -> sw_status {
    afterBackward(policy, "sw_policy_after_backward", step, totalSteps, .structs(layers), n, skipUpdate)
}

@c @implementation
public func sw_policy_after_step(_ policy: OpaquePointer?, _ step: Int64, _ totalSteps: Int64,
                                 _ layers: UnsafePointer<sw_layer_buffers>?, _ n: UInt32) -> sw_status {
    afterStep(policy, "sw_policy_after_step", step, totalSteps, .structs(layers), n)
}

@c @implementation
public func sw_policy_evaluation_masks(_ policy: OpaquePointer?, _ layers: UnsafePointer<sw_layer_buffers>?, _ n: UInt32) -> sw_status {
    evaluationMasks(policy, "sw_policy_evaluation_masks", .structs(layers), n)
}

@c @implementation
public func sw_policy_before_forward_v2(_ policy: OpaquePointer?, _ step: Int64, _ totalSteps: Int64,
                                        _ layers: UnsafePointer<UnsafePointer<sw_layer_buffers>?>?, _ n: UInt32) -> sw_status {
    beforeForward(policy, "sw_policy_before_forward_v2", step, totalSteps, .pointers(layers), n)
}

@c @implementation
public func sw_policy_after_backward_v2(_ policy: OpaquePointer?, _ step: Int64, _ totalSteps: Int64,
                                        _ layers: UnsafePointer<UnsafePointer<sw_layer_buffers>?>?, _ n: UInt32,
                                        _ skipUpdate: UnsafeMutablePointer<Int32>?) -> sw_status {
    afterBackward(policy, "sw_policy_after_backward_v2", step, totalSteps, .pointers(layers), n, skipUpdate)
}

@c @implementation
public func sw_policy_after_step_v2(_ policy: OpaquePointer?, _ step: Int64, _ totalSteps: Int64,
                                    _ layers: UnsafePointer<UnsafePointer<sw_layer_buffers>?>?, _ n: UInt32) -> sw_status {
    afterStep(policy, "sw_policy_after_step_v2", step, totalSteps, .pointers(layers), n)
}

@c @implementation
public func sw_policy_evaluation_masks_v2(_ policy: OpaquePointer?, _ layers: UnsafePointer<UnsafePointer<sw_layer_buffers>?>?,
                                          _ n: UInt32) -> sw_status {
    evaluationMasks(policy, "sw_policy_evaluation_masks_v2", .pointers(layers), n)
}

@c @implementation
public func sw_policy_optimizer_resets(_ policy: OpaquePointer?, _ layer: UInt32, _ indices: UnsafeMutablePointer<UInt64>?,
                                       _ capacity: UInt64, _ needed: UnsafeMutablePointer<UInt64>?) -> sw_status {
    guarded("sw_policy_optimizer_resets") {
        let p = try PolicyHandle.table.get(policy)
        let declared = p.masking.parameters.count
        guard Int(layer) < declared else {
            throw BoundaryError(SW_ERR_NOT_FOUND, "layer \(layer) out of range (\(declared) declared layers)")
        }
        let list = p.masking.optimizerResets(layer: Int(layer))
        needed?.pointee = UInt64(list.count)
        guard let indices else { return }
        guard capacity >= UInt64(list.count) else {
            throw BoundaryError(SW_ERR_BUFFER_TOO_SMALL, "capacity is \(capacity), \(list.count) indices to write")
        }
        for (i, x) in list.enumerated() { indices[i] = UInt64(x) }
    }
}

@c @implementation
public func sw_policy_needs_gradient(_ policy: OpaquePointer?, _ step: Int64, _ totalSteps: Int64, _ needed: UnsafeMutablePointer<Int32>?) -> sw_status {
    guarded("sw_policy_needs_gradient") {
        let p = try PolicyHandle.table.get(policy)
        let s = try maskStep(p, step, totalSteps)
        try require(needed, "needed").pointee = p.masking.policy.needsDenseGradient(at: s) ? 1 : 0
    }
}

@c @implementation
public func sw_policy_active_hooks(_ policy: OpaquePointer?, _ step: Int64, _ totalSteps: Int64, _ hooks: UnsafeMutablePointer<UInt32>?) -> sw_status {
    guarded("sw_policy_active_hooks") {
        let p = try PolicyHandle.table.get(policy)
        let s = try maskStep(p, step, totalSteps)
        let out = try require(hooks, "hooks")
        var bits = p.masking.policy.activeHooks(at: s).rawValue
        if p.masking.policy.needsDenseGradient(at: s) { bits |= SW_HOOK_DENSE_GRADIENT | SW_HOOK_AFTER_BACKWARD }
        out.pointee = bits
    }
}

@c @implementation
public func sw_policy_save_state(_ policy: OpaquePointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ capacity: UInt64,
                                 _ needed: UnsafeMutablePointer<UInt64>?) -> sw_status {
    policyCall(policy, "sw_policy_save_state") {
        let p = try PolicyHandle.table.get(policy)
        let bytes = try p.masking.stateBytes()
        needed?.pointee = UInt64(bytes.count)
        guard let buffer else { return }
        guard capacity >= UInt64(bytes.count) else {
            throw BoundaryError(SW_ERR_BUFFER_TOO_SMALL, "capacity is \(capacity), the state has \(bytes.count) bytes")
        }
        bytes.copyBytes(to: buffer, count: bytes.count)
    }
}

@c @implementation
public func sw_policy_load_state(_ policy: OpaquePointer?, _ buffer: UnsafePointer<UInt8>?, _ size: UInt64) -> sw_status {
    policyCall(policy, "sw_policy_load_state") {
        let p = try PolicyHandle.table.get(policy)
        guard size <= UInt64(Int32.max) * 64 else { throw BoundaryError.argument("size \(size) is not a policy state") }
        let data = Data(bytes: try require(buffer, "buffer"), count: Int(size))
        try p.masking.loadState(data)
    }
}
