import CKernels
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireMasking
/// An optimizer updates the trainable parameters from their gradients.
public protocol Optimizer: OptimizerStateResetting {
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
    public func zeroGrad() { for p in parameters { p.variable.zeroGrad() } }
}

/// SGD with momentum, Nesterov and L2 weight decay, in PyTorch's formulation:
/// g ← g + λw; b ← μb + g (b = g at the first step); g ← g + μb (Nesterov) or b; w ← w − lr·g.
public final class SGD: Optimizer {
    public let parameters: [Parameter]
    public let momentum: Float, nesterov: Bool, weightDecay: Float
    private var buffers: [ObjectIdentifier: Tensor] = [:]

    public init(_ parameters: [Parameter], momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) throws {
        guard momentum >= 0, weightDecay >= 0 else {
            throw SparseWireError.config("sgd: momentum (\(momentum)) and weight_decay (\(weightDecay)) must be ≥ 0")
        }
        if nesterov && momentum == 0 { throw SparseWireError.config("sgd: nesterov needs momentum > 0") }
        self.parameters = parameters
        self.momentum = momentum; self.nesterov = nesterov; self.weightDecay = weightDecay
    }

    public func step(lr: Float) {
        for p in parameters where p.trainable {
            guard let g = p.grad else { continue }
            let w = p.value.data, gp = g.data, n = p.count
            let wd = weightDecay, mu = momentum, nest: Int32 = nesterov ? 1 : 0
            if momentum == 0 {
                Parallel.forEachChunk(n) { lo, hi in swk_sgd(w + lo, gp + lo, nil, hi - lo, lr, 0, wd, 0, 0) }
                continue
            }
            let id = ObjectIdentifier(p)
            let first: Int32 = buffers[id] == nil ? 1 : 0
            let buf = buffers[id] ?? Tensor(uninitialized: p.shape)
            buffers[id] = buf
            let b = buf.data
            Parallel.forEachChunk(n) { lo, hi in swk_sgd(w + lo, gp + lo, b + lo, hi - lo, lr, mu, wd, nest, first) }
        }
    }

    public func resetState(of p: Parameter, indices: [Int]) {
        guard let buf = buffers[ObjectIdentifier(p)] else { return }
        for i in indices { buf[i] = 0 }
    }

    public func stateTensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for p in parameters { if let b = buffers[ObjectIdentifier(p)] { out["momentum/" + p.name] = b.copy() } }
        return out
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        let items = try resolveState(tensors, slots: ["momentum"])
        buffers = [:]
        for (_, p, t) in items { buffers[ObjectIdentifier(p)] = t.copy() }
    }

    /// The momentum buffer of `p`, if one exists yet.
    public func momentumBuffer(of p: Parameter) -> Tensor? { buffers[ObjectIdentifier(p)] }
}

/// Adam (Kingma & Ba) with L2 weight decay added to the gradient (PyTorch's `Adam`).
public final class Adam: Optimizer {
    public let parameters: [Parameter]
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    private var m: [ObjectIdentifier: Tensor] = [:], v: [ObjectIdentifier: Tensor] = [:]
    private var t = 0

    public init(_ parameters: [Parameter], beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0) throws {
        guard (0..<1).contains(beta1), (0..<1).contains(beta2) else {
            throw SparseWireError.config("adam: betas must be in [0, 1), got (\(beta1), \(beta2))")
        }
        guard eps > 0, weightDecay >= 0 else { throw SparseWireError.config("adam: eps must be > 0 and weight_decay ≥ 0") }
        self.parameters = parameters
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
    }

    public func step(lr: Float) {
        t += 1
        let c1 = 1 - powf(beta1, Float(t)), c2 = 1 - powf(beta2, Float(t))
        for p in parameters where p.trainable {
            guard let g = p.grad else { continue }
            let id = ObjectIdentifier(p)
            let mt = m[id] ?? Tensor(shape: p.shape), vt = v[id] ?? Tensor(shape: p.shape)
            m[id] = mt; v[id] = vt
            let w = p.value.data, gp = g.data, mp = mt.data, vp = vt.data
            let b1 = beta1, b2 = beta2, wd = weightDecay, e = eps
            for i in 0..<p.count {
                let d = gp[i] + wd * w[i]
                mp[i] = b1 * mp[i] + (1 - b1) * d
                vp[i] = b2 * vp[i] + (1 - b2) * d * d
                w[i] -= lr * (mp[i] / c1) / ((vp[i] / c2).squareRoot() + e)
            }
        }
    }

    public func resetState(of p: Parameter, indices: [Int]) {
        let id = ObjectIdentifier(p)
        for i in indices { m[id]?[i] = 0; v[id]?[i] = 0 }
    }

    public func stateTensors() -> [String: Tensor] {
        var out: [String: Tensor] = ["adam_t": Tensor(shape: [1], repeating: Float(t))]
        for p in parameters {
            let id = ObjectIdentifier(p)
            if let a = m[id] { out["adam_m/" + p.name] = a.copy() }
            if let b = v[id] { out["adam_v/" + p.name] = b.copy() }
        }
        return out
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        let items = try resolveState(tensors, slots: ["adam_m", "adam_v", "adam_t"])
        guard let steps = tensors["adam_t"], steps.count == 1, steps[0] >= 0, steps[0].rounded() == steps[0] else {
            throw SparseWireError(.data, "adam state needs a scalar 'adam_t' step count")
        }
        m = [:]; v = [:]
        for (slot, p, x) in items { if slot == "adam_m" { m[ObjectIdentifier(p)] = x.copy() } else { v[ObjectIdentifier(p)] = x.copy() } }
        t = Int(steps[0])
    }
}

import Foundation
