import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim

/// Every key a config file or `--set` may hold, with its type, default and help text.
/// Keys are dotted paths ("optimizer.lr"); `policy_options.*` is free-form and validated by the
/// selected policy.
public struct ConfigKey: Sendable {
    /// The type a key's value must have (its name is what error messages say).
    public enum KeyType: String, Sendable { case int, double, bool, string, intList = "int list", doubleList = "number list" }
    /// Dotted path, e.g. "optimizer.lr".
    public let path: String
    /// The type values are coerced to (an int where a number is expected is fine).
    public let type: KeyType
    /// The value when unset; nil when the default depends on other keys (`model.bias`).
    public let defaultValue: ConfigValue?
    /// The only names a string key may hold, from the registry that owns them; nil: any.
    public let allowed: [String]?
    /// One line for `sparsewire keys` and docs/CONFIG.md.
    public let help: String

    package init(_ path: String, _ type: KeyType, _ def: ConfigValue?, _ help: String, allowed: [String]? = nil) {
        self.path = path; self.type = type; defaultValue = def; self.allowed = allowed; self.help = help
    }
}

/// Every key a config may hold, in documentation order; the allowed names come from the
/// registries of the layers below (models, initialisers, schedules, scopes, distributions), so
/// the config code depends on nothing above it.
public enum ConfigSchema {
    /// The free-form section whose keys the selected policy checks.
    public static let policyOptionsPrefix = "policy_options"

    /// The keys, in the order docs/CONFIG.md lists them.
    public static let keys: [ConfigKey] = [
        .init("model.name", .string, .string("mlp"), "the network", allowed: Models.names),
        .init("model.hidden", .intList, .list([.int(300), .int(100)]), "hidden widths of the MLP (`[256, 256]` is edge-popup's FC net)"),
        .init("model.width", .double, .double(1), "width multiplier of the conv nets (> 0; every layer keeps at least 1 channel); wrn: the widening factor k"),
        .init("model.depth", .int, .int(22), "wrn: depth 6n + 4 (10, 16, 22, 28, …; WRN-22-2 is depth 22, width 2)"),
        .init("model.edge_budget", .double, .double(0.225), "mobilenetv1-dnw: each graph group keeps the pointwise edges of dense MobileNetV1 × this (b²·c_in·c_out; the reference's ×0.225); replaces density"),
        .init("model.bias", .bool, nil, "biases in linear/conv layers (default: true for mlp, false for the conv nets as in edge-popup)"),
        .init("model.norm", .string, .string("none"), "batch norm after each layer (nonaffine: no learned scale and shift)", allowed: NormKind.allCases.map(\.rawValue)),
        .init("model.init", .string, .string("kaiming_normal"), "initialiser of the weights", allowed: Initializer.names),
        .init("model.init_mode", .string, .string("fan_in"), "fan used by the kaiming and constant initialisers", allowed: ["fan_in", "fan_out"]),
        .init("model.channels", .int, .int(32), "randwire: channels C of the first random stage (stem C/2, then C, 2C, 4C...)"),
        .init("model.stages", .int, .int(2), "randwire: number of random-graph stages"),
        .init("model.head", .int, .int(256), "randwire: width of the 1x1 conv before pooling"),
        .init("model.edge_drop", .double, .double(0.1), "randwire: probability of dropping one edge (target in-degree > 1) per training pass"),
        .init("model.setting", .string, .string("static"), "dnw: static (DAG of blocks), discrete (graph applied T times) or continuous (RK4 ODE)", allowed: DNWSetting.allCases.map(\.rawValue)),
        .init("model.blocks", .intList, .list([32, 192, 192, 192, 192].map { .int($0) }), "dnw: channels per block; the first is the stem output"),
        .init("model.steps", .int, .int(5), "dnw: graph applications T (discrete) or RK4 steps (continuous)"),
        .init("model.readout", .int, .int(100), "dnw: the last N channels feed the classifier"),
        .init("graph.model", .string, .string("ws"), "randwire graph generator: Erdős–Rényi, Barabási–Albert or Watts–Strogatz", allowed: ["er", "ba", "ws"]),
        .init("graph.n", .int, .int(32), "randwire: nodes per stage"),
        .init("graph.k", .int, .int(4), "ws: each node's ring neighbours (even)"),
        .init("graph.p", .double, .double(0.75), "er: edge probability; ws: rewiring probability"),
        .init("graph.m", .int, .int(5), "ba: edges added with each node"),
        .init("graph.seed", .int, .int(1), "seed of the first stage's graph (stage s uses seed + s)"),
        .init("data.dataset", .string, .string("fashion-mnist"), "the dataset: IDX files (fashion-mnist, mnist) or CIFAR-10 binary batches", allowed: DataSpec.names),
        .init("data.path", .string, .string(""), "directory of the dataset files (default: /usr/share/datasets/fashion-mnist for fashion-mnist)"),
        .init("data.normalize", .bool, .bool(true), "standardise each channel with the training set's mean/std"),
        .init("data.train_limit", .int, .int(0), "use only the first N training examples (0 = all)"),
        .init("data.test_limit", .int, .int(0), "use only the first N test examples (0 = all)"),
        .init("optimizer.name", .string, .string("sgd"), "the optimizer", allowed: OptimizerSpec.Kind.allCases.map(\.rawValue)),
        .init("optimizer.lr", .double, .double(0.1), "base learning rate (> 0)"),
        .init("optimizer.momentum", .double, .double(0.9), "SGD momentum (≥ 0)"),
        .init("optimizer.nesterov", .bool, .bool(false), "Nesterov momentum (needs momentum > 0)"),
        .init("optimizer.weight_decay", .double, .double(0), "L2 weight decay (≥ 0)"),
        .init("optimizer.betas", .doubleList, .list([.double(0.9), .double(0.999)]), "Adam β₁, β₂"),
        .init("optimizer.eps", .double, .double(1e-8), "Adam ε"),
        .init("schedule.name", .string, .string("cosine"), "learning-rate schedule, evaluated per step", allowed: LRSchedule.names),
        .init("schedule.warmup_epochs", .double, .double(0), "linear warm-up length in epochs (≥ 0)"),
        .init("schedule.step_size", .int, .int(30), "epochs between decays (step; ≥ 1)"),
        .init("schedule.milestones", .intList, .list([]), "epochs at which to decay (multistep)"),
        .init("schedule.gamma", .double, .double(0.1), "decay factor (step, multistep)"),
        .init("loss.label_smoothing", .double, .double(0), "label smoothing ε of the cross-entropy, in [0, 1)"),
        .init("epochs", .int, .int(1), "training epochs (≥ 0)"),
        .init("batch_size", .int, .int(128), "training batch size (≥ 1; larger than the training set means the whole set, one step per epoch, and the CLI says so)"),
        .init("eval_batch_size", .int, .int(1000), "evaluation batch size (≥ 1)"),
        .init("seed", .int, .int(0), "seed of every random draw (init, shuffling, dropout, masks)"),
        .init("threads", .int, .int(0), "this engine's threads; each layer splits its work over them, OpenBLAS runs single-threaded inside (0 = all cores; ≥ 0)"),
        .init("runtime.max_memory", .double, .double(0), "memory the engine may plan to use, in GiB: networks, batches and dataset copies whose estimate exceeds it are refused before anything is allocated (0 = 80 % of physical memory)"),
        .init("on_nan", .string, .string("error"), "NaN/Inf in the loss or a gradient: stop with an error naming the step and parameter, or skip that step's update", allowed: TrainingSpec.NaNPolicy.allCases.map(\.rawValue)),
        .init("policy", .string, .string("dense"), "mask policy name (`sparsewire policies` lists them, plugins included)"),
        .init("density", .double, .double(1), "fraction of weights KEPT in masked layers (0, 1]"),
        .init("masking.scope", .string, .string("layer"), "top-k per layer, or one top-k over all masked layers at once", allowed: MaskScope.allCases.map(\.rawValue)),
        .init("masking.distribution", .string, .string("auto"), "per-layer densities: uniform, erk, or auto (the policy's choice: erk for rigl/set/snfs)", allowed: ["auto"] + DensityDistribution.allCases.map(\.rawValue)),
        .init("masking.first_layer_dense", .bool, .bool(false), "leave the first maskable layer dense"),
        .init("masking.last_layer_dense", .bool, .bool(false), "leave the last maskable layer dense"),
        .init("masking.structure.type", .string, .string("unstructured"), "what the kept weights look like: any (unstructured), n of every m consecutive along the fan-in (nm), whole rows×cols tiles (block), whole output channels (channel), the same count per output unit (fanin); policies that cannot honour it refuse it", allowed: MaskStructure.typeNames),
        .init("masking.structure.n", .int, .int(2), "nm: weights kept per group (1…m); the density must be n/m"),
        .init("masking.structure.m", .int, .int(4), "nm: group size along the fan-in (must divide each masked layer's fan-in)"),
        .init("masking.structure.rows", .int, .int(1), "block: tile height in output units (must divide the layer's outputs)"),
        .init("masking.structure.cols", .int, .int(8), "block: tile width along the fan-in (must divide the layer's fan-in)"),
        .init("masking.save", .string, .string(""), "write the learned masks to this file after training (.safetensors: torch-prune <layer>_orig/_mask pairs; else JSON)"),
        .init("training.kernels", .string, .string("auto"), "masked linear and stride-1 conv layers in training: sparse (lane kernels for linear layers, CSR for convolutions, in the forward pass and the input gradient; the weight gradient and the optimizer update at the kept weights only when the policy trains just those), dense (w ⊙ m through dense GEMMs, as before), or auto (sparse when the layer keeps at most training.sparse_below of its weights and the batch has ≥ 32 samples)", allowed: SparseTrainingSettings.Mode.allCases.map(\.rawValue)),
        .init("training.sparse_below", .double, .double(0.3), "auto: the kept fraction at or below which a masked linear or stride-1 conv layer trains on the sparse kernels (docs/BENCHMARKS.md has the crossover)"),
        .init("inference.kernels", .string, .string("auto"), "masked layers at evaluation/inference: sparse (sparse kernels over the kept weights: CSR, or the lane kernels for structured masks), dense (the training path on w ⊙ m), or auto (sparse when the layer keeps at most inference.sparse_below of its weights)", allowed: SparseInference.Mode.allCases.map(\.rawValue)),
        .init("inference.sparse_below", .double, .double(0.3), "auto: the kept fraction at or below which a masked layer uses the sparse kernels (docs/BENCHMARKS.md has the crossover)"),
        .init("inference.structured_below", .double, .double(0.5), "auto: the same for layers whose mask has a structure (masking.structure: N:M, block, channel, fanin), run on the structured (lane) kernels; 0.5 takes 2:4"),
        .init("log.metrics", .string, .string(""), "write JSON-lines metrics to this file"),
        .init("log.every", .int, .int(50), "steps between progress lines when stderr is not a terminal"),
    ]

    /// Rows of docs/CONFIG.md's key table, one per key (and one for `policy_options.*`), in
    /// schema order: key, type, default, meaning (with the allowed names). docs/CONFIG.md holds
    /// exactly this text between its GENERATED markers (a test checks it; `sparsewire keys
    /// --markdown` prints it).
    public static func markdownTable() -> String {
        func code(_ v: ConfigValue) -> String {
            if case let .string(s) = v, s.isEmpty { return "`\"\"`" }
            return "`\(v)`"
        }
        var rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
        for k in keys {
            var meaning = k.help
            if let allowed = k.allowed { meaning += "; one of " + allowed.map { "`\($0)`" }.joined(separator: ", ") }
            rows.append("| `\(k.path)` | \(k.type.rawValue) | \(k.defaultValue.map(code) ?? "see meaning") | \(meaning) |")
        }
        rows.append("| `\(policyOptionsPrefix).*` | any | | options of the selected policy, checked by it (`sparsewire policies` lists them) |")
        return rows.joined(separator: "\n") + "\n"
    }

    /// The keys by dotted path.
    public static let byPath: [String: ConfigKey] = Dictionary(uniqueKeysWithValues: keys.map { ($0.path, $0) })

    /// Other names people use for a key's last part.
    package static let leafAliases: [String: String] = [
        "learning_rate": "lr", "learningrate": "lr", "wd": "weight_decay", "decay": "weight_decay",
        "bs": "batch_size", "batch": "batch_size", "batchsize": "batch_size", "epoch": "epochs",
        "optim": "name", "optimiser": "name", "type": "name", "arch": "name", "architecture": "name",
        "sparsity": "density", "prune_rate": "density", "k": "density", "num_threads": "threads",
    ]

    /// The closest known key to `key`, when one is close enough to be a likely typo or alias.
    public static func suggestion(for key: String) -> String? {
        let candidates = keys.map(\.path) + [policyOptionsPrefix]
        let norm = key.lowercased().replacingOccurrences(of: "-", with: "_")
        if candidates.contains(norm) { return norm }
        let parts = norm.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let leaf = parts.last ?? norm
        let section = parts.dropLast().joined(separator: ".")
        let inSection = candidates.filter { section.isEmpty ? !$0.contains(".") : $0.hasPrefix(section + ".") }
        let leaves = inSection.map { String($0.split(separator: ".").last!) }
        // 1. A known alias of the last part, in the same section ("optimizer.wd").
        if let alias = leafAliases[leaf], let i = leaves.firstIndex(of: alias) { return inSection[i] }
        // 2. The whole path, by edit distance.
        if let (c, d) = Spelling.closest(norm, in: candidates), d <= max(2, norm.count / 3) { return c }
        // 3. The closest last part in the same section.
        if let (c, d) = Spelling.closest(leaf, in: leaves), d <= max(2, leaf.count / 2) {
            return inSection[leaves.firstIndex(of: c)!]
        }
        // 4. A bare or aliased leaf anywhere ("lr" → "optimizer.lr").
        let target = leafAliases[leaf] ?? leaf
        return candidates.first { $0 == target || $0.hasSuffix("." + target) }
    }
}
