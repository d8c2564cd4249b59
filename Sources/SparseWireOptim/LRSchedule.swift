import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireMasking

/// Learning-rate schedules, evaluated per step from the epoch position.
public struct LRSchedule: Equatable, Sendable {
    /// The decay applied after warm-up.
    public enum Kind: Equatable, Sendable {
        /// base at every step.
        case constant
        /// base · ½(1 + cos(π·t/T)) over the steps after warm-up.
        case cosine
        /// base · γ^⌊epoch/stepSize⌋
        case step(stepSize: Int, gamma: Double)
        /// base · γ^(number of milestones ≤ epoch)
        case multistep(milestones: [Int], gamma: Double)
    }
    /// The values `schedule.name` accepts.
    public static let names = ["constant", "cosine", "step", "multistep"]

    /// The decay after warm-up.
    public var kind: Kind
    /// Base learning rate (`optimizer.lr`), the value the schedule scales.
    public var base: Double
    /// Linear warm-up from base/warmupSteps to base over the first `warmupEpochs` epochs.
    public var warmupEpochs: Double

    /// A schedule; `warmupEpochs` 0 means no warm-up. Nothing is checked here.
    public init(kind: Kind, base: Double, warmupEpochs: Double = 0) {
        self.kind = kind; self.base = base; self.warmupEpochs = warmupEpochs
    }

    /// The learning rate for global step `step` (0-based) of `totalSteps`, `stepsPerEpoch` a epoch.
    public func lr(step: Int, stepsPerEpoch: Int, totalSteps: Int) -> Double {
        let spe = max(stepsPerEpoch, 1)
        let warm = Int((warmupEpochs * Double(spe)).rounded())
        if step < warm { return base * Double(step + 1) / Double(warm) }
        let epoch = step / spe
        switch kind {
        case .constant: return base
        case .cosine:
            let span = max(totalSteps - warm, 1)
            let t = Double(step - warm) / Double(span)
            return base * 0.5 * (1 + cos(Double.pi * min(t, 1)))
        case let .step(size, gamma):
            return base * pow(gamma, Double(epoch / max(size, 1)))
        case let .multistep(ms, gamma):
            return base * pow(gamma, Double(ms.filter { $0 <= epoch }.count))
        }
    }
}
