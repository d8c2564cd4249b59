import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
/// What every use of a mask policy shares: the policy built from a `MaskingSpec`, its context
/// (seeded RNG, density, scope, optimizer-state resetter), the per-layer density allocation and
/// the binding of parameters to `MaskedLayer`s, and the policy's hooks.
///
/// `MaskingEngine` adds the autograd hook over a network; `StandaloneMasking` adds layers
/// declared by shape over host-owned buffers.
public final class MaskCore {
    /// The masking spec the policy was built from.
    public let spec: MaskingSpec
    /// The policy's registry entry (name, summary, options, preferred allocation).
    public let descriptor: PolicyDescriptor
    /// The policy instance whose hooks this core calls.
    public let policy: any MaskPolicy
    /// The policy's context: seeded RNG, global density, scope and the attached optimizer.
    public let context: PolicyContext
    /// The bound layers, in the order of the parameters given to `bind` (empty before).
    public private(set) var layers: [MaskedLayer] = []

    /// Builds the policy (options checked first). Errors: `.config` from the registry or the
    /// policy's option parsing.
    public init(spec: MaskingSpec, rng: RNG) throws {
        (descriptor, policy) = try PolicyRegistry.make(spec)
        self.spec = spec
        context = PolicyContext(rng: rng, density: spec.density, scope: spec.scope)
    }

    /// The allocation in force: the spec's, or the policy's preferred one.
    public var distribution: DensityDistribution { spec.distribution ?? descriptor.preferredDistribution }

    /// Allocates kept counts over `parameters` (uniform or ERK, exact totals; or the model's
    /// `keepBudget`s when it prescribes them for every one), makes their masks
    /// all-ones, freezes weights and biases of policies that learn no weights (`freezing`), and
    /// runs the policy's `prepare`. Once only. Errors: `.state` when already bound, `.config` when
    /// only some parameters carry a budget or one is outside 1…size, and whatever `prepare` throws.
    public func bind(_ parameters: [Parameter], freezing frozen: [Parameter] = []) throws {
        guard layers.isEmpty else { throw SparseWireError(.state, "policy '\(descriptor.name)' is already bound to its layers") }
        for p in parameters { try spec.structure.check(layer: p.name, shape: p.shape) }
        // N:M fixes every layer at n/m: a per-layer allocation (ERK) would only mislabel the densities.
        let allocation: DensityDistribution
        if case .nm = spec.structure { allocation = .uniform } else { allocation = distribution }
        let budgets = parameters.compactMap(\.keepBudget)
        guard budgets.isEmpty || budgets.count == parameters.count else {
            throw SparseWireError.config("the model prescribes kept counts for \(budgets.count) of its \(parameters.count) masked layers "
                + "(\(parameters.filter { $0.keepBudget == nil }.map(\.name).joined(separator: ", ")) have none): leave them all to the density or none")
        }
        for p in parameters { if let b = p.keepBudget, !(1...p.count).contains(b) {
            throw SparseWireError.config("layer \(p.name): the model's edge budget \(b) is outside 1…\(p.count) (its size)")
        } }
        let counts = budgets.isEmpty
            ? DensityAllocation.keptCounts(shapes: parameters.map(\.shape), density: spec.density, distribution: allocation)
            : budgets
        layers = zip(parameters, counts).enumerated().map { i, pc in
            let l = MaskedLayer(parameter: pc.0, index: i, density: Double(pc.1) / Double(pc.0.count))
            l.structure = spec.structure
            pc.0.maskStructure = spec.structure == .unstructured ? nil : spec.structure.description
            return l
        }
        if !policy.trainsWeights { for p in frozen { p.trainable = false } }
        try policy.prepare(layers, context)
    }

    /// Score tensors the optimizer must train (edge-popup, supermask).
    public var scoreParameters: [Parameter] { layers.compactMap(\.scores) }

    /// Gives policies the optimizer whose state they may reset (RigL regrowth).
    public func attach(optimizer: any OptimizerStateResetting) { context.optimizer = optimizer }

    /// Before the forward pass: forgets last step's dense gradients, lets the policy write masks.
    public func beforeForward(_ step: MaskStep) throws {
        for l in layers { l.denseGradient = nil }
        try policy.updateMasks(layers, step, context)
    }

    /// After backward; true means: skip this step's optimizer update.
    public func afterBackward(_ step: MaskStep) throws -> Bool { try policy.afterBackward(layers, step, context) }

    /// After the optimizer step: runs the policy's `afterStep`. Errors: whatever the policy throws.
    public func afterStep(_ step: MaskStep) throws { try policy.afterStep(layers, step, context) }

    /// Lets the policy set the masks evaluation uses.
    public func evaluationMasks() throws { try policy.evaluationMasks(layers, context) }

    /// Per-layer report: name, size, kept, kept fraction.
    public var report: [(name: String, count: Int, kept: Int, density: Double)] {
        layers.map { l in
            let kept = l.parameter.keptCount
            return (l.name, l.count, kept, Double(kept) / Double(l.count))
        }
    }
}
