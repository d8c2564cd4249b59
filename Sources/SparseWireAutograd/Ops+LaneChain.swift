import CKernels
import SparseWireTensor

/// One linear layer of a lane chain: its sparse weight (on the lane kernel), bias and whether a
/// ReLU follows it.
package struct LaneStage {
    /// The layer's effective weight ŵ [out, in], packed for the lane kernel.
    package let weight: SparseWeight
    /// The bias [out], or nil.
    package let bias: Var?
    /// Whether the layer's output goes through max(·, 0).
    package var relu: Bool

    /// A stage of `weight` (kernel `.lanes`, two dimensions) with `bias`, ReLU when `relu`.
    package init(weight: SparseWeight, bias: Var?, relu: Bool) {
        self.weight = weight
        self.bias = bias
        self.relu = relu
    }
}

/// A layer that can run as a stage of a lane chain (`Context.laneLinearChain`).
package protocol LaneChainable {
    /// The layer's stage (ReLU off) when it would run the lane linear kernel in `ctx` now, else
    /// nil. Errors: what building the sparse weight throws.
    func laneStage(_ ctx: Context) throws -> LaneStage?
}

extension Context {
    /// Consecutive lane linear layers (`stages`, each one's fan-in the previous one's fan-out)
    /// over x[N, in] in one parallel pass: each thread takes whole 64-sample blocks through every
    /// stage, the stages' outputs kept in lane layout (out · 64 floats, ReLU applied) as the next
    /// stage's input; only the first input is transposed to lanes and only the last output back.
    /// The same products in the same order as `laneLinear` layer by layer, so the same bits,
    /// without the transposes between layers, their [N, out] tensors and one fork-join per layer.
    /// With fewer blocks than threads (the rows of each block are then split per layer) the
    /// stages run one by one. Errors: `.shape` when the shapes do not chain.
    package func laneLinearChain(_ x: Var, _ stages: [LaneStage]) throws -> Var {
        guard let first = stages.first, x.shape.count == 2, x.shape[1] == first.weight.cols else {
            throw SparseWireError.shape("lane chain: input \(x.shape) does not match the first weight \(stages.first?.weight.shape ?? [])")
        }
        for (a, b) in zip(stages, stages.dropFirst()) where a.weight.rows != b.weight.cols {
            throw SparseWireError.shape("lane chain: weight \(a.weight.shape) is followed by \(b.weight.shape)")
        }
        let n = x.shape[0], blocks = (n + 63) / 64
        guard blocks >= Parallel.threads else {
            var h = x
            for s in stages { h = try laneLinear(h, s.weight, s.bias, relu: s.relu) }
            return h
        }
        let packs = try stages.map { try $0.weight.linearLanePacking() }
        let fin = first.weight.cols, fout = stages[stages.count - 1].weight.rows
        let width = stages.reduce(fin) { max($0, $1.weight.rows) }
        let out = Tensor(uninitialized: [n, fout])
        let xp = x.value.data, op = out.data
        withExtendedLifetime((packs, stages)) {
            Parallel.forEachRange(blocks, workers: Parallel.workers(for: blocks)) { _, lo, hi in
                let ping = Tensor(uninitialized: [width * 64]), pong = Tensor(uninitialized: [width * 64])
                for blk in lo..<hi {
                    let s0 = blk * 64, nb = min(64, n - s0)
                    Self.toLanes(xp, samples: n, cols: fin, block: blk, into: ping.data, split: false)
                    var src = ping.data, dst = pong.data
                    for (k, s) in stages.enumerated() {
                        let last = k == stages.count - 1, rows = s.weight.rows
                        packs[k].values.withUnsafeBufferPointer { vp in
                            Self.laneRows(packs[k], values: vp.baseAddress!, rows: rows, 0, rows, src: src, out: dst,
                                          bias: s.bias.map { UnsafePointer($0.value.data) }, relu: s.relu, y: last ? op + s0 * fout : nil,
                                          ldy: fout, nb: nb)
                        }
                        swap(&src, &dst)
                    }
                }
            }
        }
        return Var(out)
    }
}
