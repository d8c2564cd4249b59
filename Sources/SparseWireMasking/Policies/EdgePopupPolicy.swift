import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
/// edge-popup (Ramanujan et al. 2020, "What's hidden in a randomly weighted neural network?").
///
/// Weights and biases are frozen at their random init. Each weight has a score s (init
/// kaiming-uniform with a = √5); the forward pass uses the top-k weights by |s| per layer
/// (or globally with `masking.scope: global`); the backward pass is straight-through:
/// dL/ds = dL/dŵ · w · sign(s).
///
/// Options: `weight_init` (kaiming_normal, signed_constant, unsigned_constant, kaiming_uniform,
/// xavier_normal; default signed_constant), `scale_fan` (multiply the fan by k, so the std
/// grows as 1/√k; default false), `fan_mode` (fan_in / fan_out).
package final class EdgePopupPolicy: MaskPolicy {
    package let weightInit: Initializer
    package let scaleFan: Bool
    package init(weightInit: Initializer, scaleFan: Bool) {
        self.weightInit = weightInit
        self.scaleFan = scaleFan
    }

    package var routing: GradientRouting { .scores(absolute: true) }
    package var trainsWeights: Bool { false }

    package static func make(_ o: PolicyOptions) throws -> EdgePopupPolicy {
        let mode = Initializer.FanMode(rawValue: try o.string("fan_mode", default: "fan_in", allowed: ["fan_in", "fan_out"]))!
        let name = try o.string("weight_init", default: "signed_constant",
                                allowed: ["kaiming_normal", "signed_constant", "unsigned_constant", "kaiming_uniform", "xavier_normal"])
        return EdgePopupPolicy(weightInit: try Initializer.named(name, mode: mode), scaleFan: try o.bool("scale_fan", default: false))
    }

    package func prepare(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws {
        for l in layers {
            weightInit.fill(l.parameter, rng: &ctx.rng, fanScale: scaleFan ? Float(l.density) : 1)
            let s = Parameter(name: l.name + ".scores", shape: l.parameter.shape, role: .other, maskable: false)
            Initializer.kaimingUniform(mode: .fanIn, gain: (2 / Float(1 + 5)).squareRoot()).fill(s, rng: &ctx.rng)
            l.scores = s
        }
        select(layers, ctx)
    }

    package func activeHooks(at step: MaskStep) -> PolicyHooks { .updateMasks }
    package func updateMasks(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws { select(layers, ctx) }
    package func evaluationMasks(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws { select(layers, ctx) }

    private func select(_ layers: [MaskedLayer], _ ctx: PolicyContext) {
        ctx.selectTopK(layers, order: .magnitude) { $0.scores!.value }
    }
}
