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
        let out = Tensor(uninitialized: [n, fout])
        if let b {
            let bp = b.value.data, op = out.data
            for i in 0..<n { (op + i * fout).update(from: bp, count: fout) }
        }
        let xp = x.value.data, wp = w.value.data, op = out.data
        // Rows of the batch are split over the engine's threads (not for tiny products, whose
        // dispatch would cost more than the work).
        let small = n * fin * fout < 1 << 21
        let rowWorkers = small ? 1 : Parallel.workers(for: n), outWorkers = small ? 1 : Parallel.workers(for: fout)
        Parallel.forEachRange(n, workers: rowWorkers) { _, lo, hi in
            BLAS.gemm(transB: true, m: hi - lo, n: fout, k: fin, a: xp + lo * fin, lda: fin,
                      b: wp, ldb: fin, beta: b == nil ? 0 : 1, c: op + lo * fout, ldc: fout)
        }
        var inputs = [x, w]
        if let b { inputs.append(b) }
        return node(out, inputs) { g in
            let gp = g.data
            if x.requiresGrad {
                let dx = Tensor(uninitialized: x.shape)
                let dxp = dx.data
                Parallel.forEachRange(n, workers: rowWorkers) { _, lo, hi in
                    BLAS.gemm(m: hi - lo, n: fin, k: fout, a: gp + lo * fout, lda: fout, b: wp, ldb: fin,
                              c: dxp + lo * fin, ldc: fin)
                }
                x.accumulate(dx)
            }
            if w.requiresGrad {
                // dW = gᵀx: rows of dW (output features) are split over the threads.
                let dw = Tensor(uninitialized: w.shape)
                let dwp = dw.data
                Parallel.forEachRange(fout, workers: outWorkers) { _, lo, hi in
                    BLAS.gemm(transA: true, m: hi - lo, n: fin, k: n, a: gp + lo, lda: fout,
                              b: xp, ldb: fin, c: dwp + lo * fin, ldc: fin)
                }
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
