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
