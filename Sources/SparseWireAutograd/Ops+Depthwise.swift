import SparseWireTensor
extension Context {
    /// Depthwise 2-D convolution: each channel convolved with its own kernel, weight [C, 1, kh, kw].
    public func depthwiseConv2d(_ x: Var, _ w: Var, _ b: Var?, stride: Int = 1, padding: Int = 0) throws -> Var {
        let g = try ConvGeometry(input: x.shape, weight: w.shape, stride: stride, pad: padding, op: "depthwise_conv2d")
        guard w.shape[0] == g.c, w.shape[1] == 1 else {
            throw SparseWireError.shape("depthwise_conv2d: weight must be [\(g.c), 1, kh, kw] for \(g.c) channels, got \(w.shape)")
        }
        if let b, b.shape != [g.c] {
            throw SparseWireError.shape("depthwise_conv2d: bias shape \(b.shape) should be [\(g.c)]")
        }
        if stride == 1 { return depthwiseStride1(x, w, b, g) }
        let out = Tensor(uninitialized: [g.n, g.c, g.oh, g.ow])
        let xp = x.value.data, wp = w.value.data, op = out.data
        let HW = g.h * g.w, P = g.p, KK = g.kh * g.kw
        let C = g.c, kh = g.kh, kw = g.kw, ow = g.ow, oh = g.oh, st = g.stride, pad = g.pad, iw = g.w, ih = g.h
        // Valid output ranges per kernel offset, computed once (no work in the inner loops).
        let yr = (0..<kh).map { validRange(size: ih, out: oh, stride: st, pad: pad, kOff: $0) }
        let xr = (0..<kw).map { validRange(size: iw, out: ow, stride: st, pad: pad, kOff: $0) }
        let biasPtr: UnsafeMutablePointer<Float>? = b?.value.data
        // Samples are independent: split them over the engine's threads.
        Parallel.forEachRange(g.n, workers: Parallel.workers(for: g.n)) { _, lo, hi in
            for s in lo..<hi {
                for ch in 0..<C {
                    let src = xp + (s * C + ch) * HW
                    let dst = op + (s * C + ch) * P
                    let ker = wp + ch * KK
                    dst.update(repeating: biasPtr?[ch] ?? 0, count: P)
                    for ki in 0..<kh {
                        let (ylo, yhi) = yr[ki]
                        for kj in 0..<kw {
                            let (xlo, xhi) = xr[kj]
                            let wv = ker[ki * kw + kj]
                            for oy in ylo..<yhi {
                                let srow = src + (oy * st - pad + ki) * iw - pad + kj
                                let drow = dst + oy * ow
                                if st == 1 {
                                    for ox in xlo..<xhi { drow[ox] += wv * srow[ox] }
                                } else {
                                    for ox in xlo..<xhi { drow[ox] += wv * srow[ox * st] }
                                }
                            }
                        }
                    }
                }
            }
        }
        var inputs = [x, w]
        if let b { inputs.append(b) }
        return node(out, inputs) { grad in
            let gp = grad.data
            let dx = x.requiresGrad ? Tensor(shape: x.shape) : nil
            let dw = w.requiresGrad ? Tensor(shape: w.shape) : nil
            let db = (b?.requiresGrad ?? false) ? Tensor(shape: [C]) : nil
            let dxp: UnsafeMutablePointer<Float>? = dx?.data
            let workers = Parallel.workers(for: g.n)
            // Per-worker weight/bias gradient partials, summed in worker order (deterministic).
            let partial = Tensor(shape: [workers, KK * C + C])
            let pp = partial.data
            let wantW = dw != nil, wantB = db != nil
            Parallel.forEachRange(g.n, workers: workers) { worker, lo, hi in
                let myW = pp + worker * (KK * C + C), myB = myW + KK * C
                for s in lo..<hi {
                    for ch in 0..<C {
                        let src = xp + (s * C + ch) * HW
                        let gsrc = gp + (s * C + ch) * P
                        if wantB { var acc: Float = 0; for i in 0..<P { acc += gsrc[i] }; myB[ch] += acc }
                        let dsrc = dxp.map { $0 + (s * C + ch) * HW }
                        for ki in 0..<kh {
                            let (ylo, yhi) = yr[ki]
                            for kj in 0..<kw {
                                let (xlo, xhi) = xr[kj]
                                let wv = wp[ch * KK + ki * kw + kj]
                                var acc: Float = 0
                                for oy in ylo..<yhi {
                                    let rowOff = (oy * st - pad + ki) * iw - pad + kj
                                    let grow = gsrc + oy * ow
                                    if let dsrc {
                                        let drow = dsrc + rowOff
                                        if st == 1 {
                                            for ox in xlo..<xhi { drow[ox] += wv * grow[ox] }
                                        } else {
                                            for ox in xlo..<xhi { drow[ox * st] += wv * grow[ox] }
                                        }
                                    }
                                    if wantW {
                                        let srow = src + rowOff
                                        if st == 1 {
                                            for ox in xlo..<xhi { acc += grow[ox] * srow[ox] }
                                        } else {
                                            for ox in xlo..<xhi { acc += grow[ox] * srow[ox * st] }
                                        }
                                    }
                                }
                                if wantW { myW[ch * KK + ki * kw + kj] += acc }
                            }
                        }
                    }
                }
            }
            for wk in 0..<workers {
                let part = pp + wk * (KK * C + C)
                if let dw { for i in 0..<(KK * C) { dw.data[i] += part[i] } }
                if let db { for i in 0..<C { db.data[i] += part[KK * C + i] } }
            }
            if let dx { x.accumulate(dx) }
            if let dw { w.accumulate(dw) }
            if let db, let b { b.accumulate(db) }
        }
    }
}
