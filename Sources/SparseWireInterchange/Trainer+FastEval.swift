import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireMasking
import SparseWireTraining

extension Trainer {
    /// DNW's fast evaluation of a trained MobileNetV1-DNW network (`Models.fastEval`) with the
    /// policy's evaluation masks applied first, as `evaluate` does, and a check: the largest
    /// |logit difference| between the network and its compact copy on `probe` standard-normal
    /// inputs (seeded by `seed`). Errors: `.unsupported` for another model or a policy that
    /// evaluates by averaging several mask draws.
    public func fastEval(probe: Int = 64, seed: UInt64 = 0) throws -> (report: FastEvalReport, maxLogitDifference: Float) {
        try runtime.run {
            try applyEvaluationMask(for: "which fast evaluation cannot follow; run it")
            let input = train.spec
            let (fast, report) = try Models.fastEval(network, input: input)
            var rng = RNG(seed: seed)
            let x = Tensor(shape: [max(1, probe), input.channels, input.height, input.width])
            for i in 0..<x.count { x[i] = rng.normal() }
            let a = try network.forward(Var(x), Context(training: false)).value
            let b = try fast.forward(Var(x), Context(training: false)).value
            var worst: Float = 0
            for i in 0..<a.count { worst = Swift.max(worst, Swift.abs(a[i] - b[i])) }
            return (report, worst)
        }
    }
}
