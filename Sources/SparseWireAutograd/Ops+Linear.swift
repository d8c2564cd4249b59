import SparseWireTensor
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
        // The output features (columns of y) are split over the engine's threads: each worker
        // packs only its slice of W, the expensive operand (splitting the batch rows instead makes
        // every worker pack all of W). Tiny products run on one thread: dispatch would cost more.
        let small = n * fin * fout < 1 << 21
        let colWorkers = small ? 1 : Parallel.workers(for: fout / 16), inWorkers = small ? 1 : Parallel.workers(for: fin / 16)
        let outWorkers = small ? 1 : Parallel.workers(for: fout)
        Parallel.forEachRange(fout, workers: colWorkers) { _, lo, hi in
            BLAS.gemm(transB: true, m: n, n: hi - lo, k: fin, a: xp, lda: fin,
                      b: wp + lo * fin, ldb: fin, beta: b == nil ? 0 : 1, c: op + lo, ldc: fout)
        }
        var inputs = [x, w]
        if let b { inputs.append(b) }
        return node(out, inputs) { g in
            let gp = g.data
            if x.requiresGrad {
                // dx = g·W: the input features (columns of dx) over the threads.
                let dx = Tensor(uninitialized: x.shape)
                let dxp = dx.data
                Parallel.forEachRange(fin, workers: inWorkers) { _, lo, hi in
                    BLAS.gemm(m: n, n: hi - lo, k: fout, a: gp, lda: fout, b: wp + lo, ldb: fin,
                              c: dxp + lo, ldc: fin)
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
