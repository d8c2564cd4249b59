import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
import SparseWireConfig
/// What one epoch measured.
public struct EpochMetrics: Sendable {
    /// 1-based epoch number.
    public var epoch: Int
    /// Mean cross-entropy and accuracy over the epoch's training batches (NaN-skipped steps excluded).
    public var trainLoss: Double
    /// Fraction of training examples classified correctly during the epoch.
    public var trainAccuracy: Double
    /// Mean cross-entropy and accuracy over the test set after the epoch, in evaluation mode.
    public var testLoss: Double
    /// Fraction of test examples classified correctly after the epoch.
    public var testAccuracy: Double
    /// Learning rate after the epoch's last step.
    public var lr: Double
    /// Wall time of the epoch including evaluation, in seconds.
    public var seconds: Double
    /// Wall time per training step, evaluation excluded, in milliseconds.
    public var msPerStep: Double

    /// The metrics as one JSON object (a line of `log.metrics`).
    public var json: [String: Any] {
        ["epoch": epoch, "train_loss": trainLoss, "train_accuracy": trainAccuracy, "test_loss": testLoss,
         "test_accuracy": testAccuracy, "lr": lr, "seconds": seconds, "ms_per_step": msPerStep]
    }
}

/// Progress events sent to the observer of a training run.
public enum TrainEvent {
    /// After each step: 1-based epoch and step, steps in the epoch, running mean loss and
    /// accuracy of the epoch so far, and the step's learning rate.
    case step(epoch: Int, step: Int, of: Int, loss: Double, accuracy: Double, lr: Double)
    case epochEnd(EpochMetrics)
}

/// Thrown inside `trainEpoch` when the observer asks to stop; `fit` catches it.
public struct TrainingStopped: Error {}

/// Thrown by `trainEpoch` / `fit` / `step`-driven loops when `Trainer.requestStop()` was called:
/// training stopped after a whole step, the epoch stays open (`Trainer.openEpoch`), and a
/// checkpoint saved now resumes bit-identically where it stopped.
public struct TrainingPreempted: Error, CustomStringConvertible {
    /// 1-based epoch that was running, and the steps of it done.
    public let epoch: Int, stepsDone: Int
    public var description: String { "training stopped on request in epoch \(epoch) after \(stepsDone) step(s) of it" }
}

/// Where an unfinished epoch stands: its shuffle, the steps done and the running sums of its
/// metrics, so that training (after a checkpoint, in a fresh process) continues exactly.
public struct EpochProgress: Sendable, Equatable {
    /// State of the RNG the epoch's shuffle was drawn from.
    public var shuffleState: [UInt64]
    /// Steps of the epoch done.
    public var steps: Int
    /// Σ loss·batch, Σ correct and Σ batch over the steps done (NaN-skipped steps excluded).
    public var lossSum: Double, correct: Int, seen: Int

    /// An epoch's position, as a checkpoint stores it.
    public init(shuffleState: [UInt64], steps: Int, lossSum: Double, correct: Int, seen: Int) {
        self.shuffleState = shuffleState; self.steps = steps; self.lossSum = lossSum; self.correct = correct; self.seen = seen
    }
}

/// A thread-safe stop flag (`Trainer.requestStop()`), checked after every training step.
final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    func set() { lock.lock(); requested = true; lock.unlock() }
    /// Whether a stop was requested, clearing the request.
    func take() -> Bool { lock.lock(); defer { lock.unlock() }; let r = requested; requested = false; return r }
}
