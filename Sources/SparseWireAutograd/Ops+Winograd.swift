import CKernels
import Foundation
import SparseWireTensor

/// 3×3 convolutions with stride 1 and padding 1 by Winograd's minimal filtering F(2×2, 3×3)
/// (Lavin & Gray 2016): each 2×2 output tile costs 16 multiplies per input channel instead of 36,
/// so the three GEMM-bound products of a training step (forward, input gradient, weight
/// gradient) each do 2.25× fewer flops. In the transform domain every one of the 16 positions
/// is an ordinary GEMM: M = U·V forward, dU = dM·Vᵀ and dV = Uᵀ·dM backward, with
/// U = G g Gᵀ, V = Bᵀ d B, Y = Aᵀ M A and their adjoints (kernels_impl.h) for the chain rule.
extension Context {
    /// SPARSEWIRE_CONV=im2col turns it off (comparisons; the tests check both paths).
    nonisolated(unsafe) public static var winogradEnabled = ProcessInfo.processInfo.environment["SPARSEWIRE_CONV"] != "im2col"

    /// Where Winograd pays: 3×3, stride 1, padding 1, and enough channels for its GEMMs.
    public static func winogradApplies(kernel: Int, stride: Int, padding: Int, inChannels: Int, outChannels: Int) -> Bool {
        winogradEnabled && kernel == 3 && stride == 1 && padding == 1 && inChannels >= 16 && outChannels >= 16
    }

    package static func usesWinograd(_ g: ConvGeometry) -> Bool {
        g.kh == g.kw && winogradApplies(kernel: g.kh, stride: g.stride, padding: g.pad, inChannels: g.c, outChannels: g.o)
    }

    package func winogradConv3x3(_ x: Var, _ w: Var, _ b: Var?, _ g: ConvGeometry) -> Var {
        let C = g.c, O = g.o, H = g.h, W = g.w
        let tiles = ((H + 1) / 2) * ((W + 1) / 2)
        let inStride = C * H * W, outStride = O * H * W
        // Samples per chunk: about a thousand tiles make the 16 GEMMs wide enough.
        let workers = Parallel.workers(for: g.n)
        let nb = max(1, min((g.n + workers - 1) / workers, 1024 / max(tiles, 1)))
        let U = Tensor(uninitialized: [16 * O * C])
        swk_wino_weight(w.value.data, O, C, U.data)
        let up = U.data, xp = x.value.data
        let out = Tensor(uninitialized: [g.n, O, H, W])
        let op = out.data
        Parallel.forEachRange(g.n, workers: workers) { _, lo, hi in
            let V = Tensor(uninitialized: [16 * C * nb * tiles]), M = Tensor(uninitialized: [16 * O * nb * tiles])
            let S = Tensor(uninitialized: [swk_wino_scratch(H, W)])
            let vp = V.data, mp = M.data, sp = S.data
            var n0 = lo
            while n0 < hi {
                let cnt = min(nb, hi - n0), T = cnt * tiles
                for s in 0..<cnt { swk_wino_input(xp + (n0 + s) * inStride, C, H, W, vp, T, s * tiles, sp) }
                for xi in 0..<16 {
                    BLAS.gemm(m: O, n: T, k: C, a: up + xi * O * C, lda: C, b: vp + xi * C * T, ldb: T, c: mp + xi * O * T, ldc: T)
                }
                for s in 0..<cnt { swk_wino_output(mp, O, H, W, T, s * tiles, op + (n0 + s) * outStride, sp) }
                n0 += cnt
            }
            withExtendedLifetime((V, M, S)) {}  // the raw pointers above are used after the tensors' last mention
        }
        if let b { addChannelBias(op, b.value.data, samples: 0..<g.n, channels: O, plane: H * W) }
        var inputs = [x, w]
        if let b { inputs.append(b) }
        return node(out, inputs) { grad in
            let gp = grad.data
            if let b, b.requiresGrad { b.accumulate(channelBiasGradient(gp, samples: g.n, channels: O, plane: H * W)) }
            guard x.requiresGrad || w.requiresGrad else { return }
            let dx = x.requiresGrad ? Tensor(shape: x.shape) : nil  // zero: the adjoint adds overlapping tiles
            let dxp: UnsafeMutablePointer<Float>? = dx?.data
            // One partial dU per worker, summed in worker order (deterministic).
            let dUParts = w.requiresGrad ? (0..<workers).map { _ in Tensor(shape: [16 * O * C]) } : []
            Parallel.forEachRange(g.n, workers: workers) { worker, lo, hi in
                let V = Tensor(uninitialized: [16 * C * nb * tiles]), dM = Tensor(uninitialized: [16 * O * nb * tiles])
                let S = Tensor(uninitialized: [swk_wino_scratch(H, W)])
                let vp = V.data, mp = dM.data, sp = S.data
                let dU: UnsafeMutablePointer<Float>? = dUParts.isEmpty ? nil : dUParts[worker].data
                var n0 = lo
                while n0 < hi {
                    let cnt = min(nb, hi - n0), T = cnt * tiles
                    for s in 0..<cnt { swk_wino_output_grad(gp + (n0 + s) * outStride, O, H, W, mp, T, s * tiles, sp) }
                    if let dU {
                        for s in 0..<cnt { swk_wino_input(xp + (n0 + s) * inStride, C, H, W, vp, T, s * tiles, sp) }
                        for xi in 0..<16 {
                            BLAS.gemm(transB: true, m: O, n: C, k: T, a: mp + xi * O * T, lda: T, b: vp + xi * C * T, ldb: T,
                                      beta: 1, c: dU + xi * O * C, ldc: C)
                        }
                    }
                    if let dxp {
                        for xi in 0..<16 {  // dV into V's buffer
                            BLAS.gemm(transA: true, m: C, n: T, k: O, a: up + xi * O * C, lda: C, b: mp + xi * O * T, ldb: T,
                                      c: vp + xi * C * T, ldc: T)
                        }
                        for s in 0..<cnt { swk_wino_input_grad(vp, C, H, W, T, s * tiles, dxp + (n0 + s) * inStride, sp) }
                    }
                    n0 += cnt
                }
                withExtendedLifetime((V, dM, S)) {}
            }
            if let first = dUParts.first {
                for part in dUParts.dropFirst() { BLAS.axpy(first.count, 1, part.data, first.data) }
                let dw = Tensor(uninitialized: w.shape)
                withExtendedLifetime(dUParts) { swk_wino_weight_grad(first.data, O, C, dw.data) }
                w.accumulate(dw)
            }
            withExtendedLifetime(U) {}
            if let dx { x.accumulate(dx) }
        }
    }

    /// The weight gradient alone of a Winograd convolution (`usesWinograd(g)`): dU = Σ dM·Vᵀ per
    /// transform position over chunks of samples, one partial per thread summed in thread order,
    /// then back to dW. For sparse training's steps that need the dense dL/dŵ (its own input
    /// gradient runs sparse).
    package static func winogradWeightGradient(_ gp: UnsafePointer<Float>, _ xp: UnsafePointer<Float>, _ g: ConvGeometry) -> Tensor {
        let C = g.c, O = g.o, H = g.h, W = g.w
        let tiles = ((H + 1) / 2) * ((W + 1) / 2)
        let inStride = C * H * W, outStride = O * H * W
        let workers = Parallel.workers(for: g.n)
        let nb = max(1, min((g.n + workers - 1) / workers, 1024 / max(tiles, 1)))
        let parts = (0..<workers).map { _ in Tensor(shape: [16 * O * C]) }
        Parallel.forEachRange(g.n, workers: workers) { worker, lo, hi in
            let V = Tensor(uninitialized: [16 * C * nb * tiles]), dM = Tensor(uninitialized: [16 * O * nb * tiles])
            let S = Tensor(uninitialized: [swk_wino_scratch(H, W)])
            let vp = V.data, mp = dM.data, sp = S.data, dU = parts[worker].data
            var n0 = lo
            while n0 < hi {
                let cnt = min(nb, hi - n0), T = cnt * tiles
                for s in 0..<cnt { swk_wino_output_grad(gp + (n0 + s) * outStride, O, H, W, mp, T, s * tiles, sp) }
                for s in 0..<cnt { swk_wino_input(xp + (n0 + s) * inStride, C, H, W, vp, T, s * tiles, sp) }
                for xi in 0..<16 {
                    BLAS.gemm(transB: true, m: O, n: C, k: T, a: mp + xi * O * T, lda: T, b: vp + xi * C * T, ldb: T,
                              beta: 1, c: dU + xi * O * C, ldc: C)
                }
                n0 += cnt
            }
            withExtendedLifetime((V, dM, S)) {}  // the raw pointers above are used after the tensors' last mention
        }
        let dw = Tensor(uninitialized: [O, C, 3, 3])
        // `parts` must outlive the kernel reading its pointer: released after `parts[0].data`,
        // the block's first bytes became the allocator's free-list links (seen: 8 wrong taps).
        withExtendedLifetime(parts) {
            for part in parts.dropFirst() { BLAS.axpy(part.count, 1, part.data, parts[0].data) }
            swk_wino_weight_grad(parts[0].data, O, C, dw.data)
        }
        return dw
    }
}
