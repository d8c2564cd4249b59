import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
/// Everything one training run is, typed and range-checked: what `Config` decodes into once
/// (`RunSpec(config:)`), and what every layer below the config takes instead of string keys.
///
/// Each part is the spec its own layer defines: `ModelSpec` (networks), `DataSpec` (data),
/// `MaskingSpec` (masking), `OptimizerSpec` and `LRSchedule` (training).
public struct RunSpec: Sendable {
    /// The network (`model.*`, `graph.*`).
    public var model: ModelSpec
    /// The dataset (`data.*`).
    public var data: DataSpec
    /// The optimizer (`optimizer.*`).
    public var optimizer: OptimizerSpec
    /// The learning-rate schedule; its `base` is `optimizer.lr`.
    public var schedule: LRSchedule
    /// The mask policy and how its density is spread (`policy`, `policy_options`, `density`, `masking.*`).
    public var masking: MaskingSpec
    /// Epochs, batches, seed, loss and NaN handling.
    public var training: TrainingSpec
    /// Kernels of masked layers at evaluation (`inference.*`).
    public var inference: InferenceSpec
    /// The engine's threads (`threads`).
    public var runtime: RuntimeSpec
    /// Metrics, progress and mask files (`log.*`, `masking.save`).
    public var log: LogSpec

    /// A spec from its parts (defaults: the schema's); `schedule` nil means cosine from `optimizer.lr`.
    /// Not range-checked: `RunSpec(config:)` is the checked path.
    public init(model: ModelSpec = ModelSpec(), data: DataSpec = DataSpec(), optimizer: OptimizerSpec = OptimizerSpec(),
                schedule: LRSchedule? = nil, masking: MaskingSpec = MaskingSpec(), training: TrainingSpec = TrainingSpec(),
                inference: InferenceSpec = InferenceSpec(), runtime: RuntimeSpec = RuntimeSpec(), log: LogSpec = LogSpec()) {
        self.model = model; self.data = data; self.optimizer = optimizer
        self.schedule = schedule ?? LRSchedule(kind: .cosine, base: optimizer.lr)
        self.masking = masking; self.training = training; self.inference = inference; self.runtime = runtime; self.log = log
    }
}

/// The loop: epochs, batches, seed, loss, and what a NaN does.
public struct TrainingSpec: Sendable, Equatable {
    /// What a NaN/Inf loss or gradient does: stop with an error naming the step and parameter,
    /// or skip that step's update.
    public enum NaNPolicy: String, Sendable, CaseIterable { case error, skip }
    /// Epochs to train (≥ 0).
    public var epochs: Int
    /// Examples per training / evaluation batch (≥ 1).
    public var batchSize: Int
    /// Examples per evaluation batch (≥ 1).
    public var evalBatchSize: Int
    /// Seed of every random draw (init, shuffling, dropout, masks).
    public var seed: Int
    /// What a NaN/Inf loss or gradient does (`on_nan`).
    public var onNaN: NaNPolicy
    /// Label smoothing ε of the cross-entropy, in [0, 1).
    public var labelSmoothing: Double
    /// When masked layers train on the sparse kernels (`training.kernels`, `training.sparse_below`).
    public var kernels: SparseTrainingSettings

    /// The loop's settings (defaults: the schema's; not range-checked here).
    public init(epochs: Int = 1, batchSize: Int = 128, evalBatchSize: Int = 1000, seed: Int = 0,
                onNaN: NaNPolicy = .error, labelSmoothing: Double = 0, kernels: SparseTrainingSettings = .init()) {
        self.epochs = epochs; self.batchSize = batchSize; self.evalBatchSize = evalBatchSize; self.seed = seed
        self.onNaN = onNaN; self.labelSmoothing = labelSmoothing; self.kernels = kernels
    }

    /// The seed as the RNG takes it (two's complement of a negative seed).
    public var rngSeed: UInt64 { UInt64(bitPattern: Int64(seed)) }
}

/// Masked layers at evaluation and inference: `inference.kernels`, `inference.sparse_below` and
/// `inference.structured_below`.
public struct InferenceSpec: Sendable, Equatable {
    /// Sparse (CSR), dense, or auto by `sparseBelow`.
    public var kernels: SparseInference.Mode
    /// `auto`: the kept fraction, in [0, 1], at or below which a layer runs the sparse kernels.
    public var sparseBelow: Double
    /// `auto`: the same for layers with a structured mask (N:M, block, channel, fan-in).
    public var structuredBelow: Double

    /// Inference settings (defaults: the schema's).
    public init(kernels: SparseInference.Mode = .auto, sparseBelow: Double = 0.3, structuredBelow: Double = 0.5) {
        self.kernels = kernels; self.sparseBelow = sparseBelow; self.structuredBelow = structuredBelow
    }

    /// Fresh per-evaluation settings (they cache the sparse weights they build). Errors:
    /// `.config` for a `SPARSEWIRE_SPARSE_KERNEL` other than csr or lanes.
    public func settings() throws -> SparseInference {
        try SparseInference(mode: kernels, threshold: sparseBelow, structuredThreshold: structuredBelow)
    }
}

/// The engine's own resources.
public struct RuntimeSpec: Sendable, Equatable {
    /// Engine threads (≥ 0; 0 = all cores).
    public var threads: Int
    /// Memory the engine may plan to use, in GiB (≥ 0; 0 = 80 % of physical memory).
    public var maxMemory: Double
    /// `threads` 0 means all cores; `maxMemory` 0 means 80 % of physical memory.
    public init(threads: Int = 0, maxMemory: Double = 0) { self.threads = threads; self.maxMemory = maxMemory }
    /// The memory limit in bytes (`MemoryBudget.limit(gibibytes:)`).
    public var memoryLimit: Double { MemoryBudget.limit(gibibytes: maxMemory) }
}

/// Where a run reports.
public struct LogSpec: Sendable, Equatable {
    /// JSON-lines metrics file ("" = none).
    public var metrics: String
    /// Steps between progress lines when stderr is not a terminal (≥ 1).
    public var every: Int
    /// Where to write the learned masks after training ("" = nowhere): `masking.save`.
    public var masks: String
    /// Reporting settings (defaults: the schema's).
    public init(metrics: String = "", every: Int = 50, masks: String = "") {
        self.metrics = metrics; self.every = every; self.masks = masks
    }
}
