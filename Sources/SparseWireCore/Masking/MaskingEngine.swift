import CKernels
import Foundation

/// Binds a mask policy to a network: chooses the masked layers, allocates densities, installs
/// the effective-weight op with the policy's gradient routing, and calls the policy's hooks.
public final class MaskingEngine {
    public let descriptor: PolicyDescriptor
    public let policy: any MaskPolicy
    public let layers: [MaskedLayer]
    public let context: PolicyContext
    private var byParameter: [ObjectIdentifier: MaskedLayer] = [:]
    private var keepDenseGradient = false

    /// `config` selects the policy (`policy`, `policy_options`), `density` and the `masking.*` keys.
    public init(network: Network, config: Config, rng: RNG) throws {
        (descriptor, policy) = try PolicyRegistry.make(config)
        let scope = MaskScope(rawValue: config.string("masking.scope")) ?? .layer
        context = PolicyContext(rng: rng, density: config.double("density"), scope: scope)
        if descriptor.name == "dense" {
            layers = []
            return
        }
        var candidates = network.parameters.filter { $0.maskable }
        guard !candidates.isEmpty else { throw SparseWireError.config("network '\(network.name)' has no maskable layer") }
        if config.bool("masking.last_layer_dense") == true { candidates.removeLast() }
        if config.bool("masking.first_layer_dense") == true, !candidates.isEmpty { candidates.removeFirst() }
        guard !candidates.isEmpty else {
            throw SparseWireError.config("masking.first_layer_dense/last_layer_dense leave no layer to mask in '\(network.name)'")
        }
        let distName = config.string("masking.distribution")
        let dist = distName == "auto" ? descriptor.preferredDistribution : (DensityDistribution(rawValue: distName) ?? .uniform)
        let counts = DensityAllocation.keptCounts(shapes: candidates.map(\.shape), density: context.density, distribution: dist)
        layers = zip(candidates, counts).enumerated().map { i, pc in
            MaskedLayer(parameter: pc.0, index: i, density: Double(pc.1) / Double(pc.0.count))
        }
        for l in layers { byParameter[ObjectIdentifier(l.parameter)] = l }
        if !policy.trainsWeights {
            for p in network.parameters where p.maskable || p.role == .bias { p.trainable = false }
        }
        try policy.prepare(layers, context)
    }

    /// Score tensors the optimizer must train (edge-popup, supermask).
    public var scoreParameters: [Parameter] { layers.compactMap(\.scores) }

    public func attach(optimizer: any Optimizer) { context.optimizer = optimizer }

    /// Installs the effective-weight op on a forward context.
    public func install(on ctx: Context) {
        guard !layers.isEmpty else { return }
        ctx.weightHook = { [unowned self] p, ctx in try self.effectiveWeight(p, ctx) }
    }

    public func beforeForward(_ step: MaskStep) throws {
        keepDenseGradient = policy.needsDenseGradient(at: step)
        for l in layers { l.denseGradient = nil }
        try policy.updateMasks(layers, step, context)
    }

    /// Returns true when the optimizer update must be skipped this step.
    public func afterBackward(_ step: MaskStep) throws -> Bool {
        try policy.afterBackward(layers, step, context)
    }

    public func afterStep(_ step: MaskStep) throws { try policy.afterStep(layers, step, context) }

    public func beforeEvaluation() throws { try policy.evaluationMasks(layers, context) }

    /// ŵ = w ⊙ m with the gradient routed as the policy says.
    func effectiveWeight(_ p: Parameter, _ ctx: Context) throws -> Var {
        guard let layer = byParameter[ObjectIdentifier(p)] else { return p.variable }
        let w = p.value, m = layer.mask, n = p.count
        let out = Tensor(uninitialized: p.shape)
        let wp = w.data, mp = m.data, op = out.data
        Parallel.forEachChunk(n) { lo, hi in swk_mul(wp + lo, mp + lo, op + lo, hi - lo) }
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
                let sp = input.value.data
                let d = Tensor(uninitialized: p.shape), dp = d.data
                Parallel.forEachChunk(n) { lo, hi in swk_sigmoid_scores_grad(gp + lo, wp + lo, sp + lo, dp + lo, hi - lo) }
                input.accumulate(d)
            }
        }
    }

    /// Per-layer report: name, size, kept, density.
    public var report: [(name: String, count: Int, kept: Int, density: Double)] {
        layers.map { l in
            let kept = l.parameter.keptCount
            return (l.name, l.count, kept, Double(kept) / Double(l.count))
        }
    }

    /// Writes the current masks. A path ending in `.safetensors` gets torch.nn.utils.prune's
    /// layout: `<layer>_orig` (the dense weights, F32) and `<layer>_mask` (F32 0/1, the dtype of
    /// prune's `weight_mask` buffer), e.g. `conv1.weight_orig` / `conv1.weight_mask`; any other
    /// path gets JSON {policy, layers: {name: {shape, kept, density, mask: base64 of one byte per
    /// weight}}}. Both are written atomically.
    public func exportMasks(to path: String) throws {
        if path.hasSuffix(".safetensors") {
            var t: [String: Tensor] = [:]
            for l in layers { t[l.name + "_orig"] = l.parameter.value; t[l.name + "_mask"] = l.mask }
            try SafeTensors.write(t, metadata: ["format": "torch-prune", "policy": descriptor.name], to: path)
            return
        }
        var obj: [String: Any] = [:]
        for l in layers {
            let bytes = (0..<l.count).map { UInt8(l.mask[$0] != 0 ? 1 : 0) }
            obj[l.name] = ["shape": l.parameter.shape, "kept": bytes.reduce(0) { $0 + Int($1) },
                           "density": l.density, "mask": Data(bytes).base64EncodedString()]
        }
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: ["policy": descriptor.name, "layers": obj], options: [.sortedKeys]), to: path)
    }
}
