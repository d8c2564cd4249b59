extension Context {
    /// y[N,out] = x[N,in] · Wᵀ + b, with W of shape [out, in] (PyTorch's layout).
    public func linear(_ x: Var, _ w: Var, _ b: Var?) throws -> Var {
        guard x.shape.count == 2, w.shape.count == 2 else {
            throw SparseWireError.shape("linear: input must be [N, in] and weight [out, in]; got \(x.shape) and \(w.shape)")
        }
        let n = x.shape[0], fin = x.shape[1], fout = w.shape[0]
        guard w.shape[1] == fin else {
            throw SparseWireError.shape("linear: input has \(fin) features but weight \(w.shape) expects \(w.shape[1])")
        }
        if let b, b.shape != [fout] {
            throw SparseWireError.shape("linear: bias shape \(b.shape) should be [\(fout)]")
        }
        let out = Tensor(shape: [n, fout])
        if let b {
            let bp = b.value.data, op = out.data
            for i in 0..<n { (op + i * fout).update(from: bp, count: fout) }
        }
        BLAS.gemm(transB: true, m: n, n: fout, k: fin, a: x.value.data, lda: fin,
                  b: w.value.data, ldb: fin, beta: b == nil ? 0 : 1, c: out.data, ldc: fout)
        var inputs = [x, w]
        if let b { inputs.append(b) }
        return node(out, inputs) { g in
            if x.requiresGrad {
                let dx = Tensor(shape: x.shape)
                BLAS.gemm(m: n, n: fin, k: fout, a: g.data, lda: fout, b: w.value.data, ldb: fin,
                          c: dx.data, ldc: fin)
                x.accumulate(dx)
            }
            if w.requiresGrad {
                let dw = Tensor(shape: w.shape)
                BLAS.gemm(transA: true, m: fout, n: fin, k: n, a: g.data, lda: fout,
                          b: x.value.data, ldb: fin, c: dw.data, ldc: fin)
                w.accumulate(dw)
            }
            if let b, b.requiresGrad {
                let db = Tensor(shape: [fout])
                let gp = g.data, dp = db.data
                for i in 0..<n { for j in 0..<fout { dp[j] += gp[i * fout + j] } }
                b.accumulate(db)
            }
        }
    }
}
