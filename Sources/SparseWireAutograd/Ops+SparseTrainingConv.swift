import CKernels
import Foundation
import SparseWireTensor

extension Context {
    /// A stride-1 convolution y = conv2d(x, ŵ) + b on the sparse kernels, with gradients
    /// (training). Forward: the direct CSR kernel (`directSparseConv`). Backward: dX is the
    /// stride-1 convolution of dY, zero-padded by kh − 1 − padding, with the flipped transpose
    /// W'[c, o, t'] = ŵ[o, c, taps − 1 − t']; dL/dŵ either at the kept entries only,
    /// dŵ[o, c, t] = Σ_n Σ_p dY[n, o, p] · x_pad[n, c, p + off(t)] (`swk_csr_rows_grad` on the same
    /// shifted planes as the forward pass; `.active`), or dense by `conv2d`'s own backward
    /// (`.dense`); db = Σ dY. Results equal `conv2d(x, ŵ, b, stride: 1, padding:)` up to float
    /// summation order. `relu`: the ReLU that follows, in the forward kernel's output pass; its
    /// gradient masks dY once (dY·[y > 0]) before the three gradients. Errors: `.shape` for
    /// mismatched shapes, a non-square kernel, or padding ≥ the kernel size.
    public func sparseTrainConv2d(_ x: Var, _ step: SparseTrainingStep, _ b: Var?, padding: Int, relu: Bool = false) throws -> Var {
        let w = step.weight
        guard case let .csr(fptr, fcol, _, fvalues) = w.kernels else {
            throw SparseWireError.shape("sparse conv2d: weight \(w.shape) is packed for a linear layer")
        }
        let g = try ConvGeometry(input: x.shape, weight: w.shape, stride: 1, pad: padding, op: "sparse conv2d")
        guard w.shape[1] == g.c else { throw SparseWireError.shape("sparse conv2d: input has \(g.c) channels but weight \(w.shape) expects \(w.shape[1])") }
        guard g.kh == g.kw, padding < g.kh else {
            throw SparseWireError.shape("sparse conv2d: training needs a square kernel and padding < kernel size, got \(g.kh)×\(g.kw), padding \(padding)")
        }
        if let b, b.shape != [g.o] { throw SparseWireError.shape("sparse conv2d: bias shape \(b.shape) should be [\(g.o)]") }
        let out = Tensor(uninitialized: [g.n, g.o, g.oh, g.ow])
        let offsets = Self.directOffsets(w.colIndex, g)
        w.rowPtr.withUnsafeBufferPointer { rp in offsets.withUnsafeBufferPointer { op in
            Self.directSparseConv(x.value.data, g, rowPtr: rp.baseAddress!, offsets: op.baseAddress!, values: w.activeValues.data,
                                  bias: b.map { UnsafePointer($0.value.data) }, relu: relu, into: out.data)
        } }
        var inputs = [x, step.anchor]
        if let b { inputs.append(b) }
        let xv = x.value
        return node(out, inputs) { upstream in
            let gy = relu ? Self.reluMasked(upstream, by: out) : upstream
            if x.requiresGrad {
                let gt = try ConvGeometry(input: gy.shape, weight: [g.c, g.o, g.kh, g.kw], stride: 1, pad: g.kh - 1 - padding,
                                          op: "sparse conv2d (input gradient)")
                let dx = Tensor(uninitialized: x.shape)
                let toffsets = Self.directOffsets(fcol, gt)
                fptr.withUnsafeBufferPointer { rp in toffsets.withUnsafeBufferPointer { op in
                    Self.directSparseConv(gy.data, gt, rowPtr: rp.baseAddress!, offsets: op.baseAddress!, values: fvalues.data,
                                          bias: nil, relu: false, into: dx.data)
                } }
                x.accumulate(dx)
            }
            switch step.weightGradient {
            case .none: break
            case let .active(deliver): deliver(Self.activeConvWeightGradient(gy, xv, g, w, offsets))
            case let .dense(target): target.accumulate(Self.denseConvWeightGradient(gy, xv, g))
            }
            if let b, b.requiresGrad { b.accumulate(channelBiasGradient(gy.data, samples: g.n, channels: g.o, plane: g.p)) }
        }
    }

    /// dL/dŵ at the kept entries (CSR order) of a stride-1 convolution: per sample, the padded
    /// input planes as the forward pass lays them out and dY on the same padded grid (zero at the
    /// grid's extra columns), then each kept (o, c, t) is a dot product over the grid
    /// (`swk_csr_rows_grad`). Samples over the threads, one partial sum per thread.
    package static func activeConvWeightGradient(_ gy: Tensor, _ x: Tensor, _ g: ConvGeometry, _ w: SparseTrainingWeight,
                                                 _ offsets: [Int64]) -> Tensor {
        let nnz = w.active.count
        let d = DirectLayout(g)
        let workers = Parallel.workers(for: g.n)
        let partial = (0..<workers).map { _ in Tensor.bucketed(count: nnz) }
        let xp = x.data, gp = gy.data, outStride = g.o * g.p
        w.rowPtr.withUnsafeBufferPointer { rp in offsets.withUnsafeBufferPointer { op in
            Parallel.forEachRange(g.n, workers: workers) { worker, lo, hi in
                let base = Tensor(shape: [g.c * d.plane + d.len + 8]), grid = Tensor(shape: [g.o * d.ldo])
                for s in lo..<hi {
                    let dy = gp + s * outStride
                    d.copyPlanes(of: s, xp, g, into: base.data)
                    d.copyOutput(planes: g.o, grid: grid.data, nchw: dy, g, toGrid: true)
                    swk_csr_rows_grad(rp.baseAddress!, op.baseAddress!, 0, g.o, base.data, d.len, grid.data, d.ldo, partial[worker].data)
                }
            }
        } }
        for t in partial.dropFirst() { BLAS.axpy(nnz, 1, t.data, partial[0].data) }
        return partial[0]
    }

    /// The dense dL/dŵ of a convolution: Winograd's where the dense path uses it, otherwise per
    /// sample im2col of x times dYᵀ (one GEMM), summed over one partial per thread in thread order.
    package static func denseConvWeightGradient(_ gy: Tensor, _ x: Tensor, _ g: ConvGeometry) -> Tensor {
        if usesWinograd(g) { return winogradWeightGradient(gy.data, x.data, g) }
        let workers = Parallel.workers(for: g.n)
        let parts = (0..<workers).map { _ in Tensor(shape: [g.o, g.c, g.kh, g.kw]) }
        let xp = x.data, gp = gy.data, inStride = g.c * g.h * g.w, outStride = g.o * g.p
        Parallel.forEachRange(g.n, workers: workers) { worker, lo, hi in
            let cols = Tensor(uninitialized: [g.k * g.p])
            for s in lo..<hi {
                im2col(xp + s * inStride, g, cols.data, ld: g.p, col0: 0)
                BLAS.gemm(transB: true, m: g.o, n: g.k, k: g.p, a: gp + s * outStride, lda: g.p, b: cols.data, ldb: g.p,
                          beta: 1, c: parts[worker].data, ldc: g.k)
            }
        }
        for t in parts.dropFirst() { BLAS.axpy(t.count, 1, t.data, parts[0].data) }
        return parts[0]
    }
}
