import CKernels
import SparseWireTensor

extension Context {
    private func poolGeometry(_ x: Var, kernel: Int, stride: Int, padding: Int, op: String) throws -> (Int, Int, Int, Int, Int, Int) {
        guard x.shape.count == 4 else { throw SparseWireError.shape("\(op): input must be [N, C, H, W], got \(x.shape)") }
        guard kernel >= 1, stride >= 1, padding >= 0, padding * 2 <= kernel else {
            throw SparseWireError.shape("\(op): invalid kernel \(kernel), stride \(stride), padding \(padding)")
        }
        let h = x.shape[2], w = x.shape[3]
        guard h + 2 * padding >= kernel, w + 2 * padding >= kernel else {
            throw SparseWireError.shape("\(op): kernel \(kernel) larger than input \(h)×\(w)")
        }
        return (x.shape[0] * x.shape[1], h, w, (h + 2 * padding - kernel) / stride + 1,
                (w + 2 * padding - kernel) / stride + 1, 0)
    }

    /// Max pooling over k×k windows (PyTorch semantics, floor mode, padding counts as -∞).
    public func maxPool2d(_ x: Var, kernel: Int, stride: Int? = nil, padding: Int = 0) throws -> Var {
        let s = stride ?? kernel
        let (planes, h, w, oh, ow, _) = try poolGeometry(x, kernel: kernel, stride: s, padding: padding, op: "max_pool2d")
        if kernel == 2 && s == 2 && padding == 0 && x.value.count < Int(Int32.max) {
            return maxPool2x2(x, planes: planes, h: h, w: w)
        }
        let out = Tensor(uninitialized: [x.shape[0], x.shape[1], oh, ow])
        var argmax = [Int32](repeating: 0, count: out.count)
        let xp = x.value.data, op = out.data
        argmax.withUnsafeMutableBufferPointer { am in
            for pl in 0..<planes {
                let src = xp + pl * h * w
                for oy in 0..<oh { for ox in 0..<ow {
                    var best = -Float.infinity, bi = -1
                    for ki in 0..<kernel {
                        let iy = oy * s - padding + ki
                        if iy < 0 || iy >= h { continue }
                        for kj in 0..<kernel {
                            let ix = ox * s - padding + kj
                            if ix < 0 || ix >= w { continue }
                            let v = src[iy * w + ix]
                            if v > best || bi < 0 { best = v; bi = iy * w + ix }
                        }
                    }
                    let o = (pl * oh + oy) * ow + ox
                    op[o] = best
                    am[o] = Int32(bi)
                } }
            }
        }
        return node(out, [x]) { g in
            let dx = Tensor(shape: x.shape)
            let gp = g.data, dp = dx.data
            let per = oh * ow
            for pl in 0..<planes {
                for i in 0..<per { dp[pl * h * w + Int(argmax[pl * per + i])] += gp[pl * per + i] }
            }
            x.accumulate(dx)
        }
    }

    /// The common 2×2/2 case: vectorised C kernel, planes split over the threads.
    private func maxPool2x2(_ x: Var, planes: Int, h: Int, w: Int) -> Var {
        let oh = h / 2, ow = w / 2
        let out = Tensor(uninitialized: [x.shape[0], x.shape[1], oh, ow])
        let argmax = UnsafeMutablePointer<Int32>.allocate(capacity: max(out.count, 1))
        let holder = ScratchOwner(argmax)
        let xp = x.value.data, op = out.data
        let per = oh * ow, grain = max(1, (1 << 15) / max(h * w, 1))
        Parallel.forEachChunk(planes, grain: grain) { lo, hi in
            swk_maxpool2x2(xp + lo * h * w, hi - lo, h, w, op + lo * per, argmax + lo * per)
            // The kernel writes indices relative to its first plane.
            let shift = Int32(lo * h * w)
            if shift != 0 { for i in (lo * per)..<(hi * per) { argmax[i] += shift } }
        }
        return node(out, [x]) { g in
            let dx = Tensor(shape: x.shape)
            let gp = g.data, dp = dx.data
            Parallel.forEachChunk(planes, grain: grain) { lo, hi in
                for i in (lo * per)..<(hi * per) { dp[Int(holder.pointer[i])] += gp[i] }
            }
            x.accumulate(dx)
        }
    }

    /// Average pooling over k×k windows (no padding).
    public func avgPool2d(_ x: Var, kernel: Int, stride: Int? = nil) throws -> Var {
        let s = stride ?? kernel
        let (planes, h, w, oh, ow, _) = try poolGeometry(x, kernel: kernel, stride: s, padding: 0, op: "avg_pool2d")
        let out = Tensor(uninitialized: [x.shape[0], x.shape[1], oh, ow])
        let xp = x.value.data, op = out.data
        let inv = 1 / Float(kernel * kernel)
        for pl in 0..<planes {
            let src = xp + pl * h * w
            for oy in 0..<oh { for ox in 0..<ow {
                var acc: Float = 0
                for ki in 0..<kernel { for kj in 0..<kernel { acc += src[(oy * s + ki) * w + ox * s + kj] } }
                op[(pl * oh + oy) * ow + ox] = acc * inv
            } }
        }
        return node(out, [x]) { g in
            let dx = Tensor(shape: x.shape)
            let gp = g.data, dp = dx.data
            for pl in 0..<planes {
                let d = dp + pl * h * w
                for oy in 0..<oh { for ox in 0..<ow {
                    let v = gp[(pl * oh + oy) * ow + ox] * inv
                    for ki in 0..<kernel { for kj in 0..<kernel { d[(oy * s + ki) * w + ox * s + kj] += v } }
                } }
            }
            x.accumulate(dx)
        }
    }

    /// [N, C, H, W] → [N, C], the mean over each plane.
    public func globalAvgPool(_ x: Var) throws -> Var {
        guard x.shape.count == 4 else { throw SparseWireError.shape("global_avg_pool: input must be [N, C, H, W], got \(x.shape)") }
        let planes = x.shape[0] * x.shape[1], hw = x.shape[2] * x.shape[3]
        guard hw > 0 else { throw SparseWireError.shape("global_avg_pool: empty spatial size in \(x.shape)") }
        let out = Tensor(uninitialized: [x.shape[0], x.shape[1]])
        let xp = x.value.data, op = out.data
        let inv = 1 / Float(hw)
        for pl in 0..<planes {
            var acc: Float = 0
            for i in 0..<hw { acc += xp[pl * hw + i] }
            op[pl] = acc * inv
        }
        return node(out, [x]) { g in
            let dx = Tensor(uninitialized: x.shape)
            let gp = g.data, dp = dx.data
            for pl in 0..<planes {
                let v = gp[pl] * inv
                for i in 0..<hw { dp[pl * hw + i] = v }
            }
            x.accumulate(dx)
        }
    }
}
