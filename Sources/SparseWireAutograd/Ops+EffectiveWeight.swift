import SparseWireTensor

extension Context {
    /// The tensor a layer multiplies by: the weight itself when dense, w ⊙ m when a mask is set
    /// (gradient to the weight through the mask). Mask policies replace this through `weightHook`.
    public func effective(_ p: Parameter) throws -> Var {
        func compute() throws -> Var {
            if let hook = weightHook { return try hook(p, self) }
            guard let mask = p.mask else { return p.variable }
            return try mul(p.variable, Var(mask))
        }
        // Evaluation contexts keep ŵ for their lifetime (the weights cannot change under them).
        if !recordGrad, p.mask != nil, let inference = sparseInference { return try inference.effectiveWeight(p, compute) }
        return try compute()
    }
}
