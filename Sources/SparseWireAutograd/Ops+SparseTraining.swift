import CKernels
import Foundation
import SparseWireTensor

extension Context {
    /// y[N, out] = x[N, in] · ŵᵀ + b on the sparse kernels, with gradients (training).
    ///
    /// Forward: the lane kernel over W's packing. Backward: dX = dY · ŵ by the lane kernel over
    /// Wᵀ's packing; dL/dŵ either at the kept entries only, dŵ[o, i] = Σ_n dY[n, o]·x[n, i]
    /// (the sampled product `swk_sddmm_rows` on dYᵀ and xᵀ; `.active`), or dense (one GEMM,
    /// `.dense`); db = Σ_n dY[n, ·]. Results equal `linear(x, ŵ, b)` up to float summation order.
    /// Errors: `.shape` when x is not [N, in] or the bias is not [out].
    public func sparseTrainLinear(_ x: Var, _ step: SparseTrainingStep, _ b: Var?) throws -> Var {
        let w = step.weight
        guard case let .lanes(forward, transposed) = w.kernels else {
            throw SparseWireError.shape("sparse linear: weight \(w.shape) is packed for a convolution")
        }
        guard x.shape.count == 2, w.shape.count == 2, x.shape[1] == w.cols else {
            throw SparseWireError.shape("sparse linear: input \(x.shape) does not match weight \(w.shape)")
        }
        if let b, b.shape != [w.rows] { throw SparseWireError.shape("sparse linear: bias shape \(b.shape) should be [\(w.rows)]") }
        let n = x.shape[0], fin = w.cols, fout = w.rows
        let out = Tensor(uninitialized: [n, fout])
        Self.laneLinear(x.value.data, samples: n, forward.packing, values: forward.values.data, rows: fout, cols: fin,
                        bias: b.map { UnsafePointer($0.value.data) }, relu: false, into: out.data)
        var inputs = [x, step.anchor]
        if let b { inputs.append(b) }
        let xv = x.value
        return node(out, inputs) { g in
            let gp = g.data
            if x.requiresGrad {
                let dx = Tensor(uninitialized: [n, fin])
                Self.laneLinear(gp, samples: n, transposed.packing, values: transposed.values.data, rows: fin, cols: fout,
                                bias: nil, relu: false, into: dx.data)
                x.accumulate(dx)
            }
            switch step.weightGradient {
            case .none: break
            case let .active(deliver): deliver(Self.activeWeightGradient(g, xv, w))
            case let .dense(target):
                let dw = Tensor(uninitialized: w.shape), dwp = dw.data, xp = xv.data
                Parallel.forEachRange(fout, workers: Parallel.workers(for: fout / 16)) { _, lo, hi in
                    BLAS.gemm(transA: true, m: hi - lo, n: fin, k: n, a: gp + lo, lda: fout, b: xp, ldb: fin, c: dwp + lo * fin, ldc: fin)
                }
                target.accumulate(dw)
            }
            if let b, b.requiresGrad {  // db = Σ_n dY[n, ·], one vectorised row add per sample
                let db = Tensor(shape: [fout])
                for i in 0..<n { BLAS.axpy(fout, 1, gp + i * fout, db.data) }
                b.accumulate(db)
            }
        }
    }

    /// dL/dŵ at the kept entries of `w` (CSR order): dYᵀ and xᵀ are written once, then each kept
    /// (o, i) is the dot product of two contiguous rows of length N.
    package static func activeWeightGradient(_ g: Tensor, _ x: Tensor, _ w: SparseTrainingWeight) -> Tensor {
        let n = x.shape[0], fin = w.cols, fout = w.rows
        let gt = Tensor(uninitialized: [fout, n]), xt = Tensor(uninitialized: [fin, n])
        let gp = g.data, xp = x.data
        // Both transposes in one parallel pass over their concatenated columns.
        Parallel.forEachRange(fout + fin, workers: Parallel.workers(for: fout + fin, grain: 64)) { _, lo, hi in
            if lo < fout { swk_transpose(gp + lo, n, min(hi, fout) - lo, fout, gt.data + lo * n, n) }
            if hi > fout { let a = max(lo, fout) - fout; swk_transpose(xp + a, n, hi - fout - a, fin, xt.data + a * n, n) }
        }
        let values = Tensor.bucketed(count: w.active.count)
        w.rowPtr.withUnsafeBufferPointer { rp in w.colIndex.withUnsafeBufferPointer { cp in
            Parallel.forEachRange(fout, workers: Parallel.workers(for: fout, grain: 16)) { _, lo, hi in
                swk_sddmm_rows(rp.baseAddress!, cp.baseAddress!, lo, hi, gt.data, n, xt.data, n, n, values.data)
            }
        } }
        return values
    }
}
