import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim

extension RunSpec {
    /// Decodes and range-checks a config, once: the only place the run's keys are read by name.
    /// Errors: `.config` naming the key and the value that is out of range (types and allowed
    /// names were already checked when the keys were set), or the policy's own option errors.
    public init(config c: Config) throws {
        let masking = MaskingSpec(config: c)
        try PolicyRegistry.validate(masking)
        if c.string("model.name") == "mobilenetv1-dnw", masking.policy != "dense" {
            // The model prescribes every graph group's kept count (Parameter.keepBudget).
            for key in ["density", "masking.distribution", "masking.scope", "masking.structure.type"]
            where c.isSet(key) && c.value(key) != ConfigSchema.byPath[key]?.defaultValue {
                throw SparseWireError.config("\(key) (\(c.value(key)!)) does not apply to model 'mobilenetv1-dnw': each graph group keeps "
                    + "round(b²·c_in·c_out) edges, the pointwise weights of dense MobileNetV1 ×b, with b = model.edge_budget (e.g. 0.225), "
                    + "chosen per group (unstructured, per-layer scope)")
            }
        }
        let training = try TrainingSpec(config: c)
        let runtime = try RuntimeSpec(config: c)
        let optimizer = try OptimizerSpec(config: c)
        let inference = InferenceSpec(kernels: SparseInference.Mode(rawValue: c.string("inference.kernels")) ?? .auto,
                                      sparseBelow: c.double("inference.sparse_below"),
                                      structuredBelow: c.double("inference.structured_below"))
        guard inference.sparseBelow >= 0 && inference.sparseBelow <= 1 else {
            throw SparseWireError.config("inference.sparse_below must be in [0, 1], got \(inference.sparseBelow)")
        }
        guard inference.structuredBelow >= 0 && inference.structuredBelow <= 1 else {
            throw SparseWireError.config("inference.structured_below must be in [0, 1], got \(inference.structuredBelow)")
        }
        self.init(model: try ModelSpec(config: c), data: DataSpec(config: c), optimizer: optimizer,
                  schedule: try LRSchedule(config: c, base: optimizer.lr), masking: masking, training: training,
                  inference: inference, runtime: runtime,
                  log: LogSpec(metrics: c.string("log.metrics"), every: c.int("log.every"), masks: c.string("masking.save")))
    }
}

extension TrainingSpec {
    /// `epochs`, `batch_size`, `eval_batch_size`, `seed`, `on_nan`, `loss.label_smoothing`,
    /// `training.kernels`, `training.sparse_below`.
    /// Errors: a batch size below 1, negative epochs, label smoothing outside [0, 1),
    /// `training.sparse_below` outside [0, 1].
    public init(config c: Config) throws {
        self.init(epochs: c.int("epochs"), batchSize: c.int("batch_size"), evalBatchSize: c.int("eval_batch_size"),
                  seed: c.int("seed"), onNaN: TrainingSpec.NaNPolicy(rawValue: c.string("on_nan")) ?? .error,
                  labelSmoothing: c.double("loss.label_smoothing"),
                  kernels: SparseTrainingSettings(mode: SparseTrainingSettings.Mode(rawValue: c.string("training.kernels")) ?? .auto,
                                                  threshold: c.double("training.sparse_below")))
        let below = kernels.threshold
        guard below >= 0 && below <= 1 else { throw SparseWireError.config("training.sparse_below must be in [0, 1], got \(below)") }
        guard batchSize >= 1 else { throw SparseWireError.config("batch_size must be ≥ 1, got \(batchSize)") }
        guard epochs >= 0 else { throw SparseWireError.config("epochs must be ≥ 0, got \(epochs)") }
        guard evalBatchSize >= 1 else { throw SparseWireError.config("eval_batch_size must be ≥ 1") }
        let ls = Float(labelSmoothing)
        guard ls >= 0 && ls < 1 else { throw SparseWireError.config("loss.label_smoothing must be in [0, 1), got \(ls)") }
    }
}

extension RuntimeSpec {
    /// `threads` and `runtime.*`. Errors: a negative thread count or memory limit.
    public init(config c: Config) throws {
        self.init(threads: c.int("threads"), maxMemory: c.double("runtime.max_memory"))
        guard threads >= 0 else { throw SparseWireError.config("threads must be ≥ 0 (0 = all cores), got \(threads)") }
        guard maxMemory >= 0, maxMemory.isFinite else {
            throw SparseWireError.config("runtime.max_memory must be ≥ 0 GiB (0 = 80 % of physical memory), got \(maxMemory)")
        }
    }
}

extension MaskingSpec {
    /// `policy`, `policy_options.*`, `density` and `masking.*` (not yet checked against the
    /// policy: `PolicyRegistry.validate` does that).
    public init(config c: Config) {
        let d = c.string("masking.distribution")
        self.init(policy: c.string("policy"), options: c.policyOptions, density: c.double("density"),
                  scope: MaskScope(rawValue: c.string("masking.scope")) ?? .layer,
                  distribution: d == "auto" ? nil : DensityDistribution(rawValue: d),
                  firstLayerDense: c.bool("masking.first_layer_dense") ?? false,
                  lastLayerDense: c.bool("masking.last_layer_dense") ?? false,
                  structure: MaskingSpec.structure(c))
    }

    /// `masking.structure.*` (its numbers are checked by `MaskStructure.validate`).
    static func structure(_ c: Config) -> MaskStructure {
        switch c.string("masking.structure.type") {
        case "nm": return .nm(n: c.int("masking.structure.n"), m: c.int("masking.structure.m"))
        case "block": return .block(rows: c.int("masking.structure.rows"), cols: c.int("masking.structure.cols"))
        case "channel": return .channel
        case "fanin": return .fanin
        default: return .unstructured
        }
    }
}

extension ModelSpec {
    /// The `model.*` and `graph.*` keys each model reads besides `model.name`, `model.init` and
    /// `model.init_mode`; a key given another value than its default for a model that does not
    /// read it is an error, not silently ignored.
    static let keysByModel: [(models: @Sendable (String) -> Bool, keys: [String])] = [
        ({ $0 == "mlp" }, ["model.hidden", "model.bias", "model.norm"]),
        ({ $0.hasPrefix("conv") }, ["model.width", "model.bias", "model.norm"]),
        ({ $0.hasPrefix("resnet") || $0 == "mobilenetv1" }, ["model.width", "model.norm"]),
        ({ $0 == "wrn" }, ["model.depth", "model.width", "model.norm"]),
        ({ $0 == "mobilenetv1-dnw" }, ["model.width", "model.norm", "model.edge_budget"]),
        ({ $0 == "randwire" }, ["model.channels", "model.stages", "model.head", "model.edge_drop",
                                "graph.model", "graph.n", "graph.k", "graph.p", "graph.m", "graph.seed"]),
        ({ $0 == "dnw" }, ["model.setting", "model.blocks", "model.steps", "model.readout"]),
    ]

    /// `model.*` and `graph.*`. Errors: `.config` for a key set (to a non-default value) that
    /// the chosen model does not read, e.g. `model.width` on the MLP.
    public init(config c: Config) throws {
        let name = c.string("model.name")
        let reads = Set(ModelSpec.keysByModel.filter { $0.models(name) }.flatMap(\.keys))
        for key in ModelSpec.keysByModel.flatMap(\.keys) where !reads.contains(key) && c.isSet(key)
            && c.value(key) != ConfigSchema.byPath[key]?.defaultValue {
            let users = ModelSpec.keysByModel.filter { $0.keys.contains(key) }.map { entry in
                Models.names.filter(entry.models).joined(separator: ", ") }.joined(separator: ", ")
            throw SparseWireError.config("\(key) (\(c.value(key)!)) does not apply to model '\(name)': only \(users) read it"
                + (reads.isEmpty ? "" : "; '\(name)' reads \(reads.sorted().joined(separator: ", "))"))
        }
        let n = c.int("graph.n")
        let gen: GraphGenerator
        switch c.string("graph.model") {
        case "er": gen = .er(n: n, p: c.double("graph.p"))
        case "ba": gen = .ba(n: n, m: c.int("graph.m"))
        default: gen = .ws(n: n, k: c.int("graph.k"), p: c.double("graph.p"))
        }
        let mode = Initializer.FanMode(rawValue: c.string("model.init_mode")) ?? .fanIn
        self.init(name: c.string("model.name"), hidden: c.intList("model.hidden"), width: c.double("model.width"), depth: c.int("model.depth"),
                  edgeBudget: c.double("model.edge_budget"),
                  bias: c.bool("model.bias"), norm: NormKind(rawValue: c.string("model.norm")) ?? .none,
                  initializer: try Initializer.named(c.string("model.init"), mode: mode),
                  randWire: RandWireSpec(generator: gen, seed: UInt64(bitPattern: Int64(c.int("graph.seed"))),
                                         channels: c.int("model.channels"), stages: c.int("model.stages"),
                                         head: c.int("model.head"), edgeDrop: c.double("model.edge_drop")),
                  dnw: DNWSpec(setting: DNWSetting(rawValue: c.string("model.setting")) ?? .staticGraph,
                               blocks: c.intList("model.blocks"), steps: c.int("model.steps"), readout: c.int("model.readout")))
    }
}

extension DataSpec {
    /// `data.*`.
    public init(config c: Config) {
        self.init(dataset: c.string("data.dataset"), path: c.string("data.path"), normalize: c.bool("data.normalize") ?? true,
                  trainLimit: c.int("data.train_limit"), testLimit: c.int("data.test_limit"))
    }
}

extension OptimizerSpec {
    /// `optimizer.*`. Errors: lr ≤ 0, betas not two numbers.
    public init(config c: Config) throws {
        let lr = c.double("optimizer.lr")
        guard lr > 0 else { throw SparseWireError.config("optimizer.lr must be > 0, got \(lr)") }
        let kind = OptimizerSpec.Kind(rawValue: c.string("optimizer.name")) ?? .sgd
        let b = c.doubleList("optimizer.betas")
        if kind == .adam { guard b.count == 2 else { throw SparseWireError.config("optimizer.betas needs two numbers, got \(b)") } }
        self.init(kind: kind, lr: lr, momentum: c.double("optimizer.momentum"), nesterov: c.bool("optimizer.nesterov") ?? false,
                  weightDecay: c.double("optimizer.weight_decay"), beta1: b.count == 2 ? b[0] : 0.9, beta2: b.count == 2 ? b[1] : 0.999,
                  eps: c.double("optimizer.eps"))
    }
}

extension LRSchedule {
    /// `schedule.*` around the base rate `base`. Errors: warm-up < 0, step_size < 1 (step).
    public init(config c: Config, base: Double) throws {
        let warm = c.double("schedule.warmup_epochs")
        guard warm >= 0 else { throw SparseWireError.config("schedule.warmup_epochs must be ≥ 0, got \(warm)") }
        let gamma = c.double("schedule.gamma")
        let kind: Kind
        switch c.string("schedule.name") {
        case "constant": kind = .constant
        case "step":
            guard c.int("schedule.step_size") >= 1 else { throw SparseWireError.config("schedule.step_size must be ≥ 1") }
            kind = .step(stepSize: c.int("schedule.step_size"), gamma: gamma)
        case "multistep": kind = .multistep(milestones: c.intList("schedule.milestones"), gamma: gamma)
        default: kind = .cosine
        }
        self.init(kind: kind, base: base, warmupEpochs: warm)
    }
}
