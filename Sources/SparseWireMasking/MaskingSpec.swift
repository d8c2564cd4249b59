import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
/// Which mask policy runs, and how its density is spread: the typed form of the config keys
/// `policy`, `policy_options.*`, `density` and `masking.*` (docs/CONFIG.md).
///
/// Decoded and range-checked once (`RunSpec(config:)`, `sw_policy_create`); the mask core
/// (`MaskCore`) takes it as it is.
public struct MaskingSpec: Sendable, Equatable {
    /// A registered policy name (`PolicyRegistry.names`).
    public var policy: String
    /// The policy's options, checked against its descriptor by `PolicyRegistry.validate`.
    public var options: [String: ConfigValue]
    /// Fraction of the masked weights KEPT, in (0, 1]; `dense` needs 1.
    public var density: Double
    /// Top-k per layer, or one top-k over all masked layers.
    public var scope: MaskScope
    /// Per-layer density allocation; nil lets the policy choose (ERK for rigl/set/snfs).
    public var distribution: DensityDistribution?
    /// Leave the first maskable layer dense.
    public var firstLayerDense: Bool
    /// Leave the last maskable layer dense.
    public var lastLayerDense: Bool
    /// What shape the kept weights take (N:M, blocks, channels, constant fan-in).
    public var structure: MaskStructure

    /// A spec; the defaults give the dense baseline (density 1, per layer). Nothing is checked
    /// here: `PolicyRegistry.validate` does that.
    public init(policy: String = "dense", options: [String: ConfigValue] = [:], density: Double = 1,
                scope: MaskScope = .layer, distribution: DensityDistribution? = nil,
                firstLayerDense: Bool = false, lastLayerDense: Bool = false, structure: MaskStructure = .unstructured) {
        self.policy = policy; self.options = options; self.density = density; self.scope = scope
        self.distribution = distribution; self.firstLayerDense = firstLayerDense; self.lastLayerDense = lastLayerDense
        self.structure = structure
    }
}

extension MaskingSpec {
    /// This spec with another policy, its options replaced, and the density when given;
    /// validated. Errors: as `PolicyRegistry.validate`.
    public func switching(to name: String, options: [String: ConfigValue], density: Double?) throws -> MaskingSpec {
        var next = self
        next.policy = name
        next.options = options
        if let density { next.density = density }
        try PolicyRegistry.validate(next)
        return next
    }
}
