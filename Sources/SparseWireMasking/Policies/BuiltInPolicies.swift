import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
/// The built-in policies, as the registry lists them.
package enum BuiltInPolicies {
    package static let rigLOptions: [(name: String, help: String)] = [
        ("alpha", "initial drop fraction α (0.3)"), ("delta_t", "steps between mask updates ΔT (100)"),
        ("end_fraction", "stop updating after this fraction of training (0.75)"),
    ]

    package static let all: [PolicyDescriptor] = [
        PolicyDescriptor(name: "dense", summary: "no mask: every weight is used and trained (the dense baseline)") { _ in DensePolicy() },
        PolicyDescriptor(name: "dnw", summary: "DNW: top-k by |w| in the forward pass, gradient to ALL weights (the update rule)", honoursStructure: true) { _ in
            DNWPolicy(update: true)
        },
        PolicyDescriptor(
            name: "edge-popup",
            summary: "edge-popup: frozen random weights, learned scores, top-k by |score|, straight-through",
            options: [("weight_init", "kaiming_normal, signed_constant (default), unsigned_constant, kaiming_uniform, xavier_normal"),
                      ("scale_fan", "multiply the init fan by the density (default false)"),
                      ("fan_mode", "fan_in (default) or fan_out")], honoursStructure: true) { try EdgePopupPolicy.make($0) },
        PolicyDescriptor(
            name: "supermask",
            summary: "Bernoulli supermask: frozen weights, sampled mask from σ(logits), straight-through sigmoid",
            options: [("weight_init", "xavier_normal (default) or signed_constant"),
                      ("dynamic_scaling", "rescale each layer by n/#ones (default false)"),
                      ("init_logit", "initial mask logit (default 0, p = 0.5)"),
                      ("eval", "sample (default) or round"), ("eval_draws", "masks averaged at evaluation (default 1)")]) {
            try SupermaskPolicy.make($0)
        },
        PolicyDescriptor(name: "rigl", summary: "RigL: drop smallest |w|, grow largest |gradient|, cosine drop schedule",
                         options: rigLOptions, preferredDistribution: .erk, honoursStructure: true) { try RigLPolicy.make(.gradient, $0) },
        PolicyDescriptor(name: "set", summary: "SET: RigL's schedule with random growth", options: rigLOptions,
                         preferredDistribution: .erk, honoursStructure: true) { try RigLPolicy.make(.random, $0) },
        PolicyDescriptor(name: "snfs", summary: "SNFS: RigL's schedule, growth by |EMA of the gradient|",
                         options: rigLOptions + [("ema_decay", "gradient EMA decay (0.9)")], preferredDistribution: .erk,
                         honoursStructure: true) {
            try RigLPolicy.make(.momentum, $0)
        },
        PolicyDescriptor(name: "random-static", summary: "fixed random mask at the target density (DNW's Random Graph)", honoursStructure: true) { _ in
            RandomStaticPolicy()
        },
        PolicyDescriptor(name: "dnw-no-update", summary: "top-k by |w|, gradient only to the chosen weights (DNW's no-update)", honoursStructure: true) { _ in
            DNWPolicy(update: false)
        },
        PolicyDescriptor(name: "targeted-dropout", summary: "keep top-k by |w|, drop each other weight with probability ρ in training",
                         options: [("rho", "drop probability of the non-top-k weights (default 0.5)")], honoursStructure: true) { o in
            TargetedDropoutPolicy(rho: Float(try o.double("rho", default: 0.5, range: 0...1)))
        },
        PolicyDescriptor(name: "lottery-one-shot", summary: "train dense, prune to top-k |w|, rewind to init, retrain",
                         options: [("prune_epoch", "epoch at which to prune and rewind (default: half the epochs)")], honoursStructure: true) { o in
            LotteryOneShotPolicy(pruneEpoch: o.values["prune_epoch"] == nil ? nil : try o.int("prune_epoch", default: 1, min: 0))
        },
        PolicyDescriptor(name: "l1-anneal", summary: "L1 penalty, magnitude threshold annealed until k weights remain",
                         options: [("l1", "L1 coefficient λ (default 1e-4)"),
                                   ("anneal_fraction", "fraction of training over which to anneal (default 0.75)")]) { o in
            L1AnnealPolicy(l1: Float(try o.double("l1", default: 1e-4, range: 0...1e3)),
                           annealFraction: try o.double("anneal_fraction", default: 0.75, range: 0...1))
        },
    ]
}
