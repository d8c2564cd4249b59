import CKernels
import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

/// Bernoulli supermask (Zhou et al. 2019, "Deconstructing lottery tickets").
///
/// Weights and biases are frozen. Each weight has a mask logit s (init `init_logit`, default 0,
/// so p = 0.5); training samples m ~ Bernoulli(σ(s)) every step and passes the gradient
/// straight through the sample to the sigmoid: dL/ds = dL/dŵ · w · σ(s)(1 − σ(s)).
///
/// Options: `weight_init` (xavier_normal default, or signed_constant = sign(W)·std(W) of a
/// xavier-normal draw), `dynamic_scaling` (multiply the mask by n / #ones of each layer, so the
/// expected signal stays constant), `init_logit`, `eval` (`sample`: average `eval_draws`
/// sampled masks; `round`: m = [σ(s) > 0.5]), `eval_draws`.
/// The density setting is not used: the mask's density is learned.
package final class SupermaskPolicy: MaskPolicy {
    package let signedConstant: Bool
    package let dynamicScaling: Bool
    package let initLogit: Float
    package let roundAtEval: Bool
    package let draws: Int

    package init(signedConstant: Bool, dynamicScaling: Bool, initLogit: Float, roundAtEval: Bool, draws: Int) {
        self.signedConstant = signedConstant; self.dynamicScaling = dynamicScaling
        self.initLogit = initLogit; self.roundAtEval = roundAtEval; self.draws = draws
    }

    package static func make(_ o: PolicyOptions) throws -> SupermaskPolicy {
        SupermaskPolicy(
            signedConstant: try o.string("weight_init", default: "xavier_normal", allowed: ["xavier_normal", "signed_constant"]) == "signed_constant",
            dynamicScaling: try o.bool("dynamic_scaling", default: false),
            initLogit: Float(try o.double("init_logit", default: 0)),
            roundAtEval: try o.string("eval", default: "sample", allowed: ["sample", "round"]) == "round",
            draws: try o.int("eval_draws", default: 1, min: 1))
    }

    package var routing: GradientRouting { .sigmoidScores }
    package var trainsWeights: Bool { false }
    package var evaluationDraws: Int { roundAtEval ? 1 : draws }
    /// Sampled masks are 0/1, but dynamic scaling multiplies them by n / #ones.
    package var softMasks: Bool { true }

    package func prepare(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws {
        for l in layers {
            Initializer.xavierNormal().fill(l.parameter, rng: &ctx.rng)
            if signedConstant {
                let w = l.weight
                var ss: Double = 0
                for i in 0..<w.count { ss += Double(w[i] * w[i]) }
                let std = Float((ss / Double(w.count)).squareRoot())
                for i in 0..<w.count { w[i] = w[i] < 0 ? -std : std }
            }
            let s = Parameter(name: l.name + ".scores", shape: l.parameter.shape, role: .other, maskable: false)
            s.value.fill(initLogit)
            l.scores = s
        }
        sample(layers, ctx)
    }

    package func activeHooks(at step: MaskStep) -> PolicyHooks { .updateMasks }
    package func updateMasks(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws {
        sample(layers, ctx, forTraining: step.training && ctx.feedsEffectiveWeights)
    }

    package func evaluationMasks(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws {
        if roundAtEval {
            for l in layers {
                let s = l.scores!.value.data, m = l.mask.data
                for i in 0..<l.count { m[i] = s[i] > 0 ? 1 : 0 }  // σ(s) > 0.5 ⇔ s > 0
                scale(l)
            }
        } else {
            sample(layers, ctx)
        }
    }

    /// m ~ Bernoulli(σ(s)), vectorised: each element's uniform is a hash of (a per-layer key
    /// drawn from the policy's RNG, its index), so the draw does not depend on the thread split.
    /// `forTraining`: the same pass keeps σ'(s) for the backward pass (`keepProbabilitySlope`)
    /// and, without dynamic scaling (which rescales the mask afterwards), ŵ = w ⊙ m for the
    /// forward pass (`maskedWeight`).
    private func sample(_ layers: [MaskedLayer], _ ctx: PolicyContext, forTraining: Bool = false) {
        for l in layers {
            let s = l.scores!.value.data, m = l.mask.data, w = l.weight.data
            let key = ctx.rng.next()
            let slopes = forTraining ? Tensor(uninitialized: l.parameter.shape) : nil
            let masked = forTraining && !dynamicScaling ? Tensor(uninitialized: l.parameter.shape) : nil
            l.keepProbabilitySlope = slopes
            l.maskedWeight = masked
            withExtendedLifetime((slopes, masked, l.weight)) {
                let d = slopes?.data, wm = masked?.data
                Parallel.forEachChunk(l.count) { lo, hi in
                    _ = swk_bernoulli_sigmoid(s + lo, m + lo, d.map { $0 + lo }, w + lo, wm.map { $0 + lo }, hi - lo, key, lo)
                }
            }
            scale(l)
        }
    }

    /// Dynamic scaling: mask entries become n/#ones instead of 1.
    private func scale(_ l: MaskedLayer) {
        guard dynamicScaling else { return }
        let m = l.mask.data
        let ones = swk_count_nonzero(m, l.count)
        guard ones > 0 else { return }
        let f = Float(l.count) / Float(ones)
        for i in 0..<l.count where m[i] != 0 { m[i] = f }
    }
}
