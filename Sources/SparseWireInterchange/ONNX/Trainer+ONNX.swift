import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireMasking
import SparseWireTraining

extension Trainer {
    /// Writes the network in evaluation mode as ONNX to `path` (atomically): the policy's
    /// evaluation masks are applied first, exactly as `evaluate` and `predict` do, and each
    /// masked weight is baked as ŵ = w ⊙ m. Returns the per-weight zero counts (see
    /// `ONNXExport`). Errors: `.unsupported` for a module with no ONNX form or a policy that
    /// evaluates by averaging several mask draws; `.io` when the file cannot be written.
    @discardableResult
    public func exportONNX(to path: String) throws -> [ONNXLayerReport] {
        try runtime.run {
            try applyEvaluationMask(for: "which one ONNX graph cannot express; export")
            var masks: [ObjectIdentifier: Tensor] = [:]
            for l in masking.layers { masks[ObjectIdentifier(l.parameter)] = l.mask }
            let (data, report) = try ONNXExport.encode(network, input: train.spec) { p in
                guard let m = masks[ObjectIdentifier(p)] else { return p.value }
                let t = Tensor(shape: p.shape)
                for i in 0..<t.count { t[i] = p.value[i] * m[i] }
                return t
            }
            try AtomicFile.write(data, to: path)
            return report
        }
    }

    /// Sets the policy's evaluation masks, as `evaluate` does, for a use that needs ONE mask
    /// (`why`: what cannot average draws, and what to do instead, ending in a verb).
    /// Errors: `.unsupported` for a policy that evaluates by averaging several mask draws.
    func applyEvaluationMask(for why: String) throws {
        let draws = masking.policy.evaluationDraws
        guard draws == 1 else {
            throw SparseWireError(.unsupported, "policy '\(masking.descriptor.name)' evaluates by averaging \(draws) mask draws, \(why) "
                + "with a policy option that evaluates one mask (supermask: policy_options.eval: round)")
        }
        try masking.beforeEvaluation()
    }
}
