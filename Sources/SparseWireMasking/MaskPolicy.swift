import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
/// Where the gradient of the loss with respect to the effective weight ŵ = w ⊙ m goes.
public enum GradientRouting: Equatable, Sendable {
    /// No mask (the dense baseline).
    case none
    /// dL/dw = dL/dŵ for every weight, kept or not — DNW's update rule (straight-through the mask).
    case straightThrough
    /// dL/dw = dL/dŵ ⊙ m — only the weights in use learn.
    case maskedWeights
    /// Frozen weights; dL/ds = dL/dŵ ⊙ w (⊙ sign(s) when the mask ranks |s|) — edge-popup.
    case scores(absolute: Bool)
    /// Frozen weights; dL/ds = dL/dŵ ⊙ w ⊙ σ(s)(1 − σ(s)) — the supermask's straight-through sigmoid.
    case sigmoidScores
}

/// Where training is, as a policy sees it.
public struct MaskStep: Sendable {
    /// Optimisation steps done before this one (0-based).
    public var step: Int
    /// 0-based epoch of this step.
    public var epoch: Int
    /// Optimisation steps per epoch.
    public var stepsPerEpoch: Int
    /// Optimisation steps in the whole run (RigL's T_end = round(end_fraction · totalSteps)).
    public var totalSteps: Int
    /// Whether this is a training step; topology changes (RigL, lottery) happen only then.
    public var training: Bool

    /// A step position; nothing is checked.
    public init(step: Int, epoch: Int, stepsPerEpoch: Int, totalSteps: Int, training: Bool) {
        self.step = step; self.epoch = epoch; self.stepsPerEpoch = stepsPerEpoch; self.totalSteps = totalSteps; self.training = training
    }
}

/// One masked tensor (a conv or linear weight) as a policy sees it.
public final class MaskedLayer {
    /// The masked parameter (weight value, mask, gradient) this layer wraps.
    public let parameter: Parameter
    /// Position among the masked layers (0 = first).
    public let index: Int
    /// Target fraction kept in this layer (after uniform/ERK allocation).
    public package(set) var density: Double
    /// Learned scores (edge-popup) or mask logits (supermask), created by the policy in `prepare`.
    public var scores: Parameter?
    /// dL/dŵ of the last backward pass, kept only on steps where the policy asked for it.
    public package(set) var denseGradient: Tensor?
    /// Policy-private tensors (e.g. RigL's gradient EMA).
    public var state: [String: Tensor] = [:]
    /// The shape kept weights take (`masking.structure`); `keepCount` follows it.
    public package(set) var structure: MaskStructure = .unstructured
    /// dp/ds = σ(s)(1 − σ(s)) at the mask logits that drew the current mask, kept by a Bernoulli
    /// policy's sampling pass (which computes e^−s anyway) so that the `.sigmoidScores` gradient
    /// need not recompute it; nil when the mask was not drawn that way or was written since
    /// (`MaskingEngine.masksChanged()`), and the gradient then computes it from the scores.
    package var keepProbabilitySlope: Tensor?
    /// ŵ = w ⊙ m written by a sampling pass together with the mask (bit for bit what the
    /// effective-weight op computes); that op takes it once, instead of a pass of its own, and
    /// drops it. nil otherwise.
    package var maskedWeight: Tensor?

    package init(parameter: Parameter, index: Int, density: Double) {
        self.parameter = parameter
        self.index = index
        self.density = density
        parameter.mask = Tensor(shape: parameter.shape, repeating: 1)
    }

    /// The parameter's name (e.g. "fc1.weight").
    public var name: String { parameter.name }
    /// Number of weights n (the product of the shape).
    public var count: Int { parameter.count }
    /// The weights w (the parameter's value; same shape as the mask).
    public var weight: Tensor { parameter.value }
    /// The current forward mask (0/1, or a sample).
    public var mask: Tensor { parameter.mask! }
    /// The exact number a top-k policy keeps here: round(density · count), at least 1, for
    /// unstructured masks; whole groups, tiles, channels or rows otherwise (`MaskStructure.keepCount`).
    public var keepCount: Int { structure.keepCount(shape: parameter.shape, density: density) }
}

/// What a policy may use besides its layers.
public final class PolicyContext {
    /// The engine's seeded stream for this policy (forked from the run's seed).
    public var rng: RNG
    /// The global density k (fraction of weights KEPT) from the spec.
    public let density: Double
    /// Whether top-k runs within each layer or once over all masked layers.
    public let scope: MaskScope
    /// The optimizer, for policies that reset its state (RigL regrowth).
    public package(set) weak var optimizer: (any OptimizerStateResetting)?
    /// Whether the masks feed the engine's own effective-weight op (set when the engine installs
    /// it on a forward context; a mask-only host never does), so that a sampling pass may also
    /// write what that op and its gradient read: `MaskedLayer.maskedWeight` and
    /// `keepProbabilitySlope`.
    package var feedsEffectiveWeights = false

    package init(rng: RNG, density: Double, scope: MaskScope) {
        self.rng = rng; self.density = density; self.scope = scope
    }

    /// Scratch reused by every selection of this policy (no allocation per step).
    package let topKWorkspace = TopK.Workspace()

    /// Writes top-k masks from a per-layer criterion, per layer or globally as `scope` says.
    /// `order: .magnitude` ranks |criterion| without materialising it.
    public func selectTopK(_ layers: [MaskedLayer], order: TopK.Order = .value, criterion: (MaskedLayer) -> Tensor) {
        MaskSelection.apply(layers, scope: scope, order: order, workspace: topKWorkspace, criterion: criterion)
    }
}

/// What masking needs of an optimizer: forgetting the state (momentum, Adam moments) of
/// regrown weights. The training layer's `Optimizer` refines it; masking never sees more.
public protocol OptimizerStateResetting: AnyObject {
    /// Forget the state of entries `indices` (flat, row-major) of parameter `p`.
    func resetState(of p: Parameter, indices: [Int])
}

/// Per-layer or one global top-k.
public enum MaskScope: String, Sendable, CaseIterable { case layer, global }

/// The one thing a policy author implements.
///
/// Life cycle, per training step: `updateMasks` (before the forward pass) → forward/backward
/// with the `routing` of the policy → `afterBackward` (may ask to skip the optimizer update) →
/// optimizer step → `afterStep`. `prepare` runs once before training; `evaluationMasks` before
/// each evaluation pass.
public protocol MaskPolicy: AnyObject {
    /// Where the gradient of ŵ = w ⊙ m goes (see `GradientRouting`); the one hook without a default.
    var routing: GradientRouting { get }
    /// Whether the optimizer may change the weights (false freezes masked weights and biases).
    var trainsWeights: Bool { get }
    /// Whether `layer.denseGradient` should be kept after this step's backward pass.
    func needsDenseGradient(at step: MaskStep) -> Bool
    /// The per-step hooks that may do work at `step`; a host may skip calling the others (the
    /// mask-only calls then save copying every weight and mask twice). Claim too much, never
    /// too little: a hook left out must be a no-op at that step.
    func activeHooks(at step: MaskStep) -> PolicyHooks
    /// Once before training: create scores, re-initialise weights, draw the initial masks.
    func prepare(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws
    /// Before each forward pass: write the masks this step uses.
    func updateMasks(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws
    /// Returns true to skip this step's optimizer update (RigL's mask-update steps).
    func afterBackward(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws -> Bool
    /// After the optimizer step (or after the skipped one).
    func afterStep(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws
    /// Sets the masks used for evaluation (default: leave the training masks).
    func evaluationMasks(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws
    /// How many mask draws evaluation averages (sampling policies); 1 otherwise.
    var evaluationDraws: Int { get }
    /// Whether masks may hold values strictly between 0 and 1 (soft or expected masks); a host
    /// setting a mask through the C ABI is checked against it.
    var softMasks: Bool { get }
    /// Whether weights outside the mask are inert: no hook reads a weight while it is masked,
    /// and every weight a hook brings into the mask gets a value the policy writes. A host may
    /// then keep masked weights (and their optimizer state) at zero and skip ŵ = w ⊙ m
    /// (SW_POLICY_INERT_DEAD_WEIGHTS). Only meaningful with routing `.maskedWeights`.
    var inertDeadWeights: Bool { get }
    /// Whether `saveState` returns bytes (a checkpoint of this policy must then hold them).
    var savesState: Bool { get }
    /// State the policy keeps outside its layers' tensors (`MaskedLayer.state`, scores, masks),
    /// as bytes for a checkpoint; nil when there is none.
    /// Errors: whatever the policy's serialisation throws.
    func saveState() throws -> [UInt8]?
    /// Restores what `saveState` returned (after `prepare`, when a checkpoint is loaded).
    /// Errors: `.data` for bytes the policy cannot read.
    func loadState(_ bytes: [UInt8]) throws
}

/// The per-step hooks of a `MaskPolicy` (see `MaskPolicy.activeHooks(at:)`).
public struct PolicyHooks: OptionSet, Sendable {
    /// The raw bits (the C ABI's SW_HOOK_* values).
    public let rawValue: UInt32
    /// Wraps raw bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `updateMasks` (before the forward pass).
    public static let updateMasks = PolicyHooks(rawValue: 1)
    /// `afterBackward`.
    public static let afterBackward = PolicyHooks(rawValue: 2)
    /// `afterStep`.
    public static let afterStep = PolicyHooks(rawValue: 4)
    /// Every hook: the safe default.
    public static let all: PolicyHooks = [.updateMasks, .afterBackward, .afterStep]
}

extension MaskPolicy {
    /// Default: every hook (always correct; built-ins narrow it).
    public func activeHooks(at step: MaskStep) -> PolicyHooks { .all }
    /// Default: true (the optimizer updates the weights).
    public var trainsWeights: Bool { true }
    /// Default: false (no dL/dŵ is kept).
    public func needsDenseGradient(at step: MaskStep) -> Bool { false }
    /// Default: nothing (the all-ones masks stay).
    public func prepare(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws {}
    /// Default: nothing (the masks stay as they are).
    public func updateMasks(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws {}
    /// Default: false (the optimizer update runs).
    public func afterBackward(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws -> Bool { false }
    /// Default: nothing.
    public func afterStep(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws {}
    /// Default: nothing (evaluation uses the training masks).
    public func evaluationMasks(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws {}
    /// Default: 1 (one evaluation pass).
    public var evaluationDraws: Int { 1 }
    /// Default: false (masks are 0/1).
    public var softMasks: Bool { false }
    /// Default: false (masked weights' values may matter to the policy).
    public var inertDeadWeights: Bool { false }
    /// Default: false (no `saveState` bytes).
    public var savesState: Bool { false }
    /// Default: nil (all state lives in the layers' tensors, which checkpoints hold anyway).
    public func saveState() throws -> [UInt8]? { nil }
    /// Default: refuses any bytes (this policy saves none).
    public func loadState(_ bytes: [UInt8]) throws {
        throw SparseWireError(.data, "the checkpoint holds \(bytes.count) bytes of policy state, but this policy keeps none")
    }
}

/// Top-k mask writing shared by the policies.
public enum MaskSelection {
    /// Writes 0/1 masks at the top-k entries of `criterion(layer)` (ties → lower index): `.layer` keeps
    /// each layer's `keepCount`; `.global` keeps Σ keepCount over all layers at once. A criterion is read
    /// over min(its count, the layer's count) entries.
    public static func apply(_ layers: [MaskedLayer], scope: MaskScope, order: TopK.Order = .value,
                             workspace: TopK.Workspace? = nil, criterion: (MaskedLayer) -> Tensor) {
        // The criterion tensors stay alive (they may be temporaries) until the masks are written.
        let criteria = layers.map(criterion)
        let segments = zip(layers, criteria).map { l, c in
            TopK.Segment(values: c.data, mask: l.mask.data, count: Swift.min(c.count, l.count))
        }
        if layers.contains(where: { $0.structure != .unstructured }) {  // structured: per layer (validated)
            withExtendedLifetime(criteria) {
                for (l, seg) in zip(layers, segments) {
                    l.structure.select(seg.values, shape: l.parameter.shape, keep: l.keepCount, into: l.mask.data, order: order,
                                       workspace: workspace)
                }
            }
            return
        }
        withExtendedLifetime(criteria) {
            switch scope {
            case .layer:
                for (l, seg) in zip(layers, segments) { TopK.select([seg], k: l.keepCount, order: order, workspace: workspace) }
            case .global:
                TopK.select(segments, k: layers.reduce(0) { $0 + $1.keepCount }, order: order, workspace: workspace)
            }
        }
    }
}
