import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireMasking
/// The optimizer of a run: the typed form of the `optimizer.*` config keys.
public struct OptimizerSpec: Sendable, Equatable {
    /// The optimizer `optimizer.name` selects.
    public enum Kind: String, Sendable, CaseIterable { case sgd, adam }
    /// Which optimizer `make` builds.
    public var kind: Kind
    /// Base learning rate (> 0); the schedule scales it per step.
    public var lr: Double
    /// SGD: momentum μ ≥ 0.
    public var momentum: Double
    /// SGD: Nesterov's variant (needs μ > 0).
    public var nesterov: Bool
    /// L2 weight decay λ ≥ 0 (g ← g + λw).
    public var weightDecay: Double
    /// Adam: β₁, β₂ and ε.
    public var beta1: Double, beta2: Double, eps: Double

    /// A spec with the config's defaults (SGD, lr 0.1, μ 0.9; Adam β 0.9 / 0.999, ε 1e-8);
    /// nothing is checked here.
    public init(kind: Kind = .sgd, lr: Double = 0.1, momentum: Double = 0.9, nesterov: Bool = false, weightDecay: Double = 0,
                beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8) {
        self.kind = kind; self.lr = lr; self.momentum = momentum; self.nesterov = nesterov; self.weightDecay = weightDecay
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
    }

    /// A fresh optimizer over `parameters`. Errors: `.config` from the optimizer's own checks.
    public func make(_ parameters: [Parameter]) throws -> any Optimizer {
        switch kind {
        case .adam:
            return try Adam(parameters, beta1: Float(beta1), beta2: Float(beta2), eps: Float(eps), weightDecay: Float(weightDecay))
        case .sgd:
            return try SGD(parameters, momentum: Float(momentum), nesterov: nesterov, weightDecay: Float(weightDecay))
        }
    }
}
