import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
/// A mask policy without an engine or network: the host owns weights, scores and gradients
/// (a NumPy or PyTorch loop) and asks for masks. Layers are declared by shape; the first
/// `beforeForward` allocates densities and runs the policy's `prepare` (`MaskCore.bind`).
public final class StandaloneMasking {
    /// The shared policy state: spec, policy, context and bound layers.
    public let core: MaskCore
    /// The declared layers' parameters (engine-side copies of the host's tensors).
    public private(set) var parameters: [Parameter] = []

    /// The optimizer-state resets the policy asked for during the last step call (the host
    /// owns the optimizer): flat indices per declared layer, sorted, without repeats.
    public var optimizerResets: [[Int]] { resets.byLayer(parameters) }
    /// `optimizerResets[layer]` alone (sorted once per step call, not per query).
    public func optimizerResets(layer: Int) -> [Int] { resets.sorted(parameters[layer]) }
    private let resets = OptimizerResetLog()

    /// Builds the policy `spec` names, seeded with `seed`. Errors: `.config` (policy, options, density).
    public init(spec: MaskingSpec, seed: UInt64) throws {
        core = try MaskCore(spec: spec, rng: RNG(seed: seed))
        core.attach(optimizer: resets)
    }

    /// Forgets the resets recorded by the previous call; each step call starts with it.
    public func clearOptimizerResets() { resets.clear() }

    /// The policy's registry entry.
    public var descriptor: PolicyDescriptor { core.descriptor }
    /// The policy.
    public var policy: any MaskPolicy { core.policy }
    /// The policy's context (seeded RNG, density, scope).
    public var context: PolicyContext { core.context }
    /// The bound layers, in declaration order (empty until `prepareIfNeeded`).
    public var layers: [MaskedLayer] { core.layers }
    /// Whether the layers are bound and `prepare` has run.
    public var prepared: Bool { !core.layers.isEmpty }

    /// Declares the next layer. Only before the first step.
    /// Errors: `.state` after the first step, `.shape` for an empty or non-positive shape,
    /// `.config` for a repeated name.
    public func addLayer(name: String, shape: [Int]) throws {
        guard !prepared else { throw SparseWireError(.state, "add_layer '\(name)': the policy has already started (declare every layer before the first step)") }
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }), shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue }) < (1 << 40) else {
            throw SparseWireError.shape("layer '\(name)': shape \(shape) must have 1+ positive dimensions")
        }
        guard !parameters.contains(where: { $0.name == name }) else { throw SparseWireError.config("layer '\(name)' is declared twice") }
        // Weights, mask, scores, their gradients and the policy's state: about 6 floats a weight.
        let floats = Double(parameters.reduce(0) { $0 + $1.count }) + shape.reduce(1.0) { $0 * Double($1) }
        try MemoryBudget.check(24 * floats, limit: MemoryBudget.defaultLimit, what: "layer '\(name)' of shape \(shape)",
                               detail: String(format: "%.3g weights declared in all, about 6 floats each", floats))
        parameters.append(Parameter(name: name, shape: shape, role: .weight, maskable: true))
    }

    /// Allocates the densities and runs `prepare` (first call only).
    /// Errors: `.state` when no layer was declared, and whatever `prepare` throws.
    public func prepareIfNeeded() throws {
        guard !prepared else { return }
        guard !parameters.isEmpty else { throw SparseWireError(.state, "no layer declared (call add_layer first)") }
        try core.bind(parameters)
    }

    /// Step `step` of a run of `total` steps, as one epoch.
    public func step(_ step: Int, of total: Int) -> MaskStep {
        MaskStep(step: step, epoch: 0, stepsPerEpoch: Swift.max(total, 1), totalSteps: total, training: true)
    }

    /// Before the host's forward pass: the policy writes the masks of step `s`.
    /// Errors: whatever the policy's `updateMasks` throws.
    public func beforeForward(_ s: MaskStep) throws { try core.beforeForward(s) }

    /// After the host's backward pass; `grads[i]` (may be nil) is dL/dŵ of layer i, kept for this
    /// call only. Returns true when the host should skip its optimizer update.
    public func afterBackward(_ s: MaskStep, grads: [Tensor?]) throws -> Bool {
        for (l, g) in zip(layers, grads) { l.denseGradient = g }
        defer { for l in layers { l.denseGradient = nil } }
        return try core.afterBackward(s)
    }

    /// After the host's optimizer step: the policy's `afterStep`. Errors: from the policy.
    public func afterStep(_ s: MaskStep) throws { try core.afterStep(s) }

    /// Lets the policy set the masks evaluation uses. Errors: from the policy.
    public func evaluationMasks() throws { try core.evaluationMasks() }
}

/// Records what a policy asks of the optimizer when the host owns it (mask-only use): the
/// indices whose state (momentum, moments) the host must reset.
final class OptimizerResetLog: OptimizerStateResetting {
    private var indices: [ObjectIdentifier: [Int]] = [:]  // as recorded: unsorted, may repeat
    private var sortedCache: [ObjectIdentifier: [Int]] = [:]

    func resetState(of p: Parameter, indices list: [Int]) {
        indices[ObjectIdentifier(p), default: []].append(contentsOf: list)
        sortedCache[ObjectIdentifier(p)] = nil
    }

    func clear() {
        indices.removeAll(keepingCapacity: true)
        sortedCache.removeAll(keepingCapacity: true)
    }

    /// The indices recorded for `p`, ascending (cached until the next record or clear).
    func sorted(_ p: Parameter) -> [Int] {
        let id = ObjectIdentifier(p)
        if let s = sortedCache[id] { return s }
        var s = (indices[id] ?? []).sorted()
        if s.count > 1 {  // drop repeats in place
            var w = 1
            for r in 1..<s.count where s[r] != s[w - 1] { s[w] = s[r]; w += 1 }
            s.removeLast(s.count - w)
        }
        sortedCache[id] = s
        return s
    }

    func byLayer(_ parameters: [Parameter]) -> [[Int]] { parameters.map(sorted) }
}
