import CKernels
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
/// No mask at all: the dense baseline.
package final class DensePolicy: MaskPolicy {
    package var routing: GradientRouting { .none }
    package func activeHooks(at step: MaskStep) -> PolicyHooks { [] }
}

/// DNW (Wortsman et al. 2019): the forward pass uses the top-k weights by |w|; the backward
/// pass gives the gradient to ALL weights (the update rule), so unused edges can grow and swap in.
/// With `update: false` it is the "no update" baseline: gradient only to the chosen weights.
package final class DNWPolicy: MaskPolicy {
    package let update: Bool
    package init(update: Bool) { self.update = update }
    package var routing: GradientRouting { update ? .straightThrough : .maskedWeights }
    package func activeHooks(at step: MaskStep) -> PolicyHooks { .updateMasks }

    package func prepare(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws { select(layers, ctx) }
    package func updateMasks(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws { select(layers, ctx) }
    package func evaluationMasks(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws { select(layers, ctx) }

    private func select(_ layers: [MaskedLayer], _ ctx: PolicyContext) {
        ctx.selectTopK(layers, order: .magnitude) { $0.weight }
    }
}

/// A fixed random mask with exactly the target count per layer (DNW's "Random Graph"); only
/// the kept weights train.
package final class RandomStaticPolicy: MaskPolicy {
    package var routing: GradientRouting { .maskedWeights }
    /// The mask never changes after `prepare`.
    package var inertDeadWeights: Bool { true }
    package func activeHooks(at step: MaskStep) -> PolicyHooks { [] }
    package func prepare(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws {
        // Per-layer counts (even with scope: global a random mask has nothing to rank globally).
        for l in layers {
            let r = Tensor(uninitialized: l.parameter.shape)
            for i in 0..<r.count { r[i] = ctx.rng.uniform() }
            l.structure.select(r.data, shape: l.parameter.shape, keep: l.keepCount, into: l.mask.data, order: .value)
        }
    }
}

/// Targeted dropout (Gomez et al.) as DNW's baseline: the top-k weights by |w| are always kept;
/// each of the others is dropped with probability ρ in training. Evaluation keeps the top-k only.
package final class TargetedDropoutPolicy: MaskPolicy {
    package let rho: Float
    package init(rho: Float) { self.rho = rho }
    package var routing: GradientRouting { .maskedWeights }
    package func activeHooks(at step: MaskStep) -> PolicyHooks { .updateMasks }

    package func updateMasks(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws {
        ctx.selectTopK(layers, order: .magnitude) { $0.weight }
        for l in layers {
            let m = l.mask.data, key = ctx.rng.next(), rho = rho
            Parallel.forEachChunk(l.count) { lo, hi in swk_dropout_fill(m + lo, hi - lo, key, lo, rho) }
        }
    }

    package func evaluationMasks(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws {
        ctx.selectTopK(layers, order: .magnitude) { $0.weight }
    }
}
