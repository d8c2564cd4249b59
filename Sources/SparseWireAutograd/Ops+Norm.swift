import SparseWireTensor
/// Normalises x over groups of `m` values: y = γ·(x−μ)/√(σ²+ε) + β, the shared kernel of batch and
/// instance norm. `index(g, j)` gives the flat position of the j-th member of group g.
private struct NormStats {
    package var mean: [Float]
    package var invStd: [Float]
}

extension Context {
    /// Batch normalisation over [N, C] or [N, C, H, W] (statistics per channel over N·H·W).
    ///
    /// Training uses the batch statistics (biased variance) and updates the running statistics
    /// in place with `momentum` (PyTorch convention, running variance unbiased); evaluation uses
    /// the running statistics. `gamma`/`beta` nil means non-affine.
    public func batchNorm(_ x: Var, gamma: Var?, beta: Var?, runningMean: Tensor, runningVar: Tensor,
                          momentum: Float = 0.1, eps: Float = 1e-5) throws -> Var {
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
            for ch in 0..<c {
                var s: Double = 0, ss: Double = 0
                for b in 0..<n {
                    let p = xp + (b * c + ch) * hw
                    for i in 0..<hw { let v = Double(p[i]); s += v; ss += v * v }
                }
                let mu = s / Double(m)
                let varB = max(ss / Double(m) - mu * mu, 0)
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
                         batchStats: training, members: { ch, body in
                             for b in 0..<n { body((b * c + ch) * hw, hw) }
                         }, channelOf: { $0 })
    }

    /// Instance normalisation over [N, C, H, W]: statistics per (sample, channel) over H·W, in
    /// training and evaluation alike (no running statistics, PyTorch's default).
    public func instanceNorm(_ x: Var, gamma: Var?, beta: Var?, eps: Float = 1e-5) throws -> Var {
        guard x.shape.count == 4 else { throw SparseWireError.shape("instance_norm: input must be [N, C, H, W], got \(x.shape)") }
        let n = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3]
        if let gamma, gamma.shape != [c] { throw SparseWireError.shape("instance_norm: weight shape \(gamma.shape) should be [\(c)]") }
        if let beta, beta.shape != [c] { throw SparseWireError.shape("instance_norm: bias shape \(beta.shape) should be [\(c)]") }
        guard hw >= 2 else { throw SparseWireError.shape("instance_norm: needs more than one value per plane, got \(x.shape)") }
        let xp = x.value.data
        var mean = [Float](repeating: 0, count: n * c), invStd = [Float](repeating: 0, count: n * c)
        for pl in 0..<(n * c) {
            var s: Double = 0, ss: Double = 0
            let p = xp + pl * hw
            for i in 0..<hw { let v = Double(p[i]); s += v; ss += v * v }
            let mu = s / Double(hw)
            mean[pl] = Float(mu)
            invStd[pl] = Float(1 / (max(ss / Double(hw) - mu * mu, 0) + Double(eps)).squareRoot())
        }
        return normalize(x, gamma: gamma, beta: beta, groups: n * c, mean: mean, invStd: invStd,
                         batchStats: true, members: { pl, body in body(pl * hw, hw) }, channelOf: { $0 % c })
    }

    /// Shared forward/backward. A group's members are contiguous runs given by `members`.
    private func normalize(_ x: Var, gamma: Var?, beta: Var?, groups: Int, mean: [Float], invStd: [Float],
                           batchStats: Bool,
                           members: @escaping (Int, (Int, Int) -> Void) -> Void,
                           channelOf: @escaping (Int) -> Int) -> Var {
        let out = Tensor(uninitialized: x.shape)
        let xhat = Tensor(uninitialized: x.shape)
        let xp = x.value.data, op = out.data, hp = xhat.data
        let gp = gamma?.value.data, bp = beta?.value.data
        for gi in 0..<groups {
            let mu = mean[gi], inv = invStd[gi], ch = channelOf(gi)
            let ga = gp?[ch] ?? 1, be = bp?[ch] ?? 0
            members(gi) { start, len in
                for i in start..<(start + len) {
                    let v = (xp[i] - mu) * inv
                    hp[i] = v
                    op[i] = ga * v + be
                }
            }
        }
        var inputs = [x]
        if let gamma { inputs.append(gamma) }
        if let beta { inputs.append(beta) }
        return node(out, inputs) { g in
            let hp = xhat.data  // keeps `xhat` alive with the tape
            let dyp = g.data
            let dgamma = (gamma?.requiresGrad ?? false) ? Tensor(shape: gamma!.shape) : nil
            let dbeta = (beta?.requiresGrad ?? false) ? Tensor(shape: beta!.shape) : nil
            let dx = x.requiresGrad ? Tensor(uninitialized: x.shape) : nil
            for gi in 0..<groups {
                let ch = channelOf(gi)
                let ga = gp?[ch] ?? 1, inv = invStd[gi]
                var sumDy: Double = 0, sumDyX: Double = 0, count = 0
                members(gi) { start, len in
                    for i in start..<(start + len) {
                        sumDy += Double(dyp[i]); sumDyX += Double(dyp[i] * hp[i])
                    }
                    count += len
                }
                if let dgamma { dgamma.data[ch] += Float(sumDyX) }
                if let dbeta { dbeta.data[ch] += Float(sumDy) }
                guard let dx else { continue }
                let dxp = dx.data
                if batchStats {
                    // dx = γ·inv/m · (m·dy − Σdy − x̂·Σ(dy·x̂))
                    let mInv = 1 / Float(count)
                    let a = Float(sumDy) * mInv, bb = Float(sumDyX) * mInv
                    members(gi) { start, len in
                        for i in start..<(start + len) { dxp[i] = ga * inv * (dyp[i] - a - hp[i] * bb) }
                    }
                } else {
                    members(gi) { start, len in
                        for i in start..<(start + len) { dxp[i] = ga * inv * dyp[i] }
                    }
                }
            }
            if let dx { x.accumulate(dx) }
            if let dgamma { gamma!.accumulate(dgamma) }
            if let dbeta { beta!.accumulate(dbeta) }
        }
    }
}
