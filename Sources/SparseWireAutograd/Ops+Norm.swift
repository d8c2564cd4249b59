import CKernels
import SparseWireTensor
/// Where the values of one normalisation group lie: `count` runs of `len` values, run r of group
/// g at g·groupStride + r·runStride (batch norm: channel g's plane in every sample; instance
/// norm: plane g). The C kernels take a whole group per call.
private struct NormRuns {
    let groupStride: Int, count: Int, len: Int, runStride: Int
    func start(_ g: Int) -> Int { g * groupStride }
}

extension Context {
    /// Batch normalisation over [N, C] or [N, C, H, W] (statistics per channel over N·H·W).
    ///
    /// Training uses the batch statistics (biased variance) and updates the running statistics
    /// in place with `momentum` (PyTorch convention, running variance unbiased); evaluation uses
    /// the running statistics. `gamma`/`beta` nil means non-affine. `relu`: the ReLU that follows
    /// in the same pass, y = max(γ·x̂ + β, 0), its gradient masked by y > 0 inside the norm's
    /// backward (equal to `relu(batchNorm(x))`, one output tensor and two passes fewer).
    public func batchNorm(_ x: Var, gamma: Var?, beta: Var?, runningMean: Tensor, runningVar: Tensor,
                          momentum: Float = 0.1, eps: Float = 1e-5, relu: Bool = false) throws -> Var {
        guard x.shape.count == 2 || x.shape.count == 4 else {
            throw SparseWireError.shape("batch_norm: input must be [N, C] or [N, C, H, W], got \(x.shape)")
        }
        let n = x.shape[0], c = x.shape[1]
        let hw = x.shape.count == 4 ? x.shape[2] * x.shape[3] : 1
        guard runningMean.shape == [c], runningVar.shape == [c] else {
            throw SparseWireError.shape("batch_norm: running statistics must be [\(c)], got \(runningMean.shape) and \(runningVar.shape)")
        }
        if let gamma, gamma.shape != [c] { throw SparseWireError.shape("batch_norm: weight shape \(gamma.shape) should be [\(c)]") }
        if let beta, beta.shape != [c] { throw SparseWireError.shape("batch_norm: bias shape \(beta.shape) should be [\(c)]") }
        let m = n * hw
        if training && m < 2 {
            throw SparseWireError.shape("batch_norm: training needs more than one value per channel, got input \(x.shape)")
        }
        let xp = x.value.data
        var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
        if training {
            // Per channel over its n runs of hw values (C kernels; channels over the threads).
            var sums = [Double](repeating: 0, count: 2 * c)
            sums.withUnsafeMutableBufferPointer { sp in
                let sp = sp.baseAddress!
                Parallel.forEachRange(c, workers: Parallel.workers(for: c * n * hw / 16384 + 1)) { _, c0, c1 in
                    for ch in c0..<c1 { swk_sum_dot(xp + ch * hw, xp + ch * hw, n, hw, c * hw, sp + 2 * ch, sp + 2 * ch + 1) }
                }
            }
            for ch in 0..<c {
                let mu = sums[2 * ch] / Double(m)
                let varB = max(sums[2 * ch + 1] / Double(m) - mu * mu, 0)
                mean[ch] = Float(mu)
                invStd[ch] = Float(1 / (varB + Double(eps)).squareRoot())
                runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * Float(mu)
                runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * Float(varB * Double(m) / Double(m - 1))
            }
        } else {
            for ch in 0..<c {
                mean[ch] = runningMean[ch]
                invStd[ch] = 1 / (runningVar[ch] + eps).squareRoot()
            }
        }
        return normalize(x, gamma: gamma, beta: beta, groups: c, mean: mean, invStd: invStd,
                         batchStats: training, relu: relu, runs: NormRuns(groupStride: hw, count: n, len: hw, runStride: c * hw),
                         channelOf: { $0 })
    }

    /// Instance normalisation over [N, C, H, W]: statistics per (sample, channel) over H·W, in
    /// training and evaluation alike (no running statistics, PyTorch's default). `relu`: the ReLU
    /// that follows, in the same pass (as `batchNorm`'s).
    public func instanceNorm(_ x: Var, gamma: Var?, beta: Var?, eps: Float = 1e-5, relu: Bool = false) throws -> Var {
        guard x.shape.count == 4 else { throw SparseWireError.shape("instance_norm: input must be [N, C, H, W], got \(x.shape)") }
        let n = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3]
        if let gamma, gamma.shape != [c] { throw SparseWireError.shape("instance_norm: weight shape \(gamma.shape) should be [\(c)]") }
        if let beta, beta.shape != [c] { throw SparseWireError.shape("instance_norm: bias shape \(beta.shape) should be [\(c)]") }
        guard hw >= 2 else { throw SparseWireError.shape("instance_norm: needs more than one value per plane, got \(x.shape)") }
        let xp = x.value.data
        var mean = [Float](repeating: 0, count: n * c), invStd = [Float](repeating: 0, count: n * c)
        mean.withUnsafeMutableBufferPointer { mp in invStd.withUnsafeMutableBufferPointer { ip in
            let mp = mp.baseAddress!, ip = ip.baseAddress!
            Parallel.forEachRange(n * c, workers: Parallel.workers(for: x.value.count / 16384 + 1)) { _, p0, p1 in
                for pl in p0..<p1 {
                    var s: Double = 0, ss: Double = 0
                    swk_sum_dot(xp + pl * hw, xp + pl * hw, 1, hw, 0, &s, &ss)
                    let mu = s / Double(hw)
                    mp[pl] = Float(mu)
                    ip[pl] = Float(1 / (max(ss / Double(hw) - mu * mu, 0) + Double(eps)).squareRoot())
                }
            }
        } }
        return normalize(x, gamma: gamma, beta: beta, groups: n * c, mean: mean, invStd: invStd,
                         batchStats: true, relu: relu, runs: NormRuns(groupStride: hw, count: 1, len: hw, runStride: 0), channelOf: { $0 % c })
    }

    /// Shared forward/backward. A group's values are the runs `runs` describes; each group is one
    /// call of the C kernels (`swk_norm_*`), the groups over the threads. `relu`: the output is
    /// max(·, 0) and the gradient counts where it is positive. Only `x` is kept for the backward
    /// pass (the tape holds it anyway): x̂ and the ReLU's mask are recomputed from it.
    private func normalize(_ x: Var, gamma: Var?, beta: Var?, groups: Int, mean: [Float], invStd: [Float],
                           batchStats: Bool, relu: Bool, runs: NormRuns,
                           channelOf: @escaping (Int) -> Int) -> Var {
        let out = Tensor(uninitialized: x.shape)
        let xp = x.value.data, op = out.data
        let gp = gamma?.value.data, bp = beta?.value.data
        // The group's affine map as the kernels take it (γ, β read at call time: the same values
        // in both passes, the optimizer steps only after backward).
        func affine(_ gi: Int) -> swk_norm_affine {
            let ch = channelOf(gi)
            return swk_norm_affine(mu: mean[gi], inv: invStd[gi], ga: gp?[ch] ?? 1, be: bp?[ch] ?? 0, relu: relu ? 1 : 0)
        }
        let workers = Parallel.workers(for: x.value.count / 16384 + 1)
        Parallel.forEachRange(groups, workers: min(workers, groups)) { _, g0, g1 in
            for gi in g0..<g1 {
                var p = affine(gi)
                let at = runs.start(gi)
                swk_norm_fwd(xp + at, runs.count, runs.len, runs.runStride, &p, op + at)
            }
        }
        var inputs = [x]
        if let gamma { inputs.append(gamma) }
        if let beta { inputs.append(beta) }
        return node(out, inputs) { g in
            let dyp = g.data
            let dgamma = (gamma?.requiresGrad ?? false) ? Tensor(shape: gamma!.shape) : nil
            let dbeta = (beta?.requiresGrad ?? false) ? Tensor(shape: beta!.shape) : nil
            let dx = x.requiresGrad ? Tensor(uninitialized: x.shape) : nil
            let dxp: UnsafeMutablePointer<Float>? = dx?.data
            // Per group Σdy and Σdy·x̂ (written by the group's worker, summed per channel below).
            let sums = UnsafeMutablePointer<Double>.allocate(capacity: 2 * groups)
            defer { sums.deallocate() }
            sums.initialize(repeating: 0, count: 2 * groups)
            Parallel.forEachRange(groups, workers: min(workers, groups)) { _, g0, g1 in
                for gi in g0..<g1 {
                    var p = affine(gi)
                    let at = runs.start(gi), count = runs.count * runs.len
                    swk_norm_bwd_sums(dyp + at, xp + at, runs.count, runs.len, runs.runStride, &p, sums + 2 * gi, sums + 2 * gi + 1)
                    guard let dxp else { continue }
                    // Batch statistics: dx = γ·inv/m · (m·dy − Σdy − x̂·Σ(dy·x̂)); running ones: γ·inv·dy.
                    let mInv = 1 / Float(count)
                    let a = batchStats ? Float(sums[2 * gi]) * mInv : 0, bb = batchStats ? Float(sums[2 * gi + 1]) * mInv : 0
                    swk_norm_bwd(dyp + at, xp + at, runs.count, runs.len, runs.runStride, &p, p.ga * p.inv, a, bb, dxp + at)
                }
            }
            for gi in 0..<groups {
                let ch = channelOf(gi)
                if let dgamma { dgamma.data[ch] += Float(sums[2 * gi + 1]) }
                if let dbeta { dbeta.data[ch] += Float(sums[2 * gi]) }
            }
            if let dx { x.accumulate(dx) }
            if let dgamma { gamma!.accumulate(dgamma) }
            if let dbeta { beta!.accumulate(dbeta) }
        }
    }
}
