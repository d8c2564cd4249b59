import CKernels
import SparseWireTensor
/// Where a depthwise convolution of stride s reads and writes. The zero-padded input plane
/// (Hp = H + 2p rows, Wp = W + 2p columns) is split into s² phase planes of hq = ⌈Hp/s⌉ rows and
/// wq = ⌈Wp/s⌉ columns, phase (a, b) holding Xpad[s·y + a, s·x + b] at (y, x). Output (oy, ox)
/// is then computed at grid position i = oy·wq + ox, and tap (ki, kj) reads its phase plane at
/// i + (ki / s)·wq + kj / s: for every tap one contiguous run over the whole grid,
///   Q[i] = b + Σ_t w[t] · X[off_t + i],  i < OH·wq,
/// with the valid columns ox < OW of Q the output. For s = 1 there is one phase: the padded plane.
/// The backward pass uses the same layout: dX[off_t + i] += w[t] · Gq[i] and
/// dw[t] = Σᵢ Gq[i] · X[off_t + i], Gq the output gradient spread into the grid (zeros in the
/// extra columns); dX's phase planes are gathered back into the input plane.
package struct DepthwiseLayout {
    /// Stride, phase plane rows and columns, and the size of one phase plane.
    package let s: Int, hq: Int, wq: Int, phasePlane: Int
    /// Floats in the phase buffer: s² phase planes plus slack for the last taps' reads past the
    /// end (they land in discarded columns).
    package let size: Int
    /// Grid positions computed per output plane: OH·wq.
    package let q: Int
    /// Offset of each tap (row-major over the kernel) in the phase buffer.
    package let offsets: [Int]

    /// The layout for geometry `g` (any stride and padding).
    package init(_ g: ConvGeometry) {
        s = g.stride
        hq = (g.h + 2 * g.pad + s - 1) / s
        wq = (g.w + 2 * g.pad + s - 1) / s
        phasePlane = hq * wq
        size = s * s * phasePlane + g.kw
        q = g.oh * wq
        let (s, hq, wq) = (s, hq, wq)
        offsets = (0..<(g.kh * g.kw)).map { t in
            let ki = t / g.kw, kj = t % g.kw
            return ((ki % s) * s + kj % s) * hq * wq + (ki / s) * wq + kj / s
        }
    }

    /// Writes one H×W input plane into the phase buffer `dst` (all `size` floats, zeros around;
    /// `swk_dw_phase_fill`).
    package func fill(_ dst: UnsafeMutablePointer<Float>, from src: UnsafePointer<Float>, _ g: ConvGeometry) {
        swk_dw_phase_fill(src, g.h, g.w, g.pad, s, hq, wq, size, dst)
    }

    /// Reads the H×W input plane `dst` back out of the phase buffer `src` (the inverse of `fill`
    /// on the positions inside the input; `swk_dw_phase_gather`).
    package func gather(_ dst: UnsafeMutablePointer<Float>, from src: UnsafePointer<Float>, _ g: ConvGeometry) {
        swk_dw_phase_gather(src, g.h, g.w, g.pad, s, hq, wq, dst)
    }
}

extension Context {
    /// Depthwise convolution on phase planes (`DepthwiseLayout`), any stride and padding: per
    /// sample and channel one fill, then one C kernel call for all taps (forward, input gradient,
    /// weight gradient); samples over the threads.
    package func depthwisePhased(_ x: Var, _ w: Var, _ b: Var?, _ g: ConvGeometry) -> Var {
        let C = g.c, OH = g.oh, OW = g.ow, taps = g.kh * g.kw
        let d = DepthwiseLayout(g)
        let HW = g.h * g.w, P = OH * OW
        let out = Tensor(uninitialized: [g.n, C, OH, OW])
        let xp = x.value.data, wp = w.value.data, op = out.data
        let biasPtr: UnsafeMutablePointer<Float>? = b?.value.data
        let workers = Parallel.workers(for: g.n)
        let offs = d.offsets

        offs.withUnsafeBufferPointer { ob in
            Parallel.forEachRange(g.n, workers: workers) { _, lo, hi in
                let xph = UnsafeMutablePointer<Float>.allocate(capacity: d.size)
                let q = UnsafeMutablePointer<Float>.allocate(capacity: d.q)
                defer { xph.deallocate(); q.deallocate() }
                for s in lo..<hi {
                    for ch in 0..<C {
                        d.fill(xph, from: xp + (s * C + ch) * HW, g)
                        swk_dw_fwd(xph, ob.baseAddress!, taps, wp + ch * taps, d.q, biasPtr?[ch] ?? 0, q)
                        let dst = op + (s * C + ch) * P
                        for y in 0..<OH { (dst + y * OW).update(from: q + y * d.wq, count: OW) }
                    }
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
            let stride = taps * C + C
            let partial = Tensor(shape: [workers, stride])
            let pp = partial.data
            offs.withUnsafeBufferPointer { ob in
                Parallel.forEachRange(g.n, workers: workers) { worker, lo, hi in
                    let xph = UnsafeMutablePointer<Float>.allocate(capacity: d.size)
                    let dph = UnsafeMutablePointer<Float>.allocate(capacity: d.size)
                    let gq = UnsafeMutablePointer<Float>.allocate(capacity: d.q)
                    defer { xph.deallocate(); dph.deallocate(); gq.deallocate() }
                    let myW = pp + worker * stride, myB = myW + taps * C
                    for s in lo..<hi {
                        for ch in 0..<C {
                            let gsrc = gp + (s * C + ch) * P
                            gq.update(repeating: 0, count: d.q)
                            for y in 0..<OH { (gq + y * d.wq).update(from: gsrc + y * OW, count: OW) }
                            if wantB { var acc: Float = 0; for i in 0..<P { acc += gsrc[i] }; myB[ch] += acc }
                            if wantW {
                                d.fill(xph, from: xp + (s * C + ch) * HW, g)
                                swk_dw_bwd_weight(gq, xph, d.q, ob.baseAddress!, taps, myW + ch * taps)
                            }
                            if let dxp {
                                swk_dw_bwd_input(gq, d.q, ob.baseAddress!, taps, wp + ch * taps, d.size, dph)
                                d.gather(dxp + (s * C + ch) * HW, from: dph, g)
                            }
                        }
                    }
                }
            }
            if let dx { x.accumulate(dx) }
            if wantW || wantB {
                let dw = Tensor(shape: w.shape), db = Tensor(shape: [C])
                for wk in 0..<workers {
                    let part = pp + wk * stride
                    for i in 0..<(taps * C) { dw.data[i] += part[i] }
                    for i in 0..<C { db.data[i] += part[taps * C + i] }
                }
                if wantW { w.accumulate(dw) }
                if wantB, let b { b.accumulate(db) }
            }
        }
    }
}
