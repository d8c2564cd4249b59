import CKernels
import SparseWireTensor

extension ConvGeometry {
    /// The C kernels' view of a depthwise geometry.
    var depthwiseLanes: swk_dw_geom {
        swk_dw_geom(h: h, w: w, pad: pad, stride: stride, kh: kh, kw: kw, oh: oh, ow: ow)
    }
}

extension Context {
    /// Depthwise convolution with the batch in the vector lanes (`swk_dwl_*`): one C call per
    /// channel covers all samples, 8 per vector, each tap one aligned load from the channel's
    /// zero-padded lane plane. Channels over the threads; no per-plane calls, no wasted grid
    /// columns, so small planes (MobileNet's 4×4 and 2×2 stages) run at vector speed.
    /// Weight and bias gradients are summed in float vectors per 8 samples, then in double.
    package func depthwiseLanes(_ x: Var, _ w: Var, _ b: Var?, _ g: ConvGeometry) -> Var {
        var geom = g.depthwiseLanes
        let C = g.c, taps = g.kh * g.kw
        let xs = C * g.h * g.w, ys = C * g.p
        let out = Tensor(uninitialized: [g.n, C, g.oh, g.ow])
        let xp = x.value.data, wp = w.value.data, op = out.data
        let biasPtr: UnsafeMutablePointer<Float>? = b?.value.data
        let workFloats = swk_dwl_work(&geom)
        let workers = Parallel.workers(for: C)
        Parallel.forEachRange(C, workers: workers) { _, c0, c1 in
            withDepthwiseWork(workFloats) { work in
                for ch in c0..<c1 {
                    swk_dwl_fwd(&geom, xp + ch * g.h * g.w, xs, g.n, wp + ch * taps, biasPtr?[ch] ?? 0, op + ch * g.p, ys, work)
                }
            }
        }
        var inputs = [x, w]
        if let b { inputs.append(b) }
        return node(out, inputs) { grad in
            let gp = grad.data
            let dx = x.requiresGrad ? Tensor(uninitialized: x.shape) : nil
            let dw = w.requiresGrad ? Tensor(shape: w.shape) : nil
            let db = (b?.requiresGrad ?? false) ? Tensor(shape: [C]) : nil
            let dxp: UnsafeMutablePointer<Float>? = dx?.data, dwp: UnsafeMutablePointer<Float>? = dw?.data
            let dbp: UnsafeMutablePointer<Float>? = db?.data
            Parallel.forEachRange(C, workers: workers) { _, c0, c1 in
                withDepthwiseWork(workFloats) { work in
                    for ch in c0..<c1 {
                        let at = ch * g.h * g.w
                        swk_dwl_bwd(&geom, xp + at, xs, gp + ch * g.p, ys, g.n, wp + ch * taps, dxp.map { $0 + at },
                                    dwp.map { $0 + ch * taps }, dbp.map { $0 + ch }, work)
                    }
                }
            }
            if let dx { x.accumulate(dx) }
            if let dw { w.accumulate(dw) }
            if let db, let b { b.accumulate(db) }
        }
    }
}

/// Runs `body` with a 64-byte aligned scratch buffer of `floats` floats (the lane kernels' planes).
private func withDepthwiseWork(_ floats: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: floats * MemoryLayout<Float>.stride, alignment: 64)
    defer { raw.deallocate() }
    body(raw.bindMemory(to: Float.self, capacity: floats))
}
