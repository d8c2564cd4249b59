import Foundation
import SparseWireTensor

extension Context {
    /// Mean softmax cross-entropy of logits [N, K] against integer labels, with label smoothing ε:
    /// the target is (1−ε)·onehot + ε/K. Returns a scalar node.
    public func crossEntropy(_ logits: Var, labels: [Int32], labelSmoothing eps: Float = 0) throws -> Var {
        guard logits.shape.count == 2 else {
            throw SparseWireError.shape("cross_entropy: logits must be [N, classes], got \(logits.shape)")
        }
        let n = logits.shape[0], k = logits.shape[1]
        guard labels.count == n else {
            throw SparseWireError.shape("cross_entropy: \(n) rows of logits but \(labels.count) labels")
        }
        guard n > 0, k > 0 else { throw SparseWireError.shape("cross_entropy: empty logits \(logits.shape)") }
        guard eps >= 0 && eps < 1 else { throw SparseWireError.config("label smoothing must be in [0, 1), got \(eps)") }
        if let bad = labels.first(where: { $0 < 0 || Int($0) >= k }) {
            throw SparseWireError.data("cross_entropy: label \(bad) outside 0..<\(k)")
        }
        let lp = logits.value.data
        let probs = Tensor(uninitialized: logits.shape)
        let pp = probs.data
        var total: Double = 0
        for i in 0..<n {
            let row = lp + i * k, prow = pp + i * k
            var mx = row[0]
            for j in 1..<k where row[j] > mx { mx = row[j] }
            var s: Double = 0
            for j in 0..<k { let e = expf(row[j] - mx); prow[j] = e; s += Double(e) }
            let logZ = Double(mx) + Foundation.log(s)
            let inv = Float(1 / s)
            var rowLoss: Double = 0
            for j in 0..<k {
                prow[j] *= inv
                let q = Double(eps) / Double(k) + (j == Int(labels[i]) ? Double(1 - eps) : 0)
                if q > 0 { rowLoss -= q * (Double(row[j]) - logZ) }
            }
            total += rowLoss
        }
        let out = Tensor(shape: [1], repeating: Float(total / Double(n)))
        return node(out, [logits]) { g in
            let pp = probs.data  // keeps `probs` alive with the tape
            let scale = g[0] / Float(n)
            let d = Tensor(uninitialized: logits.shape)
            let dp = d.data
            let off = eps / Float(k)
            for i in 0..<n {
                for j in 0..<k {
                    let q = off + (j == Int(labels[i]) ? 1 - eps : 0)
                    dp[i * k + j] = (pp[i * k + j] - q) * scale
                }
            }
            logits.accumulate(d)
        }
    }
}

/// Number of rows whose arg-max equals the label.
public func countCorrect(logits: Tensor, labels: [Int32]) -> Int {
    let n = logits.shape[0], k = logits.shape[1]
    var correct = 0
    for i in 0..<n {
        let row = logits.data + i * k
        var best = 0
        for j in 1..<k where row[j] > row[best] { best = j }
        if best == Int(labels[i]) { correct += 1 }
    }
    return correct
}
