import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
import SparseWireConfig

/// A training run assembled from a `RunSpec`: network, mask policy, optimizer, schedule and
/// data, with the engine's own runtime (threads, worker pool).
///
/// Concerns live in their own files: the loop (`Trainer+Loop.swift`), evaluation and inference
/// (`Trainer+Evaluation.swift`), switching policy (`Trainer+Policy.swift`), checkpoints
/// (`Trainer+Checkpoint.swift` in the interchange layer).
public final class Trainer {
    /// The run as decoded; `config` is the text form it came from (for reports and checkpoints).
    public package(set) var spec: RunSpec
    /// The config text the run came from (checkpoints record it; a policy switch updates it).
    public package(set) var config: Config
    /// The network being trained.
    public let network: Network
    /// The optimizer over the weights and the policy's scores (new after a policy switch).
    public package(set) var optimizer: any Optimizer
    /// The learning-rate schedule, evaluated per step.
    public let schedule: LRSchedule
    /// The training set (standardised when `data.normalize`).
    public let train: Dataset
    /// The test set, standardised with the training set's statistics.
    public let test: Dataset
    /// Threads and worker pool of this engine (`runtime.threads`).
    public let runtime: EngineRuntime
    /// The run's stream: each step, epoch shuffle and policy draws forks from it.
    public package(set) var rng: RNG
    /// Optimisation steps done (NaN-skipped ones included).
    public package(set) var globalStep = 0
    /// Steps skipped because of NaN/Inf (`on_nan: skip`).
    public package(set) var skippedSteps = 0
    /// Epochs completed.
    public package(set) var epochsDone = 0
    /// What each epoch of this process measured (not restored by `load`).
    public package(set) var history: [EpochMetrics] = []
    /// The mask policy bound to the network (an engine with no layers for `dense`).
    public package(set) var masking: MaskingEngine
    /// The pass `nextStep()` draws batches from.
    package var stepBatches: BatchIterator?
    /// The state of the RNG `stepBatches` was shuffled with (a checkpoint rebuilds the pass).
    package var stepPassShuffle: [UInt64]?
    /// The epoch `trainEpoch` left open when it was stopped on request (or a checkpoint restored
    /// mid-epoch); `trainEpoch` continues it. Nil between epochs.
    public package(set) var openEpoch: EpochProgress?
    /// Set by `requestStop()`, taken by the epoch loop after each step.
    let stopRequest = StopRequest()

    /// Decodes `config` (`RunSpec(config:)`) and assembles the run.
    public convenience init(config: Config, train: Dataset, test: Dataset) throws {
        try self.init(spec: RunSpec(config: config), config: config, train: train, test: test)
    }

    /// Assembles the run: checks the data, builds and initialises the network, binds the mask
    /// policy, builds the optimizer over weights and scores. `config` is what reports and
    /// checkpoints record (nil: none recorded beyond the defaults).
    /// Errors: `.data` (empty sets, train/test shapes differ), `.config` from the builders.
    public init(spec: RunSpec, config: Config? = nil, train: Dataset, test: Dataset) throws {
        guard train.count > 0, test.count > 0 else {
            throw SparseWireError.data("empty dataset (train \(train.count), test \(test.count) examples)")
        }
        guard train.spec == test.spec else {
            throw SparseWireError.data("train and test sets differ in shape: \(train.spec) vs \(test.spec)")
        }
        self.spec = spec
        self.config = config ?? Config()
        self.train = train
        self.test = test
        runtime = EngineRuntime(threads: spec.runtime.threads)
        var r = RNG(seed: spec.training.rngSeed)
        var initRNG = r.fork()
        let (network, masking, optimizer) = try runtime.run {
            let network = try Models.build(spec.model, input: train.spec, batchSize: min(spec.training.batchSize, train.count),
                                           memoryLimit: spec.runtime.memoryLimit)
            Models.initialize(network, weightInit: spec.model.initializer, rng: &initRNG)
            let masking = try MaskingEngine(network: network, spec: spec.masking, rng: r.fork())
            masking.sparseTraining = spec.training.kernels
            let optimizer = try spec.optimizer.make(network.parameters + masking.scoreParameters)
            masking.attach(optimizer: optimizer)
            return (network, masking, optimizer)
        }
        rng = r
        self.network = network; self.masking = masking; self.optimizer = optimizer
        schedule = spec.schedule
    }

    /// Examples per training batch: `batch_size`, or the whole training set when it is smaller.
    public var batchSize: Int { min(spec.training.batchSize, train.count) }
    /// Label smoothing ε of the training loss.
    public var labelSmoothing: Float { Float(spec.training.labelSmoothing) }
    /// Batches per epoch: ⌈train.count / batchSize⌉.
    public var stepsPerEpoch: Int { BatchIterator.batchCount(train.count, batchSize: batchSize) }
    /// Steps of the whole run: stepsPerEpoch · epochs (the schedule's horizon).
    public var totalSteps: Int { stepsPerEpoch * spec.training.epochs }
    /// The learning rate of the next step.
    public var currentLR: Double { schedule.lr(step: globalStep, stepsPerEpoch: stepsPerEpoch, totalSteps: totalSteps) }

    /// All parameters of the network (masked-out ones included).
    public var parameterCount: Int { network.parameterCount }
    /// Parameters the forward pass uses: all, less the masked-out entries of maskable weights.
    public var keptCount: Int { network.parameters.reduce(0) { $0 + $1.keptCount } }

    /// Builds the network a config names for inputs of geometry `spec` (not initialised).
    public static func buildNetwork(_ config: Config, spec: InputSpec) throws -> Network {
        try Models.build(ModelSpec(config: config), input: spec)
    }

    /// Loads the dataset a config names, applying limits and normalisation (`DataSpec.load`).
    public static func loadData(_ config: Config) throws -> (train: Dataset, test: Dataset) {
        try DataSpec(config: config).load()
    }
}
