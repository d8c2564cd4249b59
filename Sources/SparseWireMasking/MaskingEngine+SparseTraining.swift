import CKernels
import SparseWireTensor
import SparseWireAutograd

/// A layer's sparse-training pattern, or the decision to train it dense, at one mask generation.
package struct SparsePattern {
    /// The mask generation it was made at.
    package var generation: Int
    /// The kept fraction of the mask at that generation.
    package var density: Double
    /// The pattern when built (nil until the layer first trains sparse at this generation).
    package var weight: SparseTrainingWeight?
    /// The forward context whose step last refreshed the values.
    package var refreshedAt: Int
}

extension MaskingEngine {
    /// The sparse-training step of masked parameter `p` on a batch of `samples`, or nil for the
    /// dense path: the layer is not masked, not a linear or convolution weight, or `sparseTraining` says dense
    /// at its kept fraction. The pattern is rebuilt when the mask generation moved on (O(count)),
    /// its values refreshed once per forward context (O(kept)).
    ///
    /// The weight gradient goes to the kept entries only (`.active`) when the policy routes it
    /// to the masked weights, trains them, and does not keep dL/dŵ this step; with
    /// `inertDeadWeights` the optimizer then updates those entries only, otherwise the gradient
    /// is scattered into a dense one. Every other routing gets the dense dL/dŵ through the
    /// effective-weight node (straight-through, scores, RigL's growth step).
    package func sparseStep(_ p: Parameter, samples: Int, _ ctx: Context, tick: Int) throws -> SparseTrainingStep? {
        guard let layer = layerFor(p), p.shape.count == 2 || p.shape.count == 4 else { return nil }
        sparseTrainingCounts.layers += 1
        let step = try sparseStepOrDense(p, layer, samples: samples, ctx, tick: tick)
        if step != nil { sparseTrainingCounts.sparse += 1 }
        return step
    }

    /// `sparseStep` for a masked linear or convolution weight.
    private func sparseStepOrDense(_ p: Parameter, _ layer: MaskedLayer, samples: Int, _ ctx: Context, tick: Int) throws -> SparseTrainingStep? {
        let id = ObjectIdentifier(p)
        // When the masks may change again before the next forward pass (dnw, edge-popup,
        // supermask, SNFS: every step) a linear layer would rebuild its lane packings each step,
        // which costs more than its sparse products save (FC-1024 dnw at 0.1: 12.4 ms against
        // 10.0 dense; SNFS 12.8 against 11.4): `auto` keeps it dense, without counting the mask.
        // Convolutions still gain. A one-off rewrite (lottery's pruning step) builds the pattern
        // at once. See `masksChurn`.
        if sparseTraining.mode == .auto && p.shape.count == 2 && masksChurn {
            sparsePatterns[id] = nil
            return nil
        }
        var state = sparsePatterns[id] ?? SparsePattern(generation: -1, density: 1, weight: nil, refreshedAt: -1)
        if state.generation != maskGeneration {
            let m = layer.mask
            state = SparsePattern(generation: maskGeneration, density: Double(swk_count_nonzero(m.data, m.count)) / Double(max(m.count, 1)),
                                  weight: nil, refreshedAt: -1)
        }
        guard sparseTraining.useSparse(density: state.density, samples: samples), state.density > 0 else {
            sparsePatterns[id] = state
            return nil
        }
        if state.weight == nil {
            state.weight = p.shape.count == 2 ? try SparseTrainingWeight(linearMask: layer.mask, structure: p.maskStructure)
                                              : try SparseTrainingWeight(convMask: layer.mask)
        }
        let w = state.weight!
        if state.refreshedAt != tick { w.refresh(weight: p.value, mask: layer.mask, binary: !policy.softMasks); state.refreshedAt = tick }
        sparsePatterns[id] = state

        if policy.routing == .maskedWeights, !keepDenseGradient {
            guard p.trainable else { return SparseTrainingStep(weight: w, weightGradient: .none, anchor: p.variable) }
            let inert = policy.inertDeadWeights, soft = policy.softMasks, mask = layer.mask
            return SparseTrainingStep(weight: w, weightGradient: .active { [weak p] values in
                guard let p else { return }
                if soft {  // dL/dw = dL/dŵ ⊙ m at the kept entries
                    let vp = values.data, mp = mask.data
                    for (j, i) in w.active.indices.enumerated() { vp[j] *= mp[Int(i)] }
                }
                if inert { p.accumulateActive(indices: w.active, values: values) }
                else { p.variable.accumulate(ActiveGradient(indices: w.active, values: values).dense(shape: p.shape)) }
            }, anchor: p.variable)
        }
        let effective = try ctx.effective(p)
        return SparseTrainingStep(weight: w, weightGradient: .dense(effective), anchor: effective)
    }
}
