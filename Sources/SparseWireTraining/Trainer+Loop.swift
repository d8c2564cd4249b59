import CKernels
import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
import SparseWireConfig

/// The training loop: one step, a pass of steps, epochs, and what a NaN does.
extension Trainer {
    /// One optimisation step on a batch: masks → forward → cross-entropy → backward → (NaN check)
    /// → policy → optimizer update at the scheduled rate → policy. Returns the batch's loss and
    /// its number of correct predictions.
    /// Errors: `.numeric` for a NaN/Inf loss or gradient with `on_nan: error` (naming the step and
    /// the parameter), `.shape` for a batch the network does not take, policy errors.
    @discardableResult
    public func step(images: Tensor, labels: [Int32]) throws -> (loss: Double, correct: Int) {
        try runtime.run { try runStep(images: images, labels: labels) }
    }

    private func runStep(images: Tensor, labels: [Int32]) throws -> (loss: Double, correct: Int) {
        let ctx = Context(training: true, rng: rng.fork())
        rng = RNG(seed: rng.next())
        let ms = maskStep(training: true)
        try masking.beforeForward(ms)
        masking.install(on: ctx)
        let logits = try network.forward(Var(images), ctx)
        let loss = try ctx.crossEntropy(logits, labels: labels, labelSmoothing: labelSmoothing)
        let lv = Double(loss.value[0])
        let skipNaN = spec.training.onNaN == .skip
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
    package func firstNonFiniteParameter(values: Bool) -> String? {
        for p in optimizer.parameters {
            if !values, let a = p.activeGradient, !Parallel.allFinite(a.values.data, a.values.count) { return p.name }
            guard let t = values ? p.value : p.grad else { continue }
            if !Parallel.allFinite(t.data, t.count) { return p.name }
        }
        return nil
    }

    /// "; largest |value| 3.1e+29 in fc1.weight" — where a finite model overflowed.
    package func largestParameter() -> String {
        var best: (Float, String) = (0, "")
        for p in network.parameters {
            let d = p.value.data
            for i in 0..<p.count where abs(d[i]) > best.0 { best = (abs(d[i]), p.name) }
        }
        return "; parameters are finite, the largest |value| is \(best.0) in \(best.1)"
    }

    package func maskStep(training: Bool) -> MaskStep {
        MaskStep(step: globalStep, epoch: globalStep / max(stepsPerEpoch, 1), stepsPerEpoch: stepsPerEpoch,
                 totalSteps: totalSteps, training: training)
    }

    /// One step on the next batch of a shuffled pass over the train set that restarts when used
    /// up (independent of the passes `trainEpoch` makes).
    @discardableResult
    public func nextStep() throws -> (loss: Double, correct: Int) {
        if stepBatches == nil {
            var shuffle = rng.fork()
            stepPassShuffle = shuffle.state
            stepBatches = BatchIterator(train, batchSize: batchSize, shuffle: true, rng: &shuffle)
        }
        guard let (x, y) = stepBatches!.next() else {
            stepBatches = nil
            return try nextStep()
        }
        return try step(images: x, labels: y)
    }

    /// Trains one epoch. `observer` sees every step and the epoch's end; returning false stops
    /// after the current step (the epoch then still reports what it measured, and
    /// `TrainingStopped` is thrown).
    @discardableResult
    public func trainEpoch(observer: (TrainEvent) -> Bool = { _ in true }) throws -> EpochMetrics {
        try runtime.run { try runEpoch(observer: observer) }
    }

    /// Asks a running `trainEpoch` / `fit` (on another thread, or from its observer) to stop
    /// after the step in progress, leaving the epoch open: they then throw `TrainingPreempted`,
    /// and `save(to:)` writes a checkpoint that resumes exactly there. Any thread.
    public func requestStop() { stopRequest.set() }

    private func runEpoch(observer: (TrainEvent) -> Bool) throws -> EpochMetrics {
        let start = Date()
        var progress: EpochProgress
        if let open = openEpoch {
            progress = open                          // continue the epoch a stop left open
        } else {
            let shuffle = rng.fork()
            rng = RNG(seed: rng.next())
            progress = EpochProgress(shuffleState: shuffle.state, steps: 0, lossSum: 0, correct: 0, seen: 0)
        }
        var shuffleRNG = RNG(seed: 0)
        shuffleRNG.state = progress.shuffleState
        var batches = BatchIterator(train, batchSize: batchSize, shuffle: true, rng: &shuffleRNG)
        batches.position = min(progress.steps * batches.batchSize, train.count)
        let n = stepsPerEpoch, stepsBefore = progress.steps
        var stop = false
        openEpoch = progress
        for (x, y) in batches {
            let lr = currentLR
            let (l, c) = try runStep(images: x, labels: y)
            if l.isFinite { progress.lossSum += l * Double(y.count); progress.correct += c; progress.seen += y.count }  // NaN steps skipped (on_nan: skip)
            progress.steps += 1
            openEpoch = progress
            if !observer(.step(epoch: epochsDone + 1, step: progress.steps, of: n, loss: progress.lossSum / Double(progress.seen),
                               accuracy: Double(progress.correct) / Double(progress.seen), lr: lr)) { stop = true; break }
            if stopRequest.take() { throw TrainingPreempted(epoch: epochsDone + 1, stepsDone: progress.steps) }
        }
        openEpoch = nil
        let (lossSum, correct, seen, steps) = (progress.lossSum, progress.correct, progress.seen, progress.steps - stepsBefore)
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
        let last = min(spec.training.epochs, until ?? Int.max)
        while epochsDone < last {
            do { try trainEpoch(observer: observer) } catch is TrainingStopped { return }
        }
    }
}
