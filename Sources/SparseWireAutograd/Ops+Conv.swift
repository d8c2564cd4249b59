import SparseWireTensor
/// out[s, c, ·] += bias[c] over the samples of an NCHW tensor whose planes hold `plane` values.
package func addChannelBias(_ out: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, samples: Range<Int>, channels: Int, plane: Int) {
    for s in samples { for c in 0..<channels {
        let d = out + (s * channels + c) * plane, v = bias[c]
        for i in 0..<plane { d[i] += v }
    } }
}

/// The gradient of a per-channel bias: the NCHW gradient summed over samples and pixels.
package func channelBiasGradient(_ grad: UnsafePointer<Float>, samples: Int, channels: Int, plane: Int) -> Tensor {
    let db = Tensor(shape: [channels]), dp = db.data
    for s in 0..<samples { for c in 0..<channels {
        let src = grad + (s * channels + c) * plane
        var acc: Float = 0
        for i in 0..<plane { acc += src[i] }
        dp[c] += acc
    } }
    return db
}

/// Geometry of a 2-D convolution over NCHW input.
package struct ConvGeometry {
    package let n, c, h, w, o, kh, kw, stride, pad, oh, ow: Int
    package var k: Int { c * kh * kw }
    package var p: Int { oh * ow }
    package var isPointwise: Bool { kh == 1 && kw == 1 && stride == 1 && pad == 0 }

    package init(input: [Int], weight: [Int], stride: Int, pad: Int, op: String) throws {
        guard input.count == 4 else {
            throw SparseWireError.shape("\(op): input must be [N, C, H, W], got \(input)")
        }
        guard weight.count == 4 else {
            throw SparseWireError.shape("\(op): weight must be [O, C, kh, kw], got \(weight)")
        }
        guard stride >= 1, pad >= 0 else {
            throw SparseWireError.shape("\(op): stride must be ≥ 1 and padding ≥ 0, got stride \(stride), padding \(pad)")
        }
        n = input[0]; c = input[1]; h = input[2]; w = input[3]
        o = weight[0]; kh = weight[2]; kw = weight[3]
        self.stride = stride; self.pad = pad
        guard h + 2 * pad >= kh, w + 2 * pad >= kw else {
            throw SparseWireError.shape("\(op): kernel \(kh)×\(kw) larger than padded input \(h + 2 * pad)×\(w + 2 * pad)")
        }
        oh = (h + 2 * pad - kh) / stride + 1
        ow = (w + 2 * pad - kw) / stride + 1
    }
}

/// Valid output range [lo, hi) along one axis for kernel offset `kOff`.
@inline(__always)
func validRange(size: Int, out: Int, stride: Int, pad: Int, kOff: Int) -> (Int, Int) {
    // need 0 <= o*stride - pad + kOff < size
    let a = pad - kOff
    let lo = a <= 0 ? 0 : (a + stride - 1) / stride
    let b = size - 1 + pad - kOff
    let hi = b < 0 ? 0 : min(out, b / stride + 1)
    return (min(lo, hi), hi)
}

/// Unfolds one sample x[C,H,W] into columns cols[K, ld] starting at column `col0`.
package func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ cols: UnsafeMutablePointer<Float>, ld: Int, col0: Int) {
    if g.isPointwise {  // the columns are the planes: one copy each
        for ci in 0..<g.c { (cols + ci * ld + col0).update(from: x + ci * g.p, count: g.p) }
        return
    }
    for ci in 0..<g.c {
        let plane = x + ci * g.h * g.w
        for ki in 0..<g.kh {
            let (ylo, yhi) = validRange(size: g.h, out: g.oh, stride: g.stride, pad: g.pad, kOff: ki)
            for kj in 0..<g.kw {
                let (xlo, xhi) = validRange(size: g.w, out: g.ow, stride: g.stride, pad: g.pad, kOff: kj)
                let row = (ci * g.kh + ki) * g.kw + kj
                let dst = cols + row * ld + col0
                for oy in 0..<g.oh {
                    let d = dst + oy * g.ow
                    if oy < ylo || oy >= yhi {
                        d.update(repeating: 0, count: g.ow)
                        continue
                    }
                    let src = plane + (oy * g.stride - g.pad + ki) * g.w
                    for ox in 0..<xlo { d[ox] = 0 }
                    if g.stride == 1 {
                        let off = kj - g.pad
                        (d + xlo).update(from: src + xlo + off, count: xhi - xlo)
                    } else {
                        for ox in xlo..<xhi { d[ox] = src[ox * g.stride - g.pad + kj] }
                    }
                    for ox in xhi..<g.ow { d[ox] = 0 }
                }
            }
        }
    }
}

/// Folds columns back, accumulating into one sample dx[C,H,W].
private func col2im(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, ld: Int, col0: Int, _ dx: UnsafeMutablePointer<Float>) {
    if g.isPointwise {
        for ci in 0..<g.c {
            let src = cols + ci * ld + col0, dst = dx + ci * g.p
            for i in 0..<g.p { dst[i] += src[i] }
        }
        return
    }
    for ci in 0..<g.c {
        let plane = dx + ci * g.h * g.w
        for ki in 0..<g.kh {
            let (ylo, yhi) = validRange(size: g.h, out: g.oh, stride: g.stride, pad: g.pad, kOff: ki)
            for kj in 0..<g.kw {
                let (xlo, xhi) = validRange(size: g.w, out: g.ow, stride: g.stride, pad: g.pad, kOff: kj)
                let row = (ci * g.kh + ki) * g.kw + kj
                let src = cols + row * ld + col0
                for oy in ylo..<yhi {
                    let s = src + oy * g.ow
                    let d = plane + (oy * g.stride - g.pad + ki) * g.w
                    if g.stride == 1 {
                        let dd = d + (kj - g.pad)  // contiguous: lets the compiler vectorise
                        for ox in xlo..<xhi { dd[ox] += s[ox] }
                    } else {
                        for ox in xlo..<xhi { d[ox * g.stride - g.pad + kj] += s[ox] }
                    }
                }
            }
        }
    }
}

extension Context {
    /// Scratch budget (floats) for the unfolded columns of one chunk of samples.
    package static let im2colBudget = 4 << 20
    /// 1×1 convolutions on planes of at least this many positions multiply each sample's
    /// [C, H·W] block in place (one GEMM per sample); smaller planes (MobileNet's 7×7, 4×4) are
    /// copied into chunks of samples first, so one GEMM covers many samples and OpenBLAS packs
    /// the weight once per chunk instead of once per sample.
    package static let pointwiseDirectPlane = 256

    /// 2-D convolution, NCHW input, weight [O, C, kh, kw] (PyTorch layout), optional bias [O].
    /// Implemented as im2col + one sgemm per chunk of samples; the columns are recomputed in
    /// backward instead of stored.
    public func conv2d(_ x: Var, _ w: Var, _ b: Var?, stride: Int = 1, padding: Int = 0) throws -> Var {
        let g = try ConvGeometry(input: x.shape, weight: w.shape, stride: stride, pad: padding, op: "conv2d")
        guard w.shape[1] == g.c else {
            throw SparseWireError.shape("conv2d: input has \(g.c) channels but weight \(w.shape) expects \(w.shape[1])")
        }
        if let b, b.shape != [g.o] {
            throw SparseWireError.shape("conv2d: bias shape \(b.shape) should be [\(g.o)]")
        }
        if Context.usesWinograd(g) { return winogradConv3x3(x, w, b, g) }
        let out = Tensor(uninitialized: [g.n, g.o, g.oh, g.ow])
        let K = g.k, P = g.p, O = g.o
        let workers = Parallel.workers(for: g.n)
        let direct = g.isPointwise && P >= Context.pointwiseDirectPlane  // per-sample GEMMs on x itself
        let nb = direct ? 1 : max(1, min(g.n, Context.im2colBudget / workers / max(K * P, 1)))
        let xp = x.value.data, wp = w.value.data, op = out.data
        let inStride = g.c * g.h * g.w, outStride = O * P
        // Each worker owns a contiguous range of samples and its own scratch.
        Parallel.forEachRange(g.n, workers: workers) { _, lo, hi in
            let cols = direct ? nil : Tensor(uninitialized: [K * nb * P])
            let res = nb > 1 ? Tensor(uninitialized: [O * nb * P]) : nil
            var n0 = lo
            while n0 < hi {
                let cnt = min(nb, hi - n0)
                let ld = cnt * P
                if direct {
                    BLAS.gemm(m: O, n: P, k: K, a: wp, lda: K, b: xp + n0 * inStride, ldb: P, c: op + n0 * outStride, ldc: P)
                } else {
                    let cp = cols!.data
                    for s in 0..<cnt { im2col(xp + (n0 + s) * inStride, g, cp, ld: ld, col0: s * P) }
                    if cnt == 1 {
                        BLAS.gemm(m: O, n: P, k: K, a: wp, lda: K, b: cp, ldb: ld, c: op + n0 * outStride, ldc: P)
                    } else {
                        let rp = res!.data
                        BLAS.gemm(m: O, n: ld, k: K, a: wp, lda: K, b: cp, ldb: ld, c: rp, ldc: ld)
                        for s in 0..<cnt { for oc in 0..<O {
                            (op + (n0 + s) * outStride + oc * P).update(from: rp + oc * ld + s * P, count: P)
                        } }
                    }
                }
                if let b {
                    addChannelBias(op, b.value.data, samples: n0..<(n0 + cnt), channels: O, plane: P)
                }
                n0 += cnt
            }
        }
        var inputs = [x, w]
        if let b { inputs.append(b) }
        return node(out, inputs) { grad in
            let gp = grad.data
            if let b, b.requiresGrad { b.accumulate(channelBiasGradient(gp, samples: g.n, channels: O, plane: P)) }
            guard x.requiresGrad || w.requiresGrad else { return }
            let dx = x.requiresGrad ? Tensor(shape: x.shape) : nil
            // One partial dW per worker, summed in worker order afterwards (deterministic).
            let dwParts = w.requiresGrad ? (0..<workers).map { _ in Tensor(shape: w.shape) } : []
            Parallel.forEachRange(g.n, workers: workers) { worker, lo, hi in
                let dw = dwParts.isEmpty ? nil : dwParts[worker]
                let cols = (dw != nil && !direct) ? Tensor(uninitialized: [K * nb * P]) : nil
                let dres = nb > 1 ? Tensor(uninitialized: [O * nb * P]) : nil
                let dcols = (dx != nil && !direct) ? Tensor(uninitialized: [K * nb * P]) : nil
                var n0 = lo
                while n0 < hi {
                    let cnt = min(nb, hi - n0)
                    let ld = cnt * P
                    // Gradient of this chunk as [O, cnt·P].
                    let gChunk: UnsafeMutablePointer<Float>
                    if cnt == 1 {
                        gChunk = gp + n0 * outStride
                    } else {
                        gChunk = dres!.data
                        for s in 0..<cnt { for oc in 0..<O {
                            (gChunk + oc * ld + s * P).update(from: gp + (n0 + s) * outStride + oc * P, count: P)
                        } }
                    }
                    if direct {
                        if let dw {
                            BLAS.gemm(transB: true, m: O, n: K, k: P, a: gChunk, lda: P, b: xp + n0 * inStride, ldb: P,
                                      beta: 1, c: dw.data, ldc: K)
                        }
                        if let dx {
                            BLAS.gemm(transA: true, m: K, n: P, k: O, a: wp, lda: K, b: gChunk, ldb: P,
                                      c: dx.data + n0 * inStride, ldc: P)
                        }
                    } else {
                        if let dw, let cols {
                            for s in 0..<cnt { im2col(xp + (n0 + s) * inStride, g, cols.data, ld: ld, col0: s * P) }
                            BLAS.gemm(transB: true, m: O, n: K, k: ld, a: gChunk, lda: ld, b: cols.data, ldb: ld,
                                      beta: 1, c: dw.data, ldc: K)
                        }
                        if let dx, let dcols {
                            BLAS.gemm(transA: true, m: K, n: ld, k: O, a: wp, lda: K, b: gChunk, ldb: ld,
                                      c: dcols.data, ldc: ld)
                            for s in 0..<cnt { col2im(dcols.data, g, ld: ld, col0: s * P, dx.data + (n0 + s) * inStride) }
                        }
                    }
                    n0 += cnt
                }
            }
            if let first = dwParts.first {
                for part in dwParts.dropFirst() { BLAS.axpy(first.count, 1, part.data, first.data) }
                w.accumulate(first)
            }
            if let dx { x.accumulate(dx) }
        }
    }
}
