import Foundation
import SparseWireTensor

/// Ops the wiring models need: channel concatenation and slicing, and RandWire's aggregation.
extension Context {
    /// Concatenates [N, Cᵢ, H, W] tensors along channels.
    public func concatChannels(_ xs: [Var]) throws -> Var {
        guard let first = xs.first else { throw SparseWireError.shape("concatChannels: no inputs") }
        guard first.shape.count == 4 else { throw SparseWireError.shape("concatChannels: expected [N, C, H, W], got \(first.shape)") }
        if xs.count == 1 { return first }
        let n = first.shape[0], hw = first.shape[2] * first.shape[3]
        for x in xs where x.shape.count != 4 || x.shape[0] != n || x.shape[2] * x.shape[3] != hw || x.shape[2] != first.shape[2] {
            throw SparseWireError.shape("concatChannels: \(x.shape) does not match \(first.shape) outside the channel axis")
        }
        let channels = xs.map { $0.shape[1] }
        let total = channels.reduce(0, +)
        let out = Tensor(uninitialized: [n, total, first.shape[2], first.shape[3]])
        var offset = 0
        for (x, c) in zip(xs, channels) {
            let src = x.value.data, dst = out.data
            for s in 0..<n { (dst + (s * total + offset) * hw).update(from: src + s * c * hw, count: c * hw) }
            offset += c
        }
        return node(out, xs) { g in
            var o = 0
            for (x, c) in zip(xs, channels) {
                if x.requiresGrad {
                    let d = Tensor(uninitialized: x.shape)
                    for s in 0..<n { (d.data + s * c * hw).update(from: g.data + (s * total + o) * hw, count: c * hw) }
                    x.accumulate(d)
                }
                o += c
            }
        }
    }

    /// Channels `range` of an [N, C, H, W] tensor.
    public func sliceChannels(_ x: Var, _ range: Range<Int>) throws -> Var {
        guard x.shape.count == 4, range.lowerBound >= 0, range.upperBound <= x.shape[1], !range.isEmpty else {
            throw SparseWireError.shape("sliceChannels: channels \(range) of \(x.shape)")
        }
        if range.count == x.shape[1] { return x }
        let n = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3], k = range.count
        let out = Tensor(uninitialized: [n, k, x.shape[2], x.shape[3]])
        for s in 0..<n { (out.data + s * k * hw).update(from: x.value.data + (s * c + range.lowerBound) * hw, count: k * hw) }
        return node(out, [x]) { g in
            let d = Tensor(shape: x.shape)
            for s in 0..<n { (d.data + (s * c + range.lowerBound) * hw).update(from: g.data + s * k * hw, count: k * hw) }
            x.accumulate(d)
        }
    }

    /// RandWire's aggregation Σᵢ σ(logits[i]) · xs[i] (positive learnable weights). `active`
    /// selects which inputs take part (edge drop, damage); inactive ones get no gradient.
    public func sigmoidWeightedSum(_ xs: [Var], logits: Var, active: [Bool]? = nil) throws -> Var {
        guard let first = xs.first else { throw SparseWireError.shape("sigmoidWeightedSum: no inputs") }
        guard logits.value.count == xs.count else {
            throw SparseWireError.shape("sigmoidWeightedSum: \(xs.count) inputs, \(logits.value.count) weights")
        }
        for x in xs where x.shape != first.shape {
            throw SparseWireError.shape("sigmoidWeightedSum: input \(x.shape) differs from \(first.shape)")
        }
        let on = active ?? [Bool](repeating: true, count: xs.count)
        let sig = (0..<xs.count).map { 1 / (1 + expf(-logits.value[$0])) }
        let out = Tensor(shape: first.shape)
        for i in 0..<xs.count where on[i] { BLAS.axpy(out.count, sig[i], xs[i].value.data, out.data) }
        return node(out, xs + [logits]) { g in
            let dl = Tensor(shape: logits.shape)
            for i in 0..<xs.count where on[i] {
                if xs[i].requiresGrad {
                    let d = Tensor(shape: first.shape)
                    BLAS.axpy(d.count, sig[i], g.data, d.data)
                    xs[i].accumulate(d)
                }
                var dot: Float = 0
                let gp = g.data, xp = xs[i].value.data
                for j in 0..<g.count { dot += gp[j] * xp[j] }
                dl[i] = dot * sig[i] * (1 - sig[i])
            }
            if logits.requiresGrad { logits.accumulate(dl) }
        }
    }

    /// A constant zero tensor (no gradient).
    public func zeros(_ shape: [Int]) -> Var { Var(Tensor(shape: shape)) }
}

extension Context {
    /// Filters `range` of a depthwise weight [C, 1, k, k] (gradient flows back to the slice).
    package func sliceDepthwise(_ w: Var, _ range: Range<Int>) throws -> Var {
        guard w.shape.count == 4, range.upperBound <= w.shape[0] else { throw SparseWireError.shape("sliceDepthwise: \(range) of \(w.shape)") }
        let r = try reshape(w, [1, w.shape[0], w.shape[2], w.shape[3]])
        let s = try sliceChannels(r, range)
        return try reshape(s, [range.count, 1, w.shape[2], w.shape[3]])
    }

    /// Elements `range` of a vector [C] (gradient flows back to the slice).
    package func slice1D(_ v: Var, _ range: Range<Int>) throws -> Var {
        guard v.shape.count == 1, range.upperBound <= v.shape[0] else { throw SparseWireError.shape("slice1D: \(range) of \(v.shape)") }
        return try reshape(sliceChannels(reshape(v, [1, v.shape[0], 1, 1]), range), [range.count])
    }
}
