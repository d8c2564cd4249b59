import XCTest
import SparseWireCore

/// Finite-difference gradient checking.
///
/// The checked function maps leaf tensors to an output; the scalar objective is
/// L = Σ out ⊙ R for a fixed random R, so every output element contributes. Analytic gradients
/// come from the tape; numeric ones from central differences (x ± h) evaluated in Float32.
/// The bound: |analytic − numeric| ≤ tol · max(1, |analytic|, |numeric|) per element, with
/// tol = 2e-2 by default — the Float32 rounding of a central difference with h = 1e-2 on O(1)
/// values is ~1e-3, so a wrong formula (errors O(1)) cannot pass.
///
/// Every check runs with the engine's threads at 1 and at 2: layers split samples (and linear's
/// output rows) over the threads, and both paths must give correct gradients.
func gradCheck(_ inputs: [Tensor], h: Float = 1e-2, tol: Float = 2e-2, training: Bool = true,
               file: StaticString = #filePath, line: UInt = #line,
               _ f: ([Var], Context) throws -> Var) throws {
    defer { BLAS.setThreads(1) }
    for threads in [1, 2] {
        BLAS.setThreads(threads)
        try gradCheckOnce(inputs, h: h, tol: tol, training: training, file: file, line: line, f)
    }
}

private func gradCheckOnce(_ inputs: [Tensor], h: Float, tol: Float, training: Bool,
                           file: StaticString, line: UInt, _ f: ([Var], Context) throws -> Var) throws {
    var rng = RNG(seed: 99)
    let leaves = inputs.map { Var($0, requiresGrad: true) }
    let out = try f(leaves, Context(training: training))
    let r = Tensor(shape: out.shape)
    for i in 0..<r.count { r[i] = rng.uniform(-1, 1) }

    func objective() throws -> Double {
        let o = try f(inputs.map { Var($0) }, Context(training: training, recordGrad: false))
        var s: Double = 0
        for i in 0..<o.value.count { s += Double(o.value[i]) * Double(r[i]) }
        return s
    }
    let ctx = Context(training: training, recordGrad: true)
    let o = try f(leaves, ctx)
    try o.backward(seed: r)
    for (k, t) in inputs.enumerated() {
        let analytic = leaves[k].grad ?? Tensor(shape: t.shape)
        // Check at most 60 coordinates per input, spread over the tensor.
        let stride = max(1, t.count / 60)
        for i in Swift.stride(from: 0, to: t.count, by: stride) {
            let saved = t[i]
            t[i] = saved + h; let up = try objective()
            t[i] = saved - h; let down = try objective()
            t[i] = saved
            let numeric = Float((up - down) / Double(2 * h))
            let a = analytic[i]
            let bound = tol * Swift.max(1, abs(a), abs(numeric))
            if abs(a - numeric) > bound {
                XCTFail("input \(k) element \(i): analytic \(a) vs numeric \(numeric) (bound \(bound))", file: file, line: line)
                return
            }
        }
    }
}

func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = RNG(seed: seed)
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t[i] = rng.uniform(-scale, scale) }
    return t
}

/// Values spread far apart so max-pooling / ReLU kinks are never within h of a tie.
func spreadTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = RNG(seed: seed)
    let t = Tensor(shape: shape)
    var perm = Array(0..<t.count)
    rng.shuffle(&perm)
    for i in 0..<t.count { t[i] = Float(perm[i] - t.count / 2) * 0.1 + 0.025 }
    return t
}
