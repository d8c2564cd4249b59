import CKernels
import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

/// Binds a mask policy to a network: chooses the masked layers (first/last dense), lets the
/// mask core allocate densities and bind them, installs the effective-weight op with the
/// policy's gradient routing, and calls the policy's hooks.
public final class MaskingEngine {
    /// The shared policy state: spec, policy, context and bound layers.
    public let core: MaskCore
    private var byParameter: [ObjectIdentifier: MaskedLayer] = [:]
    package private(set) var keepDenseGradient = false
    /// When the masked layers train on the sparse kernels (the run's `training.kernels`;
    /// `.dense` until the host sets it).
    public var sparseTraining = SparseTrainingSettings(mode: .dense)
    /// Sparse-training patterns per layer and the mask generation each was built at.
    package var sparsePatterns: [ObjectIdentifier: SparsePattern] = [:]
    /// Bumped whenever the masks may have changed (a policy hook that may write them ran, an
    /// evaluation pass, `masksChanged()`); patterns of older generations are rebuilt.
    package var maskGeneration = 0
    /// Forward contexts installed so far: values are refreshed once per context.
    package var installs = 0
    /// Masked linear/convolution weights met by training forward passes with sparse training on
    /// (`training.kernels` auto or sparse), and how many of them ran on the sparse kernels:
    /// `auto`'s choices, for reports (`sparsewire bench`'s `sparse_layer_share`).
    public internal(set) var sparseTrainingCounts = (layers: 0, sparse: 0)
    /// Whether a policy hook may rewrite the masks between this step's forward pass and the
    /// next one (this step's `afterBackward` or `afterStep`, the next step's `updateMasks`), so
    /// that a sparse pattern built for this step would serve it only: dnw, edge-popup and
    /// supermask (`updateMasks` every step), SNFS (`afterBackward` every step), RigL on its
    /// update steps. A one-off rewrite before this step's forward pass (lottery's pruning) does
    /// not count. Decided from the policy's `activeHooks` after its update, so it depends on the
    /// step and the saved policy state only (a resumed run agrees).
    package private(set) var masksChurn = false

    /// Binds the policy `spec` names to `network`'s maskable parameters.
    /// Errors: `.config` (policy, options, density; a network with no layer left to mask).
    public init(network: Network, spec: MaskingSpec, rng: RNG) throws {
        core = try MaskCore(spec: spec, rng: rng)
        if core.descriptor.name == "dense" { return }
        var candidates = network.parameters.filter { $0.maskable }
        guard !candidates.isEmpty else { throw SparseWireError.config("network '\(network.name)' has no maskable layer") }
        if spec.lastLayerDense { candidates.removeLast() }
        if spec.firstLayerDense, !candidates.isEmpty { candidates.removeFirst() }
        guard !candidates.isEmpty else {
            throw SparseWireError.config("masking.first_layer_dense/last_layer_dense leave no layer to mask in '\(network.name)'")
        }
        try core.bind(candidates, freezing: network.parameters.filter { $0.maskable || $0.role == .bias })
        for l in core.layers { byParameter[ObjectIdentifier(l.parameter)] = l }
    }

    /// The running policy's registry entry.
    public var descriptor: PolicyDescriptor { core.descriptor }
    /// The running policy.
    public var policy: any MaskPolicy { core.policy }
    /// The policy's context (seeded RNG, density, scope, optimizer).
    public var context: PolicyContext { core.context }
    /// The masked layers, in network order (empty for `dense`).
    public var layers: [MaskedLayer] { core.layers }
    /// The masking spec the engine was built from.
    public var spec: MaskingSpec { core.spec }

    /// Score tensors the optimizer must train (edge-popup, supermask).
    public var scoreParameters: [Parameter] { core.scoreParameters }

    /// Gives the policy the optimizer whose state it may reset (RigL regrowth).
    public func attach(optimizer: any OptimizerStateResetting) { core.attach(optimizer: optimizer) }

    /// Installs the effective-weight op on a forward context.
    public func install(on ctx: Context) {
        guard !layers.isEmpty else { return }
        ctx.weightHook = { [unowned self] p, ctx in try self.effectiveWeight(p, ctx) }
        core.context.feedsEffectiveWeights = true
        installs += 1
        if sparseTraining.mode != .dense, ctx.recordGrad {
            let tick = installs
            ctx.sparseTraining = { [unowned self] p, samples, ctx in try self.sparseStep(p, samples: samples, ctx, tick: tick) }
        }
    }

    /// Before the forward pass: records whether this step keeps dL/dŵ (`needsDenseGradient`), then
    /// lets the policy write the masks. Errors: whatever the policy's `updateMasks` throws.
    public func beforeForward(_ step: MaskStep) throws {
        keepDenseGradient = policy.needsDenseGradient(at: step)
        if policy.activeHooks(at: step).contains(.updateMasks) { maskGeneration += 1 }
        dropDrawProducts()  // only this step's draw may supply them
        try core.beforeForward(step)
        var next = step
        next.step += 1
        next.epoch = next.step / max(step.stepsPerEpoch, 1)
        let now = policy.activeHooks(at: step)
        masksChurn = now.contains(.afterBackward) || now.contains(.afterStep) || policy.activeHooks(at: next).contains(.updateMasks)
    }

    /// Returns true when the optimizer update must be skipped this step.
    public func afterBackward(_ step: MaskStep) throws -> Bool {
        if policy.activeHooks(at: step).contains(.afterBackward) { maskGeneration += 1 }
        return try core.afterBackward(step)
    }

    /// After the optimizer step: the policy's `afterStep`. Errors: whatever the policy throws.
    public func afterStep(_ step: MaskStep) throws {
        if policy.activeHooks(at: step).contains(.afterStep) { maskGeneration += 1 }
        try core.afterStep(step)
    }

    /// Before an evaluation pass: the policy sets the evaluation masks. Errors: from the policy.
    public func beforeEvaluation() throws {
        maskGeneration += 1
        dropDrawProducts()  // e.g. a training draw's ŵ a forward pass never took (`eval: round` draws none)
        try core.evaluationMasks()
    }

    /// Forgets ŵ and σ'(s) kept by an earlier draw (`MaskedLayer.maskedWeight`,
    /// `keepProbabilitySlope`): they belong to that draw's mask only.
    private func dropDrawProducts() {
        for l in layers { l.keepProbabilitySlope = nil; l.maskedWeight = nil }
    }

    /// Tells the engine that masks were written outside the policy's hooks (a host setting a
    /// mask, a checkpoint load): the sparse-training patterns are rebuilt before their next use.
    public func masksChanged() {
        maskGeneration += 1
        dropDrawProducts()
    }

    /// ŵ = w ⊙ m with the gradient routed as the policy says.
    package func effectiveWeight(_ p: Parameter, _ ctx: Context) throws -> Var {
        guard let layer = byParameter[ObjectIdentifier(p)] else { return p.variable }
        let w = p.value, m = layer.mask, n = p.count
        let wp = w.data, mp = m.data
        let out: Tensor
        if let drawn = layer.maskedWeight {  // written by the sampling pass with this mask
            out = drawn
            layer.maskedWeight = nil
        } else {
            out = Tensor(uninitialized: p.shape)
            let op = out.data
            Parallel.forEachChunk(n) { lo, hi in swk_mul(wp + lo, mp + lo, op + lo, hi - lo) }
        }
        let routing = policy.routing
        let input: Var
        switch routing {
        case .scores, .sigmoidScores:
            guard let s = layer.scores else {
                throw SparseWireError(.state, "policy '\(descriptor.name)' routes gradients to scores but layer \(p.name) has none")
            }
            input = s.variable
        default: input = p.variable
        }
        let keep = keepDenseGradient
        let slope = routing == .sigmoidScores ? layer.keepProbabilitySlope : nil  // of this mask's draw
        return ctx.node(out, [input]) { [weak layer] g in
            withExtendedLifetime(m) {}  // the mask tensor stays alive with the tape
            if keep { layer?.denseGradient = g.copy() }
            let gp = g.data
            switch routing {
            case .none, .straightThrough:
                // g is this node's own gradient, dropped by the tape right after this closure.
                input.accumulate(g, owned: true)
            case .maskedWeights:
                let d = Tensor(uninitialized: p.shape), dp = d.data
                Parallel.forEachChunk(n) { lo, hi in swk_mul(gp + lo, mp + lo, dp + lo, hi - lo) }
                input.accumulate(d)
            case let .scores(absolute):
                let sp = input.value.data
                let d = Tensor(uninitialized: p.shape), dp = d.data
                Parallel.forEachChunk(n) { lo, hi in swk_scores_grad(gp + lo, wp + lo, sp + lo, dp + lo, hi - lo, absolute ? 1 : 0) }
                input.accumulate(d)
            case .sigmoidScores:
                // In place: g is this node's own gradient (a fresh buffer would cost a pass of
                // cache-cold writes).
                let sp = input.value.data
                withExtendedLifetime(slope) {
                    let kp = slope?.data
                    Parallel.forEachChunk(n) { lo, hi in swk_sigmoid_scores_grad(gp + lo, wp + lo, sp + lo, kp.map { $0 + lo }, gp + lo, hi - lo) }
                }
                input.accumulate(g, owned: true)
            }
        }
    }

    /// The masked layer wrapping `p`, nil when `p` is not masked.
    package func layerFor(_ p: Parameter) -> MaskedLayer? { byParameter[ObjectIdentifier(p)] }

    /// Per-layer report: name, size, kept, density.
    public var report: [(name: String, count: Int, kept: Int, density: Double)] { core.report }
}
