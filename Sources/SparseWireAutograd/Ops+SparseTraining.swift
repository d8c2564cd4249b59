import CKernels
import Foundation
import SparseWireTensor

extension Context {
    /// y[N, out] = x[N, in] · ŵᵀ + b on the sparse kernels, with gradients (training).
    ///
    /// Forward: the lane kernel over W's packing. Backward: dX = dY · ŵ by the lane kernel over
    /// Wᵀ's packing; dL/dŵ either at the kept entries only, dŵ[o, i] = Σ_n dY[n, o]·x[n, i]
    /// (the sampled product `swk_sddmm_rows` on the two lane products' own transposed blocks of
    /// dY and x, kept for it; `.active`), or dense (one GEMM,
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
        let n = x.shape[0], fin = w.cols, fout = w.rows, blocks = (n + 63) / 64
        let out = Tensor(uninitialized: [n, fout])
        // With dW at the kept entries, the forward's input lanes are kept for the sampled product.
        let active: Bool
        if case .active = step.weightGradient { active = true } else { active = false }
        let xLanes = active ? Tensor(uninitialized: [blocks * fin * 64]) : nil
        Self.laneLinear(x.value.data, samples: n, forward.packing, values: forward.values.data, rows: fout, cols: fin,
                        bias: b.map { UnsafePointer($0.value.data) }, relu: false, into: out.data, lanes: xLanes?.data)
        var inputs = [x, step.anchor]
        if let b { inputs.append(b) }
        let xv = x.value
        return node(out, inputs) { g in
            let gp = g.data
            // dY in lanes, for the sampled product: written by dX's lane product, else here.
            let gLanes = active ? Tensor(uninitialized: [blocks * fout * 64]) : nil
            if x.requiresGrad {
                let dx = Tensor(uninitialized: [n, fin])
                Self.laneLinear(gp, samples: n, transposed.packing, values: transposed.values.data, rows: fin, cols: fout,
                                bias: nil, relu: false, into: dx.data, lanes: gLanes?.data)
                x.accumulate(dx)
            } else if let gLanes {
                Parallel.forEachRange(blocks, workers: Parallel.workers(for: blocks)) { _, lo, hi in
                    for blk in lo..<hi { Self.toLanes(gp, samples: n, cols: fout, block: blk, into: gLanes.data + blk * fout * 64, split: false) }
                }
            }
            switch step.weightGradient {
            case .none: break
            case let .active(deliver): deliver(Self.activeWeightGradient(dyLanes: gLanes!, xLanes: xLanes!, blocks: blocks, w))
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

    /// dL/dŵ at the kept entries of `w` (CSR order) from dY and x in the lane kernels' blocks of
    /// 64 samples (`toLanes`' layout, zero past the batch): each kept (o, i) is the sum over the
    /// blocks of a 64-long dot product of two contiguous rows.
    package static func activeWeightGradient(dyLanes: Tensor, xLanes: Tensor, blocks: Int, _ w: SparseTrainingWeight) -> Tensor {
        let fin = w.cols, fout = w.rows
        let values = Tensor.bucketed(count: w.active.count)
        w.rowPtr.withUnsafeBufferPointer { rp in w.colIndex.withUnsafeBufferPointer { cp in
            Parallel.forEachRange(fout, workers: Parallel.workers(for: fout, grain: 16)) { _, lo, hi in
                swk_sddmm_rows(rp.baseAddress!, cp.baseAddress!, lo, hi, dyLanes.data, 64, fout * 64, xLanes.data, 64, fin * 64, blocks, 64,
                               values.data)
            }
        } }
        return values
    }
}
