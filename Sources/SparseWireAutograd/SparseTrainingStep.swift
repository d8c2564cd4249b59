import SparseWireTensor

/// What a masked layer's training forward runs on the sparse kernels this step: the refreshed
/// pattern and where the weight gradient goes.
public final class SparseTrainingStep {
    /// Where dL/dw goes.
    public enum WeightGradient {
        /// Nowhere (a frozen weight whose policy learns nothing through it).
        case none
        /// Only the kept entries are computed (sampled product); the closure receives them, one
        /// value per `SparseTrainingWeight.active` entry.
        case active((Tensor) -> Void)
        /// The dense dL/dŵ is computed and accumulated into this node (the effective-weight
        /// node, which routes it as the policy says: straight-through, scores, …).
        case dense(Var)
    }
    /// The pattern, its values refreshed for this step.
    public let weight: SparseTrainingWeight
    /// Where the weight gradient goes.
    public let weightGradient: WeightGradient
    /// A node that requires a gradient when the weight (or its scores) learns, so the tape keeps
    /// the op even when its input needs none (the first layer). Never accumulated into by `.active`.
    public let anchor: Var

    /// A step over `weight` (already refreshed), its gradient sent to `weightGradient`.
    public init(weight: SparseTrainingWeight, weightGradient: WeightGradient, anchor: Var) {
        self.weight = weight; self.weightGradient = weightGradient; self.anchor = anchor
    }
}
