import CKernels
import Foundation

/// What one epoch measured.
public struct EpochMetrics: Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    public var lr: Double
    public var seconds: Double
    public var msPerStep: Double

    public var json: [String: Any] {
        ["epoch": epoch, "train_loss": trainLoss, "train_accuracy": trainAccuracy, "test_loss": testLoss,
         "test_accuracy": testAccuracy, "lr": lr, "seconds": seconds, "ms_per_step": msPerStep]
    }
}

/// Progress events sent to the observer of a training run.
public enum TrainEvent {
    case step(epoch: Int, step: Int, of: Int, loss: Double, accuracy: Double, lr: Double)
    case epochEnd(EpochMetrics)
}

/// Builds the network, data, optimizer and schedule from a config and trains.
public final class Trainer {
    public private(set) var config: Config
    public let network: Network
    public private(set) var optimizer: any Optimizer
    public let schedule: LRSchedule
    public let train: Dataset
    public let test: Dataset
    public internal(set) var rng: RNG
    public internal(set) var globalStep = 0
    /// Steps skipped because of NaN/Inf (`on_nan: skip`).
    public internal(set) var skippedSteps = 0
    public internal(set) var epochsDone = 0
    public internal(set) var history: [EpochMetrics] = []
    public let batchSize: Int
    public let labelSmoothing: Float
    /// The mask policy bound to the network (an engine with no layers for `dense`).
    public private(set) var masking: MaskingEngine
    /// The pass `nextStep()` draws batches from.
    private var stepBatches: BatchIterator?

    public init(config: Config, train: Dataset, test: Dataset) throws {
        try PolicyRegistry.validate(config)
        guard train.count > 0, test.count > 0 else {
            throw SparseWireError.data("empty dataset (train \(train.count), test \(test.count) examples)")
        }
        guard train.spec == test.spec else {
            throw SparseWireError.data("train and test sets differ in shape: \(train.spec) vs \(test.spec)")
        }
        self.config = config
        self.train = train
        self.test = test
        batchSize = config.int("batch_size")
        guard batchSize >= 1 else { throw SparseWireError.config("batch_size must be ≥ 1, got \(batchSize)") }
        guard config.int("epochs") >= 0 else { throw SparseWireError.config("epochs must be ≥ 0, got \(config.int("epochs"))") }
        guard config.int("eval_batch_size") >= 1 else { throw SparseWireError.config("eval_batch_size must be ≥ 1") }
        labelSmoothing = Float(config.double("loss.label_smoothing"))
        guard labelSmoothing >= 0 && labelSmoothing < 1 else {
            throw SparseWireError.config("loss.label_smoothing must be in [0, 1), got \(labelSmoothing)")
        }
        let threads = config.int("threads")
        guard ["error", "skip"].contains(config.string("on_nan")) else {
            throw SparseWireError.config("on_nan must be error or skip, got '\(config.string("on_nan"))'")
        }
        guard threads >= 0 else { throw SparseWireError.config("threads must be ≥ 0 (0 = all cores), got \(threads)") }
        // Process-wide: the engine's thread count is global (see BLAS.setThreads).
        BLAS.setThreads(threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount)
        rng = RNG(seed: UInt64(bitPattern: Int64(config.int("seed"))))
        var initRNG = rng.fork()
        network = try Trainer.buildNetwork(config, spec: train.spec)
        let mode = Initializer.FanMode(rawValue: config.string("model.init_mode")) ?? .fanIn
        Models.initialize(network, weightInit: try Initializer.named(config.string("model.init"), mode: mode), rng: &initRNG)
        masking = try MaskingEngine(network: network, config: config, rng: rng.fork())
        optimizer = try Trainer.buildOptimizer(config, parameters: network.parameters + masking.scoreParameters)
        masking.attach(optimizer: optimizer)
        schedule = try Trainer.buildSchedule(config)
    }

    public static func buildNetwork(_ config: Config, spec: InputSpec) throws -> Network {
        let norm = NormKind(rawValue: config.string("model.norm")) ?? .none
        switch config.string("model.name") {
        case "mlp":
            let hidden = config.intList("model.hidden")
            guard hidden.allSatisfy({ $0 > 0 }) else { throw SparseWireError.config("model.hidden widths must be > 0, got \(hidden)") }
            return Models.mlp(input: spec, hidden: hidden, bias: config.bool("model.bias") ?? true, norm: norm)
        case "randwire":
            let n = config.int("graph.n")
            let gen: GraphGenerator
            switch config.string("graph.model") {
            case "er": gen = .er(n: n, p: config.double("graph.p"))
            case "ba": gen = .ba(n: n, m: config.int("graph.m"))
            default: gen = .ws(n: n, k: config.int("graph.k"), p: config.double("graph.p"))
            }
            return try Models.randWire(input: spec, spec: RandWireSpec(
                generator: gen, seed: UInt64(bitPattern: Int64(config.int("graph.seed"))), channels: config.int("model.channels"),
                stages: config.int("model.stages"), head: config.int("model.head"), edgeDrop: config.double("model.edge_drop")))
        case "dnw":
            let setting = DNWSetting(rawValue: config.string("model.setting")) ?? .staticGraph
            return try Models.dnwTiny(input: spec, spec: DNWSpec(setting: setting, blocks: config.intList("model.blocks"),
                                                                 steps: config.int("model.steps"), readout: config.int("model.readout")))
        case let name where name.hasPrefix("conv"):
            return try Models.convNet(depth: Int(name.dropFirst(4)) ?? 0, input: spec, width: config.double("model.width"),
                                      bias: config.bool("model.bias") ?? false, norm: norm)
        case let other:
            throw SparseWireError.config("unknown model '\(other)'")
        }
    }

    static func buildOptimizer(_ config: Config, parameters: [Parameter]) throws -> any Optimizer {
        let wd = Float(config.double("optimizer.weight_decay"))
        guard config.double("optimizer.lr") > 0 else { throw SparseWireError.config("optimizer.lr must be > 0, got \(config.double("optimizer.lr"))") }
        switch config.string("optimizer.name") {
        case "adam":
            let b = config.doubleList("optimizer.betas")
            guard b.count == 2 else { throw SparseWireError.config("optimizer.betas needs two numbers, got \(b)") }
            return try Adam(parameters, beta1: Float(b[0]), beta2: Float(b[1]), eps: Float(config.double("optimizer.eps")), weightDecay: wd)
        default:
            return try SGD(parameters, momentum: Float(config.double("optimizer.momentum")),
                           nesterov: config.bool("optimizer.nesterov") ?? false, weightDecay: wd)
        }
    }

    static func buildSchedule(_ config: Config) throws -> LRSchedule {
        let base = config.double("optimizer.lr")
        let warm = config.double("schedule.warmup_epochs")
        guard warm >= 0 else { throw SparseWireError.config("schedule.warmup_epochs must be ≥ 0, got \(warm)") }
        let gamma = config.double("schedule.gamma")
        let kind: LRSchedule.Kind
        switch config.string("schedule.name") {
        case "constant": kind = .constant
        case "step":
            guard config.int("schedule.step_size") >= 1 else { throw SparseWireError.config("schedule.step_size must be ≥ 1") }
            kind = .step(stepSize: config.int("schedule.step_size"), gamma: gamma)
        case "multistep": kind = .multistep(milestones: config.intList("schedule.milestones"), gamma: gamma)
        default: kind = .cosine
        }
        return LRSchedule(kind: kind, base: base, warmupEpochs: warm)
    }

    /// Loads the dataset a config names, applying limits and normalisation.
    public static func loadData(_ config: Config) throws -> (train: Dataset, test: Dataset) {
        let name = config.string("data.dataset")
        var path = config.string("data.path")
        var train: Dataset, test: Dataset
        switch name {
        case "cifar10":
            guard !path.isEmpty else { throw SparseWireError.config("data.path must name the cifar-10-batches-bin directory") }
            train = try CIFAR10Reader.load(directory: path, train: true)
            test = try CIFAR10Reader.load(directory: path, train: false)
        default:
            if path.isEmpty {
                guard name == "fashion-mnist" else { throw SparseWireError.config("data.path must name the \(name) directory") }
                path = "/usr/share/datasets/fashion-mnist"
            }
            train = try IDXReader.loadMNISTLayout(directory: path, train: true, name: name)
            test = try IDXReader.loadMNISTLayout(directory: path, train: false, name: name)
        }
        train = train.prefix(config.int("data.train_limit"))
        test = test.prefix(config.int("data.test_limit"))
        if config.bool("data.normalize") ?? true {
            let (m, s) = train.channelStats()
            try train.normalize(mean: m, std: s)
            try test.normalize(mean: m, std: s)
        }
        return (train, test)
    }

    public var stepsPerEpoch: Int { BatchIterator.batchCount(train.count, batchSize: batchSize) }
    public var totalSteps: Int { stepsPerEpoch * config.int("epochs") }

    public var currentLR: Double { schedule.lr(step: globalStep, stepsPerEpoch: stepsPerEpoch, totalSteps: totalSteps) }

    /// One optimisation step on a batch. Returns the loss and the number of correct predictions.
    @discardableResult
    public func step(images: Tensor, labels: [Int32]) throws -> (loss: Double, correct: Int) {
        let ctx = Context(training: true, rng: rng.fork())
        rng = RNG(seed: rng.next())
        let ms = maskStep(training: true)
        try masking.beforeForward(ms)
        masking.install(on: ctx)
        let logits = try network.forward(Var(images), ctx)
        let loss = try ctx.crossEntropy(logits, labels: labels, labelSmoothing: labelSmoothing)
        let lv = Double(loss.value[0])
        let skipNaN = config.string("on_nan") == "skip"
        if !lv.isFinite {
            let culprit = firstNonFiniteParameter(values: true)
            let msg = "loss is \(lv) at step \(globalStep) (epoch \(epochsDone + 1))"
                + (culprit.map { "; parameter \($0) holds non-finite values" } ?? largestParameter())
            guard skipNaN else { throw SparseWireError(.numeric, msg + "; lower optimizer.lr, or set on_nan: skip") }
            skippedSteps += 1
            globalStep += 1
            return (lv, 0)
        }
        optimizer.zeroGrad()
        try loss.backward()
        if let bad = firstNonFiniteParameter(values: false) {
            let msg = "non-finite gradient in \(bad) at step \(globalStep) (epoch \(epochsDone + 1))"
            guard skipNaN else { throw SparseWireError(.numeric, msg + "; lower optimizer.lr, or set on_nan: skip") }
            optimizer.zeroGrad()
            skippedSteps += 1
        } else if try !masking.afterBackward(ms) {
            optimizer.step(lr: Float(currentLR))
        }
        try masking.afterStep(ms)
        globalStep += 1
        return (lv, countCorrect(logits: logits.value, labels: labels))
    }

    /// The first parameter (or score tensor) whose value (`values`) or gradient holds NaN/Inf.
    func firstNonFiniteParameter(values: Bool) -> String? {
        for p in optimizer.parameters {
            guard let t = values ? p.value : p.grad else { continue }
            if swk_all_finite(t.data, t.count) == 0 { return p.name }
        }
        return nil
    }

    /// "; largest |value| 3.1e+29 in fc1.weight" — where a finite model overflowed.
    func largestParameter() -> String {
        var best: (Float, String) = (0, "")
        for p in network.parameters {
            let d = p.value.data
            for i in 0..<p.count where abs(d[i]) > best.0 { best = (abs(d[i]), p.name) }
        }
        return "; parameters are finite, the largest |value| is \(best.0) in \(best.1)"
    }

    /// Loss and accuracy on a dataset, in evaluation mode.
    public func evaluate(_ data: Dataset? = nil) throws -> (loss: Double, accuracy: Double) {
        let d = data ?? test
        var noRNG = RNG(seed: 0)
        var total: Double = 0, correct = 0
        let (ctx, draws) = try evaluationContext()
        for (x, y) in BatchIterator(d, batchSize: config.int("eval_batch_size"), shuffle: false, rng: &noRNG) {
            let logits = try forwardForEvaluation(x, ctx: ctx, draws: draws)
            let loss = try ctx.crossEntropy(logits, labels: y)
            total += Double(loss.value[0]) * Double(y.count)
            correct += countCorrect(logits: logits.value, labels: y)
        }
        return (total / Double(d.count), Double(correct) / Double(d.count))
    }

    /// Logits for a batch of inputs [N, C, H, W], in evaluation mode.
    public func predict(_ x: Tensor) throws -> Tensor {
        guard x.shape.count == 4, Array(x.shape.dropFirst()) == [train.spec.channels, train.spec.height, train.spec.width] else {
            throw SparseWireError.shape("predict: expected [N, \(train.spec.channels), \(train.spec.height), \(train.spec.width)], got \(x.shape)")
        }
        let (ctx, draws) = try evaluationContext()
        return try forwardForEvaluation(x, ctx: ctx, draws: draws).value
    }

    /// An evaluation-mode context with the policy's evaluation masks in place, and how many mask
    /// draws to average (masks are drawn per forward pass when more than one).
    private func evaluationContext() throws -> (Context, Int) {
        let ctx = Context(training: false)
        masking.install(on: ctx)
        ctx.sparseInference = try sparseInferenceSettings()
        let draws = masking.policy.evaluationDraws
        if draws == 1 { try masking.beforeEvaluation() }
        return (ctx, draws)
    }

    /// `inference.kernels` / `inference.sparse_below`, checked.
    func sparseInferenceSettings() throws -> SparseInference {
        let t = config.double("inference.sparse_below")
        guard t >= 0 && t <= 1 else { throw SparseWireError.config("inference.sparse_below must be in [0, 1], got \(t)") }
        let name = config.string("inference.kernels")
        guard let mode = SparseInference.Mode(rawValue: name) else {
            throw SparseWireError.config("inference.kernels must be auto, dense or sparse, got '\(name)'")
        }
        return SparseInference(mode: mode, threshold: t)
    }

    /// A reusable evaluation context for repeated `predict` calls (latency measurements,
    /// serving): masks and sparse weights are prepared once, when the session is made. Make a
    /// new session after the weights or masks change.
    public func inferenceSession() throws -> InferenceSession {
        let (ctx, draws) = try evaluationContext()
        return InferenceSession(trainer: self, context: ctx, draws: draws)
    }

    func forwardForSession(_ x: Tensor, ctx: Context, draws: Int) throws -> Tensor {
        guard x.shape.count == 4, Array(x.shape.dropFirst()) == [train.spec.channels, train.spec.height, train.spec.width] else {
            throw SparseWireError.shape("predict: expected [N, \(train.spec.channels), \(train.spec.height), \(train.spec.width)], got \(x.shape)")
        }
        return try forwardForEvaluation(x, ctx: ctx, draws: draws).value
    }

    /// Logits in evaluation mode; sampling policies average the logits of `draws` mask draws.
    private func forwardForEvaluation(_ x: Tensor, ctx: Context, draws: Int) throws -> Var {
        if draws == 1 { return try network.forward(Var(x), ctx) }
        var sum: Tensor?
        for _ in 0..<draws {
            try masking.beforeEvaluation()
            ctx.sparseInference?.reset()  // new mask draw
            let l = try network.forward(Var(x), ctx).value
            if let s = sum { BLAS.axpy(s.count, 1, l.data, s.data) } else { sum = l.copy() }
        }
        let s = sum!
        for i in 0..<s.count { s[i] /= Float(draws) }
        return Var(s)
    }

    func maskStep(training: Bool) -> MaskStep {
        MaskStep(step: globalStep, epoch: globalStep / max(stepsPerEpoch, 1), stepsPerEpoch: stepsPerEpoch,
                 totalSteps: totalSteps, training: training)
    }

    /// One step on the next batch of a shuffled pass over the train set that restarts when used
    /// up (independent of the passes `trainEpoch` makes).
    @discardableResult
    public func nextStep() throws -> (loss: Double, correct: Int) {
        if stepBatches == nil {
            var shuffle = rng.fork()
            stepBatches = BatchIterator(train, batchSize: batchSize, shuffle: true, rng: &shuffle)
        }
        guard let (x, y) = stepBatches!.next() else {
            stepBatches = nil
            return try nextStep()
        }
        return try step(images: x, labels: y)
    }

    /// Binds another policy to the trained network (between epochs): masks, scores and frozen
    /// flags of the old policy are dropped, the new policy's `prepare` sees the current weights,
    /// and the optimizer starts fresh. On any error the old policy stays in place.
    public func switchPolicy(_ name: String, options: [String: ConfigValue], density: Double?) throws {
        var next = config
        try next.set("policy", value: .string(name))
        next.replacePolicyOptions(options)
        if let density { try next.set("density", value: .double(density)) }
        try PolicyRegistry.validate(next)
        let saved = network.parameters.map { ($0, $0.trainable, $0.mask) }
        for p in network.parameters { p.trainable = true; p.mask = nil }
        do {
            let engine = try MaskingEngine(network: network, config: next, rng: rng.fork())
            let opt = try Trainer.buildOptimizer(next, parameters: network.parameters + engine.scoreParameters)
            engine.attach(optimizer: opt)
            masking = engine; optimizer = opt; config = next
        } catch {
            for (p, t, m) in saved { p.trainable = t; p.mask = m }
            throw error
        }
    }

    /// Trains one epoch. `observer` sees every step and the epoch's end; returning false stops
    /// after the current step (the epoch then still reports what it measured).
    @discardableResult
    public func trainEpoch(observer: (TrainEvent) -> Bool = { _ in true }) throws -> EpochMetrics {
        let start = Date()
        var shuffleRNG = rng.fork()
        rng = RNG(seed: rng.next())
        var lossSum: Double = 0, correct = 0, seen = 0, steps = 0
        let n = stepsPerEpoch
        var stop = false
        for (x, y) in BatchIterator(train, batchSize: batchSize, shuffle: true, rng: &shuffleRNG) {
            let lr = currentLR
            let (l, c) = try step(images: x, labels: y)
            if l.isFinite { lossSum += l * Double(y.count); correct += c; seen += y.count }  // NaN steps skipped (on_nan: skip)
            steps += 1
            if !observer(.step(epoch: epochsDone + 1, step: steps, of: n, loss: lossSum / Double(seen),
                               accuracy: Double(correct) / Double(seen), lr: lr)) { stop = true; break }
        }
        let trainSeconds = Date().timeIntervalSince(start)
        let (tl, ta) = try evaluate()
        epochsDone += 1
        let m = EpochMetrics(epoch: epochsDone, trainLoss: lossSum / Double(max(seen, 1)),
                             trainAccuracy: Double(correct) / Double(max(seen, 1)), testLoss: tl, testAccuracy: ta,
                             lr: currentLR, seconds: Date().timeIntervalSince(start),
                             msPerStep: trainSeconds * 1000 / Double(max(steps, 1)))
        history.append(m)
        _ = observer(.epochEnd(m))
        if stop { throw TrainingStopped() }
        return m
    }

    /// Trains the configured number of epochs (or until the observer asks to stop).
    /// `until` stops earlier (after that many epochs in total) without changing the schedule, so
    /// a run can be checkpointed and resumed exactly.
    public func fit(until: Int? = nil, observer: (TrainEvent) -> Bool = { _ in true }) throws {
        let last = min(config.int("epochs"), until ?? Int.max)
        while epochsDone < last {
            do { try trainEpoch(observer: observer) } catch is TrainingStopped { return }
        }
    }

    public var parameterCount: Int { network.parameterCount }
    /// Parameters the forward pass uses: all, less the masked-out entries of maskable weights.
    public var keptCount: Int { network.parameters.reduce(0) { $0 + $1.keptCount } }
}

/// Thrown inside `trainEpoch` when the observer asks to stop; `fit` catches it.
public struct TrainingStopped: Error {}

/// See `Trainer.inferenceSession()`.
public final class InferenceSession {
    let trainer: Trainer
    let context: Context
    let draws: Int
    init(trainer: Trainer, context: Context, draws: Int) { self.trainer = trainer; self.context = context; self.draws = draws }

    /// Logits for a batch [N, C, H, W].
    public func predict(_ x: Tensor) throws -> Tensor { try trainer.forwardForSession(x, ctx: context, draws: draws) }
}
