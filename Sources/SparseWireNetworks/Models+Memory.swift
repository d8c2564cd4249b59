import Foundation
import SparseWireTensor

/// How much memory training a network of a `ModelSpec` needs, estimated from the spec alone
/// (nothing is allocated), so absurd sizes are refused before the network is built.
public struct MemoryEstimate: Sendable, Equatable {
    /// Parameters (weights, biases, norm scales), in floats.
    public var parameters: Double
    /// Activations kept per example between forward and backward, in floats.
    public var activationsPerExample: Double
    /// Other floats the build allocates once (graph edges, adjacency bookkeeping).
    public var other: Double
    /// The keys and values whose size this is, for error messages (e.g. "model.hidden [300, 100]").
    public var sizeKeys: String

    /// Bytes of a training step at `batchSize`: each parameter with its gradient, mask, scores
    /// and their gradient, and two optimizer slots (7 floats); each activation with its gradient
    /// and a workspace (3 floats); Float32 throughout.
    public func bytes(batchSize: Int) -> Double {
        parameterBytes + activationBytes(batchSize: batchSize) + 4 * other
    }

    /// The parameters' share of `bytes`: 7 Float32 per parameter.
    var parameterBytes: Double { 28 * parameters }

    /// The activations' share of `bytes`: 3 Float32 per activation per example.
    func activationBytes(batchSize: Int) -> Double { 12 * Double(max(batchSize, 1)) * activationsPerExample }

    /// Throws `.config` naming the size keys (and `batch_size` when activations dominate) when a
    /// step at `batchSize` would exceed `limit` bytes.
    public func check(batchSize: Int, limit: Double) throws {
        let what = activationBytes(batchSize: batchSize) > parameterBytes ? "\(sizeKeys) at batch_size \(batchSize)" : sizeKeys
        try MemoryBudget.check(bytes(batchSize: batchSize), limit: limit, what: what,
                               detail: String(format: "%.3g parameters, %.3g activation floats per example", parameters, activationsPerExample))
    }
}

extension Models {
    /// The memory estimate of the network `spec` names for inputs of geometry `input`: counts
    /// from the same formulas the builders use (conv: C_in·C_out·k² weights; activations: the
    /// output planes of every layer). Errors: `.config` for an unknown model name.
    public static func estimate(_ spec: ModelSpec, input: InputSpec) throws -> MemoryEstimate {
        let h = Double(input.height), w = Double(input.width), classes = Double(input.classes)
        switch spec.name {
        case "mlp":
            var p = 0.0, a = Double(input.features), width = Double(input.features)
            for n in spec.hidden.map(Double.init) { p += width * n + 3 * n; a += 3 * n; width = n }
            p += width * classes + classes
            return MemoryEstimate(parameters: p, activationsPerExample: a + classes, other: 0, sizeKeys: "model.hidden \(spec.hidden)")
        case let name where name.hasPrefix("conv"):
            let depth = Int(name.dropFirst(4)) ?? 0
            func scaled(_ c: Double) -> Double { max(1, (c * spec.width).rounded()) }
            var p = 0.0, a = Double(input.features), ch = Double(input.channels), hh = h, ww = w
            for block in 0..<max(depth / 2, 0) {
                let out = scaled(Double(64 << min(block, 20)))
                for _ in 0..<2 { p += ch * out * 9 + 3 * out; a += 3 * out * hh * ww; ch = out }
                hh = (hh / 2).rounded(.down); ww = (ww / 2).rounded(.down)
            }
            var feat = ch * hh * ww
            for _ in 0..<2 { let out = scaled(256); p += feat * out + 3 * out; a += 3 * out; feat = out }
            p += feat * classes + classes
            return MemoryEstimate(parameters: p, activationsPerExample: a + classes, other: 0, sizeKeys: "model.width \(spec.width)")
        case "mobilenetv1":
            func scaled(_ c: Int) -> Double { max(1, (Double(c) * spec.width).rounded()) }
            var ch = scaled(32), res = h * w
            var p = Double(input.channels) * ch * 9 + 2 * ch, a = Double(input.features) + 3 * ch * res
            for block in mobileNetBlocks {
                let out = scaled(block.channels)
                if block.stride == 2 { res = (res / 4).rounded(.up) }
                p += ch * 9 + 2 * ch + ch * out + 2 * out
                a += 3 * ch * res + 3 * out * res
                ch = out
            }
            p += ch * classes + classes
            return MemoryEstimate(parameters: p, activationsPerExample: a + ch + classes, other: 0, sizeKeys: "model.width \(spec.width)")
        case let name where name.hasPrefix("resnet"):
            // Basic blocks: two 3×3 convs + norms each (plus a 1×1 projection per stage change);
            // activations: about 8 planes per block at its resolution.
            let depth = Int(name.dropFirst(6)) ?? 20
            let stages: [(Double, Int)] = depth == 18 ? [(64, 2), (128, 2), (256, 2), (512, 2)] : [16, 32, 64].map { ($0, max((depth - 2) / 6, 1)) }
            func scaled(_ c: Double) -> Double { max(1, (c * spec.width).rounded()) }
            var ch = scaled(stages[0].0), res = h * w
            var p = Double(input.channels) * ch * 9 + 2 * ch, a = Double(input.features) + 3 * ch * res
            for (s, (c, blocks)) in stages.enumerated() {
                let out = scaled(c)
                if s > 0 { res = (res / 4).rounded(.up); p += ch * out + 2 * out }
                p += ch * out * 9 + out * out * 9 + 4 * out + Double(blocks - 1) * (2 * out * out * 9 + 4 * out)
                a += Double(blocks) * 8 * out * res
                ch = out
            }
            p += ch * classes + classes
            return MemoryEstimate(parameters: p, activationsPerExample: a + ch + classes, other: 0, sizeKeys: "model.width \(spec.width)")
        case "mobilenetv1-dnw":
            // Per stage: a norm and a depthwise 3×3 per source, the graph weights A_j; activations:
            // about 4 planes per source plus each group's concatenated input and raw sum.
            func scaled(_ c: Int) -> Double { max(1, (Double(c) * spec.width).rounded()) }
            var ch = scaled(32), res = h * w
            var p = Double(input.channels) * ch * 9, a = Double(input.features) + ch * res
            for st in mobileNetDNWStages {
                let out = scaled(st.outputs), b = Double(st.blocks)
                if st.stride == 2 { res = (res / 4).rounded(.up) }
                let sources = ch + (b - 1) * out, graphIn = b * ch + out * b * (b - 1) / 2
                p += 11 * sources + out * graphIn
                a += res * (4 * sources + graphIn + b * out)
                ch = out
            }
            p += 2 * ch + ch * classes + classes
            return MemoryEstimate(parameters: p, activationsPerExample: a + ch + classes, other: 0,
                                  sizeKeys: "model.width \(spec.width)")
        case "wrn":
            // Pre-activation blocks: two 3×3 convs + two norms each (plus a 1×1 projection where
            // the shape changes); activations: about 8 planes per block at its resolution.
            guard isWideResNetDepth(spec.depth) else { return MemoryEstimate(parameters: 0, activationsPerExample: 0, other: 0, sizeKeys: "") }
            let blocks = Double((spec.depth - 4) / 6)
            func scaled(_ c: Double) -> Double { max(1, (c * spec.width).rounded()) }
            var ch = 16.0, res = h * w
            var p = Double(input.channels) * ch * 9, a = Double(input.features) + ch * res
            for (s, c) in [16.0, 32, 64].enumerated() {
                let out = scaled(c)
                if s > 0 { res = (res / 4).rounded(.up) }
                if s > 0 || ch != out { p += ch * out }
                p += 2 * ch + ch * out * 9 + 2 * out + out * out * 9 + (blocks - 1) * (2 * out * out * 9 + 4 * out)
                a += blocks * 8 * out * res
                ch = out
            }
            p += 2 * ch + ch * classes + classes
            return MemoryEstimate(parameters: p, activationsPerExample: a + ch + classes, other: 0,
                                  sizeKeys: "model.depth \(spec.depth), model.width \(spec.width)")
        case "randwire":
            let r = spec.randWire, c = Double(r.channels)
            let n: Double, edges: Double
            switch r.generator {
            case let .er(gn, gp): n = Double(gn); edges = gp * n * (n - 1) / 2
            case let .ba(gn, m): n = Double(gn); edges = Double(m) * (n - Double(m))
            case let .ws(gn, k, _): n = Double(gn); edges = n * Double(k) / 2
            }
            var p = Double(input.channels) * (c / 2) * 9 + (c / 2) * c * 9 + 3 * c
            var a = (c / 2) * h * w * 3 + c * (h / 2) * (w / 2) * 3
            var ch = c, res = (h / 2) * (w / 2)
            for s in 0..<max(r.stages, 0) {
                let out = c * pow(2, Double(s))
                res /= 4
                // Every node: depthwise 3×3 and pointwise 1×1 over at most `out` inputs (input-fed
                // nodes read the previous stage's `ch` ≤ out), batch norm; one weight per edge.
                p += n * (out * 9 + out * out + 2 * out) + edges
                a += n * out * res * 4
                ch = out
            }
            let head = Double(r.head)
            p += ch * head + 2 * head + head * classes + classes
            a += head * res * 3 + head
            let keys = "model.channels \(r.channels), model.stages \(r.stages), graph.n \(Int(n)), model.head \(r.head)"
            return MemoryEstimate(parameters: p, activationsPerExample: a, other: Double(r.stages) * edges * 8, sizeKeys: keys)
        case "dnw":
            let d = spec.dnw, blocks = d.blocks.map(Double.init), nodes = blocks.reduce(0, +)
            var adjacency = 0.0
            if d.setting == .staticGraph {
                var before = blocks.first ?? 0
                for b in blocks.dropFirst() { adjacency += b * before; before += b }
            } else {
                adjacency = nodes * nodes
            }
            let res = (h / 4).rounded(.up) * (w / 4).rounded(.up)
            let passes: Double = d.setting == .staticGraph ? 1 : Double(d.steps) * (d.setting == .continuous ? 4 : 1)
            // Stem: conv 3×3 to 16, BN, depthwise 3×3, pointwise to blocks[0], BN; per node a
            // depthwise 3×3 and a norm; the readout's linear layer with bias.
            let stem = Double(input.channels) * 16 * 9 + 32 + 16 * 9 + 18 * (blocks.first ?? 0)
            let p = adjacency + nodes * 11 + stem + Double(d.readout) * classes + classes
            let a = 16 * h * w + nodes * res * 3 * passes + classes
            return MemoryEstimate(parameters: p, activationsPerExample: a, other: 0,
                                  sizeKeys: "model.blocks \(d.blocks), model.steps \(d.steps)")
        case let other:
            throw SparseWireError.config("unknown model '\(other)'; known: \(names.joined(separator: ", "))")
        }
    }
}
