import CKernels
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireMasking
/// An optimizer updates the trainable parameters from their gradients.
public protocol Optimizer: OptimizerStateResetting {
    /// The parameters this optimizer updates.
    var parameters: [Parameter] { get }
    /// One update with learning rate `lr`; parameters without a gradient or frozen are skipped.
    func step(lr: Float)
    /// The state as named tensors (e.g. "momentum/fc1.weight"), for checkpoints.
    func stateTensors() -> [String: Tensor]
    /// Restores state written by `stateTensors` (names and shapes checked first).
    func loadState(_ tensors: [String: Tensor]) throws
}

extension Optimizer {
    /// Maps "<slot>/<parameter name>" tensors back to parameters, checking names and shapes.
    package func resolveState(_ tensors: [String: Tensor], slots: Set<String>) throws -> [(slot: String, parameter: Parameter, tensor: Tensor)] {
        let byName = Dictionary(parameters.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        return try tensors.keys.sorted().compactMap { key in
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, slots.contains(parts[0]) else {
                if slots.contains(key) { return nil }
                throw SparseWireError(.data, "optimizer state '\(key)' does not belong to \(type(of: self))")
            }
            guard let p = byName[parts[1]] else { throw SparseWireError(.data, "optimizer state '\(key)': no parameter '\(parts[1])'") }
            let t = tensors[key]!
            guard t.shape == p.shape else {
                throw SparseWireError.shape("optimizer state '\(key)' has shape \(t.shape), parameter has \(p.shape)")
            }
            return (parts[0], p, t)
        }
    }
}

extension Optimizer {
    /// Clears the gradient of every parameter (sets it to nil) before the next backward pass.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// SGD with momentum, Nesterov and L2 weight decay, in PyTorch's formulation:
/// g ← g + λw; b ← μb + g (b = g at the first step); g ← g + μb (Nesterov) or b; w ← w − lr·g.
public final class SGD: Optimizer {
    /// The parameters `step` updates (frozen ones are skipped there).
    public let parameters: [Parameter]
    /// Momentum μ ≥ 0, Nesterov's variant (needs μ > 0) and the L2 coefficient λ ≥ 0.
    public let momentum: Float, nesterov: Bool, weightDecay: Float
    private var buffers: [ObjectIdentifier: Tensor] = [:]
    /// While a parameter trains on active-entry gradients (sparse training), its momentum at
    /// those entries lives here, contiguous in the gradient's order (`swk_sgd_active` reads and
    /// writes b[j], not b[idx[j]]); `buffers` keeps the other entries. Written back into
    /// `buffers` before any other use (`writeBack`), so that every reader sees one dense buffer.
    private var compact: [ObjectIdentifier: CompactSlots] = [:]

    /// SGD over `parameters`; momentum buffers are created at each parameter's first update.
    /// Errors: `.config` when μ < 0 or λ < 0, or Nesterov is asked with μ = 0.
    public init(_ parameters: [Parameter], momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) throws {
        guard momentum >= 0, weightDecay >= 0 else {
            throw SparseWireError.config("sgd: momentum (\(momentum)) and weight_decay (\(weightDecay)) must be ≥ 0")
        }
        if nesterov && momentum == 0 { throw SparseWireError.config("sgd: nesterov needs momentum > 0") }
        self.parameters = parameters
        self.momentum = momentum; self.nesterov = nesterov; self.weightDecay = weightDecay
    }

    /// One update: d = g + λw; b ← d at a parameter's first step, else b ← μb + d;
    /// w ← w − lr·(d + μb) (Nesterov) or w ← w − lr·b. With μ = 0 no buffer is kept: w ← w − lr·d.
    /// Frozen parameters and those without a gradient are skipped.
    public func step(lr: Float) {
        for p in parameters where p.trainable {
            if p.grad == nil, let a = p.activeGradient { stepActive(p, a, lr: lr); continue }
            guard let g = p.grad else { continue }
            let w = p.value.data, gp = g.data, n = p.count
            let wd = weightDecay, mu = momentum, nest: Int32 = nesterov ? 1 : 0
            if momentum == 0 {
                Parallel.forEachChunk(n) { lo, hi in swk_sgd(w + lo, gp + lo, nil, hi - lo, lr, 0, wd, 0, 0) }
                continue
            }
            let id = ObjectIdentifier(p)
            writeBack(id)
            let first: Int32 = buffers[id] == nil ? 1 : 0
            let buf = buffers[id] ?? Tensor(uninitialized: p.shape)
            buffers[id] = buf
            let b = buf.data
            Parallel.forEachChunk(n) { lo, hi in swk_sgd(w + lo, gp + lo, b + lo, hi - lo, lr, mu, wd, nest, first) }
        }
    }

    /// The same update at the kept entries of an active-entry gradient only (sparse training):
    /// a buffer created here starts at zero, so entries outside the mask hold no stale state.
    /// The momentum at those entries is gathered into `compact` when the entries change (a new
    /// mask) and stays there while they do not.
    private func stepActive(_ p: Parameter, _ a: ActiveGradient, lr: Float) {
        let w = p.value.data, gp = a.values.data, k = a.indices.count
        let wd = weightDecay, mu = momentum, nest: Int32 = nesterov ? 1 : 0
        let id = ObjectIdentifier(p)
        let first: Int32 = mu > 0 && buffers[id] == nil ? 1 : 0
        var b: UnsafeMutablePointer<Float>? = nil
        if mu > 0 {
            if buffers[id] == nil { buffers[id] = Tensor(shape: p.shape) }
            if compact[id]?.indices !== a.indices {
                writeBack(id)
                compact[id] = CompactSlots(a.indices, gatheringFrom: [buffers[id]!])
            }
            b = compact[id]!.values[0].data
        }
        a.indices.indices.withUnsafeBufferPointer { ip in
            // Disjoint index ranges per worker: each entry is written by one thread.
            Parallel.forEachChunk(k) { lo, hi in swk_sgd_active(w, ip.baseAddress! + lo, gp + lo, b.map { $0 + lo }, hi - lo, lr, mu, wd, nest, first) }
        }
    }

    /// Scatters `p`'s compact momentum (if any) back into its dense buffer and drops it.
    private func writeBack(_ id: ObjectIdentifier) {
        guard let c = compact.removeValue(forKey: id), let dense = buffers[id] else { return }
        c.scatter(into: [dense])
    }

    /// Zeroes `p`'s momentum buffer at `indices` (flat); nothing to do before its first update.
    public func resetState(of p: Parameter, indices: [Int]) {
        writeBack(ObjectIdentifier(p))
        guard let buf = buffers[ObjectIdentifier(p)] else { return }
        for i in indices { buf[i] = 0 }
    }

    /// Copies of the momentum buffers created so far, named "momentum/<parameter name>".
    public func stateTensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for p in parameters {
            writeBack(ObjectIdentifier(p))
            if let b = buffers[ObjectIdentifier(p)] { out["momentum/" + p.name] = b.copy() }
        }
        return out
    }

    /// Replaces all momentum buffers with copies of `tensors` (names as `stateTensors` writes them).
    /// Errors: `.data` for a foreign name or unknown parameter, `.shape` for a shape mismatch.
    public func loadState(_ tensors: [String: Tensor]) throws {
        let items = try resolveState(tensors, slots: ["momentum"])
        buffers = [:]
        compact = [:]
        for (_, p, t) in items { buffers[ObjectIdentifier(p)] = t.copy() }
    }

    /// The momentum buffer of `p`, if one exists yet (the compact part written back first).
    public func momentumBuffer(of p: Parameter) -> Tensor? {
        writeBack(ObjectIdentifier(p))
        return buffers[ObjectIdentifier(p)]
    }
}

/// Adam (Kingma & Ba) with L2 weight decay added to the gradient (PyTorch's `Adam`).
public final class Adam: Optimizer {
    /// The parameters `step` updates (frozen ones are skipped there).
    public let parameters: [Parameter]
    /// β₁, β₂ ∈ [0, 1), ε > 0 and the L2 coefficient λ ≥ 0.
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    private var m: [ObjectIdentifier: Tensor] = [:], v: [ObjectIdentifier: Tensor] = [:]
    /// While a parameter trains on active-entry gradients (sparse training), its moments at those
    /// entries live here, contiguous in the gradient's order (`swk_adam_active`); `m` and `v`
    /// keep the other entries. Written back before any other use, as SGD's momentum.
    private var compact: [ObjectIdentifier: CompactSlots] = [:]
    private var t = 0

    /// Adam over `parameters`; moments are created at each parameter's first update.
    /// Errors: `.config` when β₁ or β₂ is outside [0, 1), ε ≤ 0 or λ < 0.
    public init(_ parameters: [Parameter], beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0) throws {
        guard (0..<1).contains(beta1), (0..<1).contains(beta2) else {
            throw SparseWireError.config("adam: betas must be in [0, 1), got (\(beta1), \(beta2))")
        }
        guard eps > 0, weightDecay >= 0 else { throw SparseWireError.config("adam: eps must be > 0 and weight_decay ≥ 0") }
        self.parameters = parameters
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
    }

    /// One update at step t (counted from 1): d = g + λw; m ← β₁m + (1 − β₁)d; v ← β₂v + (1 − β₂)d²;
    /// w ← w − lr·(m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε) (`swk_adam`; at the kept entries only
    /// for an active-entry gradient, `swk_adam_active`, with the same bits per entry). Frozen
    /// parameters and those without a gradient are skipped.
    public func step(lr: Float) {
        t += 1
        let coefficients = swk_adam_params(beta1: beta1, beta2: beta2, eps: eps, weight_decay: weightDecay, lr: lr,
                                           c1: 1 - powf(beta1, Float(t)), c2: 1 - powf(beta2, Float(t)))
        withUnsafePointer(to: coefficients) { c in
            for p in parameters where p.trainable {
                let active = p.grad == nil ? p.activeGradient : nil
                guard let g = p.grad ?? active?.values else { continue }
                let id = ObjectIdentifier(p)
                if m[id] == nil { m[id] = Tensor(shape: p.shape); v[id] = Tensor(shape: p.shape) }
                let w = p.value.data, gp = g.data
                if let active {
                    let (cm, cv) = compactMoments(id, active.indices)
                    active.indices.indices.withUnsafeBufferPointer { ip in
                        // Disjoint index ranges per worker: each entry is written by one thread.
                        Parallel.forEachChunk(ip.count) { lo, hi in swk_adam_active(c, w, ip.baseAddress! + lo, gp + lo, cm + lo, cv + lo, hi - lo) }
                    }
                    continue
                }
                writeBack(id)
                let mp = m[id]!.data, vp = v[id]!.data
                Parallel.forEachChunk(p.count) { lo, hi in swk_adam(c, w + lo, gp + lo, mp + lo, vp + lo, hi - lo) }
            }
        }
    }

    /// The compact moments of `id` at `indices`, gathered from the dense ones when the entries
    /// changed since the last active step.
    private func compactMoments(_ id: ObjectIdentifier, _ indices: ActiveIndices) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        if compact[id]?.indices !== indices {
            writeBack(id)
            compact[id] = CompactSlots(indices, gatheringFrom: [m[id]!, v[id]!])
        }
        return (compact[id]!.values[0].data, compact[id]!.values[1].data)
    }

    /// Scatters `id`'s compact moments (if any) back into the dense ones and drops them.
    private func writeBack(_ id: ObjectIdentifier) {
        guard let c = compact.removeValue(forKey: id), let dm = m[id], let dv = v[id] else { return }
        c.scatter(into: [dm, dv])
    }

    /// Zeroes both moments of `p` at `indices` (flat); the step count t is kept.
    public func resetState(of p: Parameter, indices: [Int]) {
        let id = ObjectIdentifier(p)
        writeBack(id)
        for i in indices { m[id]?[i] = 0; v[id]?[i] = 0 }
    }

    /// The step count "adam_t" (shape [1]) and copies of the moments, named "adam_m/<parameter name>"
    /// and "adam_v/<parameter name>".
    public func stateTensors() -> [String: Tensor] {
        var out: [String: Tensor] = ["adam_t": Tensor(shape: [1], repeating: Float(t))]
        for p in parameters {
            let id = ObjectIdentifier(p)
            writeBack(id)
            if let a = m[id] { out["adam_m/" + p.name] = a.copy() }
            if let b = v[id] { out["adam_v/" + p.name] = b.copy() }
        }
        return out
    }

    /// Replaces the moments and t with `tensors` (names as `stateTensors` writes them).
    /// Errors: `.data` for a foreign name, an unknown parameter or no valid "adam_t"; `.shape` for
    /// a shape mismatch.
    public func loadState(_ tensors: [String: Tensor]) throws {
        let items = try resolveState(tensors, slots: ["adam_m", "adam_v", "adam_t"])
        guard let steps = tensors["adam_t"], steps.count == 1, steps[0] >= 0, steps[0].rounded() == steps[0] else {
            throw SparseWireError(.data, "adam state needs a scalar 'adam_t' step count")
        }
        m = [:]; v = [:]; compact = [:]
        for (slot, p, x) in items { if slot == "adam_m" { m[ObjectIdentifier(p)] = x.copy() } else { v[ObjectIdentifier(p)] = x.copy() } }
        t = Int(steps[0])
    }
}

/// Optimizer state held compactly at a parameter's kept entries while it trains on active-entry
/// gradients (sparse training): one contiguous array per dense state buffer, `values[b][j]` the
/// state of entry `indices[j]` in buffer b, so that the update reads and writes it in order
/// instead of scattered over the whole buffer.
struct CompactSlots {
    /// The kept entries (flat), shared with the gradients of the same mask.
    let indices: ActiveIndices
    /// One compact array per dense buffer, in the order they were given.
    let values: [Tensor]

    /// Gathers each of `dense` at `indices`.
    init(_ indices: ActiveIndices, gatheringFrom dense: [Tensor]) {
        self.indices = indices
        let k = indices.count
        values = dense.map { d in
            let out = Tensor(uninitialized: [k]), op = out.data, dp = d.data
            indices.indices.withUnsafeBufferPointer { ip in
                Parallel.forEachChunk(k) { lo, hi in swk_gather(dp, ip.baseAddress! + lo, hi - lo, op + lo) }
            }
            return out
        }
    }

    /// Writes the compact values back into `dense` (the buffers they were gathered from, in the
    /// same order) at `indices`.
    func scatter(into dense: [Tensor]) {
        for (c, d) in zip(values, dense) {
            let cp = c.data, dp = d.data
            indices.indices.withUnsafeBufferPointer { ip in
                Parallel.forEachChunk(ip.count) { lo, hi in swk_scatter(cp + lo, ip.baseAddress! + lo, hi - lo, dp) }
            }
        }
    }
}

import Foundation
