import CKernels
import Foundation
import SparseWireTensor

extension Context {
    /// max(x, 0)
    public func relu(_ x: Var) -> Var {
        let n = x.value.count
        let out = Tensor(uninitialized: x.shape)
        let xp = x.value.data, op = out.data
        Parallel.forEachChunk(n) { lo, hi in swk_relu(xp + lo, op + lo, hi - lo) }
        return node(out, [x]) { g in x.accumulate(Self.reluMasked(g, by: out)) }
    }

    /// g·[y > 0]: the gradient through a ReLU whose output is `y` (`swk_relu_backward`; also the
    /// fused ReLU of the sparse training convolution).
    package static func reluMasked(_ g: Tensor, by y: Tensor) -> Tensor {
        let out = Tensor(uninitialized: g.shape)
        let gp = g.data, yp = y.data, op = out.data
        Parallel.forEachChunk(g.count) { lo, hi in swk_relu_backward(yp + lo, gp + lo, op + lo, hi - lo) }
        return out
    }

    /// 1 / (1 + e^-x)
    public func sigmoid(_ x: Var) -> Var {
        let n = x.value.count
        let out = Tensor(uninitialized: x.shape)
        let xp = x.value.data, op = out.data
        for i in 0..<n { op[i] = 1 / (1 + expf(-xp[i])) }
        return node(out, [x]) { g in
            let dx = Tensor(uninitialized: x.shape)
            let gp = g.data, dp = dx.data
            for i in 0..<n { dp[i] = gp[i] * op[i] * (1 - op[i]) }
            x.accumulate(dx)
        }
    }

    /// Elementwise a + b (same shape).
    public func add(_ a: Var, _ b: Var) throws -> Var {
        guard a.shape == b.shape else {
            throw SparseWireError.shape("add: shapes \(a.shape) and \(b.shape) differ")
        }
        let out = a.value.copy()
        BLAS.axpy(out.count, 1, b.value.data, out.data)
        return node(out, [a, b]) { g in
            a.accumulate(g, owned: false)
            b.accumulate(g, owned: false)
        }
    }

    /// Elementwise a ⊙ b (same shape).
    public func mul(_ a: Var, _ b: Var) throws -> Var {
        guard a.shape == b.shape else {
            throw SparseWireError.shape("mul: shapes \(a.shape) and \(b.shape) differ")
        }
        let n = a.value.count
        let out = Tensor(uninitialized: a.shape)
        let ap = a.value.data, bp = b.value.data, op = out.data
        for i in 0..<n { op[i] = ap[i] * bp[i] }
        return node(out, [a, b]) { g in
            let gp = g.data
            if a.requiresGrad {
                let da = Tensor(uninitialized: a.shape); let dp = da.data
                for i in 0..<n { dp[i] = gp[i] * bp[i] }
                a.accumulate(da)
            }
            if b.requiresGrad {
                let db = Tensor(uninitialized: b.shape); let dp = db.data
                for i in 0..<n { dp[i] = gp[i] * ap[i] }
                b.accumulate(db)
            }
        }
    }

    /// x · s where s holds one element (a learnable scalar, e.g. a RandWire edge weight).
    public func scale(_ x: Var, by s: Var) throws -> Var {
        guard s.value.count == 1 else {
            throw SparseWireError.shape("scale: the scale must hold one element, got shape \(s.shape)")
        }
        let n = x.value.count
        let k = s.value[0]
        let out = Tensor(uninitialized: x.shape)
        let xp = x.value.data, op = out.data
        for i in 0..<n { op[i] = xp[i] * k }
        return node(out, [x, s]) { g in
            let gp = g.data
            if x.requiresGrad {
                let dx = Tensor(uninitialized: x.shape); let dp = dx.data
                for i in 0..<n { dp[i] = gp[i] * k }
                x.accumulate(dx)
            }
            if s.requiresGrad {
                var acc: Double = 0
                for i in 0..<n { acc += Double(gp[i] * xp[i]) }
                s.accumulate(Tensor(shape: s.shape, repeating: Float(acc)))
            }
        }
    }

    /// A view with a new shape (the gradient is reshaped back).
    public func reshape(_ x: Var, _ shape: [Int]) throws -> Var {
        let v = try x.value.reshaped(shape)
        let original = x.shape
        return node(v, [x]) { g in
            x.accumulate(try g.reshaped(original), owned: false)
        }
    }

    /// [N, ...] → [N, prod(...)]
    public func flatten(_ x: Var) throws -> Var {
        guard let n = x.shape.first else { throw SparseWireError.shape("flatten: rank-0 input") }
        return try reshape(x, [n, x.value.count / max(n, 1)])
    }

    /// Inverted dropout: in training zero each element with probability p and scale the rest by
    /// 1/(1-p); identity in evaluation.
    public func dropout(_ x: Var, p: Float) throws -> Var {
        guard p >= 0 && p < 1 else { throw SparseWireError.config("dropout probability must be in [0, 1), got \(p)") }
        if !training || p == 0 { return x }
        let n = x.value.count
        let keep = Tensor(uninitialized: x.shape)
        let kp = keep.data
        let scaleKept = 1 / (1 - p)
        for i in 0..<n { kp[i] = rng.uniform() >= p ? scaleKept : 0 }
        let out = Tensor(uninitialized: x.shape)
        let xp = x.value.data, op = out.data
        for i in 0..<n { op[i] = xp[i] * kp[i] }
        return node(out, [x]) { g in
            let kp = keep.data  // keeps `keep` alive with the tape
            let dx = Tensor(uninitialized: x.shape)
            let gp = g.data, dp = dx.data
            for i in 0..<n { dp[i] = gp[i] * kp[i] }
            x.accumulate(dx)
        }
    }
}
