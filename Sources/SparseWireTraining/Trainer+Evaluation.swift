import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
import SparseWireConfig
/// Evaluation and inference: loss/accuracy over a dataset, logits for a batch, and reusable
/// inference sessions. Masks are the policy's evaluation masks; masked layers run sparse or
/// dense kernels as `inference.*` says.
extension Trainer {
    /// Mean cross-entropy and accuracy over `data` (the test set by default), in evaluation mode.
    public func evaluate(_ data: Dataset? = nil) throws -> (loss: Double, accuracy: Double) {
        try runtime.run {
            let d = data ?? test
            var noRNG = RNG(seed: 0)
            var total: Double = 0, correct = 0
            let (ctx, draws) = try evaluationContext()
            for (x, y) in BatchIterator(d, batchSize: spec.training.evalBatchSize, shuffle: false, rng: &noRNG) {
                let logits = try forwardForEvaluation(x, ctx: ctx, draws: draws)
                let loss = try ctx.crossEntropy(logits, labels: y)
                total += Double(loss.value[0]) * Double(y.count)
                correct += countCorrect(logits: logits.value, labels: y)
            }
            return (total / Double(d.count), Double(correct) / Double(d.count))
        }
    }

    /// Logits [N, classes] for a batch of inputs [N, C, H, W], in evaluation mode.
    /// Errors: `.shape` when the batch is not [N, C, H, W] of the training data's geometry.
    public func predict(_ x: Tensor) throws -> Tensor {
        try runtime.run {
            let (ctx, draws) = try evaluationContext()
            return try predict(x, ctx: ctx, draws: draws)
        }
    }

    /// A reusable evaluation context for repeated `predict` calls (latency measurements,
    /// serving): masks and sparse weights are prepared once, when the session is made. Make a
    /// new session after the weights or masks change.
    public func inferenceSession() throws -> InferenceSession {
        try runtime.run {
            let (ctx, draws) = try evaluationContext()
            return InferenceSession(trainer: self, context: ctx, draws: draws)
        }
    }

    /// Checks the batch's shape, then runs `forwardForEvaluation` (the one path of `predict` and
    /// of sessions).
    package func predict(_ x: Tensor, ctx: Context, draws: Int) throws -> Tensor {
        let s = train.spec
        guard x.shape.count == 4, Array(x.shape.dropFirst()) == [s.channels, s.height, s.width] else {
            throw SparseWireError.shape("predict: expected [N, \(s.channels), \(s.height), \(s.width)], got \(x.shape)")
        }
        return try forwardForEvaluation(x, ctx: ctx, draws: draws).value
    }

    /// An evaluation-mode context with the policy's evaluation masks in place, and how many mask
    /// draws to average (masks are drawn per forward pass when more than one).
    private func evaluationContext() throws -> (Context, Int) {
        let ctx = Context(training: false)
        masking.install(on: ctx)
        ctx.sparseInference = try spec.inference.settings()
        let draws = masking.policy.evaluationDraws
        if draws == 1 { try masking.beforeEvaluation() }
        return (ctx, draws)
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
}

/// A prepared evaluation context over a trainer (see `Trainer.inferenceSession()`).
public final class InferenceSession {
    package let trainer: Trainer
    package let context: Context
    package let draws: Int
    package init(trainer: Trainer, context: Context, draws: Int) { self.trainer = trainer; self.context = context; self.draws = draws }

    /// Logits [N, classes] for a batch [N, C, H, W]. Errors: `.shape` as `Trainer.predict`.
    public func predict(_ x: Tensor) throws -> Tensor {
        try trainer.runtime.run { try trainer.predict(x, ctx: context, draws: draws) }
    }
}
