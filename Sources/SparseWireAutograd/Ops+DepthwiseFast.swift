import CKernels
import SparseWireTensor
/// Depthwise convolution with stride 1, the common case of separable convs (RandWire, DNW),
/// computed on zero-padded planes so every inner loop is one contiguous run over a whole
/// plane (H·(W+2p) elements) instead of short rows: for each kernel tap (ki, kj),
///   Q[i] += w[ki, kj] · Xpad[i + ki·Wp + kj],   i < OH·Wp,  Wp = W + 2p,
/// then the valid columns of Q are the output. The backward pass uses the same layout:
/// dXpad[i + ki·Wp + kj] += w · Gq[i] and dw[ki, kj] = Σᵢ Gq[i] · Xpad[i + ki·Wp + kj], where Gq is
/// the output gradient spread into the padded width (zeros in the extra columns).
extension Context {
    package func depthwiseStride1(_ x: Var, _ w: Var, _ b: Var?, _ g: ConvGeometry) -> Var {
        let C = g.c, H = g.h, W = g.w, kh = g.kh, kw = g.kw, pad = g.pad, OH = g.oh, OW = g.ow
        let Wp = W + 2 * pad, Hp = H + 2 * pad
        let padded = Hp * Wp + kw          // slack: the last taps read past the last padded row
        let qCount = OH * Wp
        let HW = H * W, P = OH * OW, KK = kh * kw
        let out = Tensor(uninitialized: [g.n, C, OH, OW])
        let xp = x.value.data, wp = w.value.data, op = out.data
        let biasPtr: UnsafeMutablePointer<Float>? = b?.value.data
        let workers = Parallel.workers(for: g.n)

        @inline(__always) func fillPadded(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>) {
            dst.update(repeating: 0, count: padded)
            for y in 0..<H { (dst + (y + pad) * Wp + pad).update(from: src + y * W, count: W) }
        }

        Parallel.forEachRange(g.n, workers: workers) { _, lo, hi in
            let xpad = UnsafeMutablePointer<Float>.allocate(capacity: padded)
            let q = UnsafeMutablePointer<Float>.allocate(capacity: qCount)
            defer { xpad.deallocate(); q.deallocate() }
            for s in lo..<hi {
                for ch in 0..<C {
                    fillPadded(xpad, xp + (s * C + ch) * HW)
                    swk_dw_fwd(xpad, Wp, kh, kw, wp + ch * KK, qCount, biasPtr?[ch] ?? 0, q)
                    let dst = op + (s * C + ch) * P
                    for y in 0..<OH { (dst + y * OW).update(from: q + y * Wp, count: OW) }
                }
            }
        }
        var inputs = [x, w]
        if let b { inputs.append(b) }
        return node(out, inputs) { grad in
            let gp = grad.data
            let dx = x.requiresGrad ? Tensor(uninitialized: x.shape) : nil
            let dxp: UnsafeMutablePointer<Float>? = dx?.data
            let wantW = w.requiresGrad, wantB = b?.requiresGrad ?? false
            let stride = KK * C + C
            let partial = Tensor(shape: [workers, stride])
            let pp = partial.data
            Parallel.forEachRange(g.n, workers: workers) { worker, lo, hi in
                let xpad = UnsafeMutablePointer<Float>.allocate(capacity: padded)
                let dpad = UnsafeMutablePointer<Float>.allocate(capacity: padded)
                let gq = UnsafeMutablePointer<Float>.allocate(capacity: qCount)
                defer { xpad.deallocate(); dpad.deallocate(); gq.deallocate() }
                let myW = pp + worker * stride, myB = myW + KK * C
                for s in lo..<hi {
                    for ch in 0..<C {
                        let gsrc = gp + (s * C + ch) * P
                        gq.update(repeating: 0, count: qCount)
                        for y in 0..<OH { (gq + y * Wp).update(from: gsrc + y * OW, count: OW) }
                        if wantB { var acc: Float = 0; for i in 0..<P { acc += gsrc[i] }; myB[ch] += acc }
                        if wantW { fillPadded(xpad, xp + (s * C + ch) * HW) }
                        if dxp != nil { swk_dw_bwd_input(gq, qCount, Wp, kh, kw, wp + ch * KK, padded, dpad) }
                        if wantW { swk_dw_bwd_weight(gq, xpad, qCount, Wp, kh, kw, myW + ch * KK) }
                        if let dxp {
                            let dst = dxp + (s * C + ch) * HW
                            for y in 0..<H { (dst + y * W).update(from: dpad + (y + pad) * Wp + pad, count: W) }
                        }
                    }
                }
            }
            if let dx { x.accumulate(dx) }
            if wantW || wantB {
                let dw = Tensor(shape: w.shape), db = Tensor(shape: [C])
                for wk in 0..<workers {
                    let part = pp + wk * stride
                    for i in 0..<(KK * C) { dw.data[i] += part[i] }
                    for i in 0..<C { db.data[i] += part[KK * C + i] }
                }
                if wantW { w.accumulate(dw) }
                if wantB, let b { b.accumulate(db) }
            }
        }
    }
}
