import SparseWireTensor
/// A node of the autograd tape: a value, its gradient, and how to push the gradient to its inputs.
///
/// The graph is built as operations run (define-by-run, like PyTorch). `backward()` on a scalar
/// walks the nodes in reverse topological order. Leaves (parameters, inputs) have no parents;
/// a parameter's leaf stays alive across steps and its `grad` accumulates until cleared.
public final class Var {
    /// The value computed by the forward pass.
    public var value: Tensor
    /// The accumulated gradient, same shape as `value`; nil until one arrives. Interior nodes drop
    /// theirs during `backward()`; leaves keep them.
    public var grad: Tensor?
    /// Whether gradients flow to this node; ops record the tape only for such inputs.
    public let requiresGrad: Bool
    package let parents: [Var]
    /// Receives this node's gradient and accumulates into the parents' gradients.
    package var backwardFn: ((Tensor) throws -> Void)?

    /// A leaf.
    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        parents = []
    }

    package init(_ value: Tensor, parents: [Var], requiresGrad: Bool, backward: ((Tensor) throws -> Void)?) {
        self.value = value
        self.parents = parents
        self.requiresGrad = requiresGrad
        backwardFn = requiresGrad ? backward : nil
    }

    /// The shape of `value`.
    public var shape: [Int] { value.shape }

    /// Adds `g` into `grad`. `owned` says the caller hands over `g` (no other node holds it).
    public func accumulate(_ g: Tensor, owned: Bool = true) {
        guard requiresGrad else { return }
        if let existing = grad {
            BLAS.axpy(existing.count, 1, g.data, existing.data)
        } else {
            grad = owned ? g : g.copy()
        }
    }

    /// Clears the accumulated gradient (`grad = nil`).
    public func zeroGrad() { grad = nil }

    /// Backpropagates from this node. Its value must hold a single element unless `seed` is given.
    public func backward(seed: Tensor? = nil) throws {
        guard requiresGrad else {
            throw SparseWireError.init(.state, "backward() on a value that does not require a gradient")
        }
        if seed == nil && value.count != 1 {
            throw SparseWireError.shape("backward() needs a scalar or an explicit seed; value has shape \(value.shape)")
        }
        let order = topologicalOrder()
        accumulate(seed ?? Tensor(shape: value.shape, repeating: 1))
        for node in order.reversed() {
            guard let fn = node.backwardFn, let g = node.grad else { continue }
            try fn(g)
            // Interior gradients are not kept (memory); leaves keep theirs.
            if !node.parents.isEmpty { node.grad = nil }
        }
        // Release the tape.
        for node in order where !node.parents.isEmpty { node.backwardFn = nil }
    }

    private func topologicalOrder() -> [Var] {
        var order: [Var] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Var, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            let id = ObjectIdentifier(node)
            if visited.contains(id) { continue }
            visited.insert(id)
            stack.append((node, true))
            for p in node.parents where p.requiresGrad && !visited.contains(ObjectIdentifier(p)) {
                stack.append((p, false))
            }
        }
        return order
    }
}

/// Per-forward-pass settings: training or evaluation, whether to record the tape, and the
/// random stream for stochastic layers (dropout, sampled masks).
public final class Context {
    /// Training mode: batch statistics in batch norm, active dropout and edge drop.
    public var training: Bool
    /// Whether ops record the tape for backward; defaults to `training`.
    public var recordGrad: Bool
    /// The random stream of stochastic layers (dropout, sampled masks, edge drop).
    public var rng: RNG
    /// Replaces the default masked-weight computation (set by the masking machinery).
    public var weightHook: ((Parameter, Context) throws -> Var)?
    /// Sparse kernels for masked layers when no gradient is recorded (evaluation, inference).
    public var sparseInference: SparseInference?
    /// Sparse kernels for masked layers while training: given a parameter and the number of
    /// samples, the step to run (`sparseTrainLinear`) or nil for the dense path. Set by the
    /// masking machinery (`training.kernels`).
    public var sparseTraining: ((Parameter, Int, Context) throws -> SparseTrainingStep?)?
    /// Called with each conv/linear module and its input as the forward pass reaches it (benchmarks).
    /// While one is set, linear layers run one by one (no lane chains: each layer's input is
    /// observed).
    public var layerObserver: ((any Module, Var) -> Void)?
    /// Whether `Sequential` fuses layers on the lane kernels: consecutive linear layers into one
    /// chain (`laneLinearChain`) and conv → ReLU → 2×2 max pooling into one pass
    /// (`sparseConv2dReLUPool`); the same bits as layer by layer. Tests turn it off for the reference.
    package var fusesLaneLayers = true

    /// A context for forward passes; `recordGrad` nil means the same as `training`.
    public init(training: Bool, recordGrad: Bool? = nil, rng: RNG = RNG(seed: 0)) {
        self.training = training
        self.recordGrad = recordGrad ?? training
        self.rng = rng
    }

    /// Builds an op's output node: records the tape only when some input needs a gradient.
    @inline(__always)
    package func node(_ value: Tensor, _ inputs: [Var], _ backward: @escaping (Tensor) throws -> Void) -> Var {
        let needs = recordGrad && inputs.contains { $0.requiresGrad }
        return Var(value, parents: needs ? inputs : [], requiresGrad: needs, backward: needs ? backward : nil)
    }
}
