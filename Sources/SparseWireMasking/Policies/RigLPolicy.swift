import CKernels
import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

/// RigL (Evci et al. 2020) and its siblings SET (random growth) and SNFS (momentum growth).
///
/// Masks start random at each layer's density (ERK by default) and the weights outside them are
/// zeroed. Every ΔT steps while t < T_end: n = round(f(t)·nnz) with
/// f(t) = α/2·(1 + cos(π·t/T_end)); the n smallest |w| among the active weights are dropped and
/// the n largest growth scores among the inactive ones are grown: |dL/dŵ| (rigl), uniform noise
/// (set) or |EMA of dL/dŵ| with decay 0.9 (snfs). Grown weights start at 0 with their optimizer
/// state reset, and the optimizer update is skipped on a mask-update step. Between updates only
/// the active weights train.
///
/// Options: `alpha` (0.3), `delta_t` (100), `end_fraction` (T_end / total steps, 0.75),
/// `ema_decay` (snfs, 0.9).
package final class RigLPolicy: MaskPolicy {
    package enum Growth: String { case gradient = "rigl", random = "set", momentum = "snfs" }
    package let growth: Growth
    package let alpha: Double
    package let deltaT: Int
    package let endFraction: Double
    package let emaDecay: Float

    package init(growth: Growth, alpha: Double, deltaT: Int, endFraction: Double, emaDecay: Float) {
        self.growth = growth; self.alpha = alpha; self.deltaT = deltaT; self.endFraction = endFraction; self.emaDecay = emaDecay
    }

    package static func make(_ growth: Growth, _ o: PolicyOptions) throws -> RigLPolicy {
        RigLPolicy(growth: growth, alpha: try o.double("alpha", default: 0.3, range: 0...1),
                   deltaT: try o.int("delta_t", default: 100, min: 1),
                   endFraction: try o.double("end_fraction", default: 0.75, range: 0...1),
                   emaDecay: Float(growth == .momentum ? try o.double("ema_decay", default: 0.9, range: 0...1) : 0.9))
    }

    package var routing: GradientRouting { .maskedWeights }
    /// Drops rank active weights only; grown weights are written 0.
    package var inertDeadWeights: Bool { true }

    /// The last step (exclusive) at which the topology may change.
    package func endStep(_ s: MaskStep) -> Int { Int((endFraction * Double(s.totalSteps)).rounded()) }

    package func isUpdateStep(_ s: MaskStep) -> Bool {
        s.training && s.step > 0 && s.step % deltaT == 0 && s.step < endStep(s)
    }

    package func dropFraction(step t: Int, endStep: Int) -> Double {
        RigLSchedule.dropFraction(alpha: alpha, step: t, endStep: endStep)
    }

    package func activeHooks(at step: MaskStep) -> PolicyHooks {
        growth == .momentum || isUpdateStep(step) ? .afterBackward : []
    }

    package func needsDenseGradient(at step: MaskStep) -> Bool {
        switch growth {
        case .gradient: return isUpdateStep(step)
        case .momentum: return step.training
        case .random: return false
        }
    }

    package func prepare(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws {
        for l in layers {
            let r = Tensor(uninitialized: l.parameter.shape)
            for i in 0..<r.count { r[i] = ctx.rng.uniform() }
            l.structure.select(r.data, shape: l.parameter.shape, keep: l.keepCount, into: l.mask.data, order: .value)
            let w = l.weight.data, m = l.mask.data
            for i in 0..<l.count where m[i] == 0 { w[i] = 0 }
        }
    }

    package func afterBackward(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws -> Bool {
        if growth == .momentum {
            for l in layers {
                guard let g = l.denseGradient else { continue }
                let ema = l.state["grad_ema"] ?? Tensor(shape: l.parameter.shape)
                l.state["grad_ema"] = ema
                let e = ema.data, gp = g.data, d = emaDecay
                for i in 0..<l.count { e[i] = d * e[i] + (1 - d) * gp[i] }
            }
        }
        guard isUpdateStep(step) else { return false }
        let f = dropFraction(step: step.step, endStep: endStep(step))
        for l in layers { try update(l, fraction: f, ctx) }
        return true
    }

    private func update(_ l: MaskedLayer, fraction f: Double, _ ctx: PolicyContext) throws {
        switch l.structure {
        case .unstructured: try update(l, fraction: f, ctx, segment: 0..<l.count)
        case let .nm(_, m):  // rewire inside each group of m: it keeps its n
            for g in stride(from: 0, to: l.count, by: m) { try update(l, fraction: f, ctx, segment: g..<(g + m)) }
        case .fanin:         // rewire inside each row: it keeps its count
            let cols = MaskStructure.matrix(l.parameter.shape).cols
            for r in stride(from: 0, to: l.count, by: cols) { try update(l, fraction: f, ctx, segment: r..<(r + cols)) }
        case .block, .channel:
            let (r, c) = l.structure.tile(l.parameter.shape)!
            try updateTiles(l, fraction: f, ctx, tileRows: r, tileCols: c)
        }
    }

    /// The growth score of weight i (|gradient|, |EMA of the gradient| or a uniform draw).
    private func growthScores(_ l: MaskedLayer, _ ctx: PolicyContext) throws -> (Int) -> Float {
        switch growth {
        case .gradient:
            guard let g = l.denseGradient else {
                throw SparseWireError(.state, "rigl: no dense gradient for \(l.name) at a mask-update step")
            }
            let gp = g.data
            return { Swift.abs(gp[$0]) }
        case .momentum:
            let e = l.state["grad_ema"]?.data
            return { i in e.map { Swift.abs($0[i]) } ?? 0 }
        case .random:
            return { _ in ctx.rng.uniform() }
        }
    }

    /// Block and channel structures: whole tiles are dropped (smallest ‖w‖² among the active)
    /// and grown (largest summed growth score among the inactive); grown tiles start at 0 with
    /// their optimizer state reset.
    private func updateTiles(_ l: MaskedLayer, fraction f: Double, _ ctx: PolicyContext, tileRows r: Int, tileCols c: Int) throws {
        let (rows, cols) = MaskStructure.matrix(l.parameter.shape)
        let tileColsN = cols / c, tiles = (rows / r) * tileColsN
        let m = l.mask.data, w = l.weight.data
        func indices(_ t: Int) -> [Int] {
            let r0 = (t / tileColsN) * r, c0 = (t % tileColsN) * c
            return (r0..<(r0 + r)).flatMap { i in (c0..<(c0 + c)).map { i * cols + $0 } }
        }
        let active = (0..<tiles).filter { m[indices($0)[0]] != 0 }
        let k = Int((f * Double(active.count)).rounded())
        guard k > 0 else { return }
        let score = try growthScores(l, ctx)
        let crit = Tensor(uninitialized: [tiles]), kept = Tensor(uninitialized: [tiles])
        for t in 0..<tiles { crit[t] = m[indices(t)[0]] != 0 ? indices(t).reduce(Float(0)) { $0 + w[$1] * w[$1] } : -Float.infinity }
        TopK.mask(crit.data, count: tiles, k: active.count - k, into: kept.data)
        for t in 0..<tiles { crit[t] = kept[t] != 0 ? -Float.infinity : indices(t).reduce(Float(0)) { $0 + score($1) } }
        let grownTiles = TopK.indices(crit.data, count: tiles, k: k)
        var grown: [Int] = []
        for t in 0..<tiles { for i in indices(t) { m[i] = kept[t] } }
        for t in grownTiles { for i in indices(t) { m[i] = 1; w[i] = 0; grown.append(i) } }
        ctx.optimizer?.resetState(of: l.parameter, indices: grown)
    }

    /// Drop and grow inside `segment` (the whole layer, an N:M group or a row): it keeps its
    /// number of active weights. The k = round(f · active) smallest |w| among the active go, the
    /// k best growth scores among the rest come in at 0 with their optimizer state reset.
    private func update(_ l: MaskedLayer, fraction f: Double, _ ctx: PolicyContext, segment: Range<Int>) throws {
        let m = l.mask.data, w = l.weight.data
        let n = segment.count, base = segment.lowerBound
        var activeCount = 0
        for j in 0..<n where m[base + j] != 0 { activeCount += 1 }
        let k = Int((f * Double(activeCount)).rounded())
        guard k > 0 else { return }
        let crit = UnsafeMutablePointer<Float>.allocate(capacity: n), kept = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { crit.deallocate(); kept.deallocate() }
        for j in 0..<n { crit[j] = m[base + j] != 0 ? Swift.abs(w[base + j]) : -Float.infinity }
        TopK.mask(crit, count: n, k: activeCount - k, into: kept)
        try fillGrowthScores(l, ctx, base: base, count: n, kept: kept, into: crit)
        let grown = TopK.indices(crit, count: n, k: k).map { base + $0 }
        for j in 0..<n { m[base + j] = kept[j] }
        for i in grown { m[i] = 1; w[i] = 0 }
        ctx.optimizer?.resetState(of: l.parameter, indices: grown)
    }

    /// crit[j] = the growth score of weight base + j, or −∞ where kept[j] ≠ 0 (not a candidate):
    /// the same values as `growthScores`, without a closure call per weight.
    private func fillGrowthScores(_ l: MaskedLayer, _ ctx: PolicyContext, base: Int, count n: Int,
                                  kept: UnsafeMutablePointer<Float>, into crit: UnsafeMutablePointer<Float>) throws {
        switch growth {
        case .gradient, .momentum:
            let src: UnsafeMutablePointer<Float>? = growth == .gradient ? l.denseGradient?.data : l.state["grad_ema"]?.data
            if growth == .gradient, src == nil {
                throw SparseWireError(.state, "rigl: no dense gradient for \(l.name) at a mask-update step")
            }
            guard let g = src else {  // snfs before its first EMA: every candidate scores 0
                for j in 0..<n { crit[j] = kept[j] != 0 ? -Float.infinity : 0 }
                return
            }
            for j in 0..<n { crit[j] = kept[j] != 0 ? -Float.infinity : Swift.abs(g[base + j]) }
        case .random:  // one draw per candidate, in index order (as the closure form draws)
            for j in 0..<n { crit[j] = kept[j] != 0 ? -Float.infinity : ctx.rng.uniform() }
        }
    }
}

/// RigL's drop-fraction schedule.
public enum RigLSchedule {
    /// f(t) = α/2 · (1 + cos(π t / T_end))
    public static func dropFraction(alpha: Double, step t: Int, endStep: Int) -> Double {
        alpha / 2 * (1 + cos(Double.pi * Double(t) / Double(max(endStep, 1))))
    }
}

/// Lottery ticket, one shot (Frankle & Carbin): train dense until `prune_epoch` (default: half
/// the epochs), keep the top-k weights by |w| (per layer or global), rewind the masked layers'
/// weights to their initial values, reset their optimizer state, and train the sparse net on.
package final class LotteryOneShotPolicy: MaskPolicy {
    package let pruneEpoch: Int?
    private(set) var pruned = false
    package init(pruneEpoch: Int?) { self.pruneEpoch = pruneEpoch }
    package var routing: GradientRouting { .maskedWeights }
    /// The one pruning ranks a dense mask and rewinds every weight; nothing regrows after it.
    package var inertDeadWeights: Bool { true }

    package func prepare(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws {
        for l in layers { l.state["initial"] = l.weight.copy() }
    }

    /// Whether the prune-and-rewind has happened (one byte; everything else is in the layers).
    package var savesState: Bool { true }
    package func saveState() throws -> [UInt8]? { [pruned ? 1 : 0] }

    package func loadState(_ bytes: [UInt8]) throws {
        guard bytes.count == 1, bytes[0] <= 1 else {
            throw SparseWireError(.data, "lottery-one-shot: policy state must be one byte 0 or 1, got \(bytes.count) bytes")
        }
        pruned = bytes[0] == 1
    }

    /// Only `updateMasks`, and only from the pruning step until it has pruned (sparse training
    /// then keeps its pattern without looking at the masks again).
    package func activeHooks(at step: MaskStep) -> PolicyHooks {
        !pruned && step.training && step.step >= pruneStep(step) ? .updateMasks : []
    }

    package func pruneStep(_ s: MaskStep) -> Int {
        let epochs = s.totalSteps / max(s.stepsPerEpoch, 1)
        return (pruneEpoch ?? max(1, epochs / 2)) * s.stepsPerEpoch
    }

    package func updateMasks(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws {
        guard !pruned, step.training, step.step >= pruneStep(step) else { return }
        ctx.selectTopK(layers, order: .magnitude) { $0.weight }
        for l in layers {
            l.weight.data.update(from: l.state["initial"]!.data, count: l.count)
            ctx.optimizer?.resetState(of: l.parameter, indices: Array(0..<l.count))
        }
        pruned = true
    }
}

/// L1 + anneal (DNW's baseline; no reference code, designed from the paper's description):
/// an L1 penalty λ·sign(w) is added to the gradient of the masked weights, and the kept count is
/// annealed linearly from all weights to the target over the first `anneal_fraction` of
/// training — a magnitude threshold that rises until exactly k weights per layer remain.
package final class L1AnnealPolicy: MaskPolicy {
    package let l1: Float
    package let annealFraction: Double
    package init(l1: Float, annealFraction: Double) { self.l1 = l1; self.annealFraction = annealFraction }
    package var routing: GradientRouting { .maskedWeights }

    package func keptCount(_ l: MaskedLayer, _ s: MaskStep) -> Int {
        let end = max(1, Int((annealFraction * Double(s.totalSteps)).rounded()))
        let t = min(1, Double(s.step) / Double(end))
        return Int((Double(l.count) - Double(l.count - l.keepCount) * t).rounded())
    }

    package func updateMasks(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws {
        for l in layers {
            TopK.mask(l.weight.data, count: l.count, k: step.training ? keptCount(l, step) : l.keepCount, into: l.mask.data,
                      order: .magnitude, workspace: ctx.topKWorkspace)
        }
    }

    package func evaluationMasks(_ layers: [MaskedLayer], _ ctx: PolicyContext) throws {
        // Evaluate with the current training-time count (the target once annealing is over).
    }

    package func afterBackward(_ layers: [MaskedLayer], _ step: MaskStep, _ ctx: PolicyContext) throws -> Bool {
        for l in layers {
            guard let g = l.parameter.grad else { continue }
            let w = l.weight.data, gp = g.data, l1 = l1
            Parallel.forEachChunk(l.count) { lo, hi in swk_add_l1(gp + lo, w + lo, hi - lo, l1) }
        }
        return false
    }
}
