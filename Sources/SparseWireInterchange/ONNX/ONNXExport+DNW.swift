import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

extension ONNXEmitter {
    /// A DNW channel graph as the engine evaluates it (`DNWGraphModule.forward`):
    /// - static: block 0's state is its slice of the input; block i's node op InstanceNorm (its
    ///   slice of γ, β) → ReLU → depthwise 3×3 (its filters) runs in turn, and the concatenation
    ///   of the transformed blocks goes through Aᵢ (a 1×1 conv, mask baked) to the next state;
    ///   the output concatenates the states;
    /// - discrete: T steps of z ← field(z) = InstanceNorm(A · dw(ReLU(z))), unrolled;
    /// - continuous: T classical Runge–Kutta steps of the same field, unrolled.
    func dnwGraph(_ g: DNWGraphModule, _ x: String) throws -> String {
        let spec = g.spec
        let gamma = g.normWeight.value, beta = g.normBias.value
        func sub(_ t: Tensor, _ r: Range<Int>) -> [Float] { r.map { t[$0] } }
        func instanceNorm(_ z: String, _ r: Range<Int>, _ name: String) -> String {
            graph.node("InstanceNormalization", [z, graph.floats("\(name).gamma", sub(gamma, r), shape: [r.count]),
                                                 graph.floats("\(name).beta", sub(beta, r), shape: [r.count])],
                       name: name, [.float("epsilon", 1e-5)])
        }
        let k = g.depthwise.weight.shape[2]
        func filters(_ r: Range<Int>, _ name: String) -> String {
            let w = g.depthwise.weight.value, per = k * k
            return graph.floats("\(name).weight", r.flatMap { c in (0..<per).map { w[c * per + $0] } }, shape: [r.count, 1, k, k])
        }
        func depthwise(_ z: String, _ r: Range<Int>, _ name: String, filters f: String? = nil) -> String {
            conv(z, weight: f ?? filters(r, name), bias: nil, kernel: k, stride: 1, padding: 1, groups: r.count, name: name)
        }
        switch spec.setting {
        case .staticGraph:
            var z = sliceChannels(x, 0, spec.blocks[0])
            var states = [z], transformed: [String] = []
            var start = 0
            for i in 0..<(spec.blocks.count - 1) {
                let r = start..<(start + spec.blocks[i])
                let normed = instanceNorm(z, r, "graph.block\(i).in")
                transformed.append(depthwise(graph.node("Relu", [normed], name: "graph.block\(i).relu"), r, "graph.block\(i).dw"))
                start += spec.blocks[i]
                let joined = transformed.count == 1 ? transformed[0] : graph.node("Concat", transformed, name: "graph.block\(i).cat", [.int("axis", 1)])
                z = conv(joined, weight: weight(g.adjacency[i]), bias: nil, kernel: 1, stride: 1, padding: 0, name: "graph.block\(i + 1).a")
                states.append(z)
            }
            return graph.node("Concat", states, name: "graph.states", [.int("axis", 1)])
        case .discrete, .continuous:
            let all = 0..<spec.nodes
            let a = weight(g.adjacency[0]), dw = filters(all, "graph.dw")  // shared by every unrolled step
            var n = 0
            func field(_ z: String) -> String {
                n += 1
                let h = depthwise(graph.node("Relu", [z], name: "graph.f\(n).relu"), all, "graph.f\(n).dw", filters: dw)
                let m = conv(h, weight: a, bias: nil, kernel: 1, stride: 1, padding: 0, name: "graph.f\(n).a")
                return instanceNorm(m, all, "graph.f\(n).in")
            }
            func add(_ p: String, _ q: String) -> String { graph.node("Add", [p, q], name: "graph.add") }
            var z = x
            for _ in 0..<spec.steps {
                if spec.setting == .discrete { z = field(z); continue }
                let h = 1 / Float(spec.steps)
                let k1 = field(z)
                let k2 = field(add(z, scaled(k1, h / 2, name: "graph.k1h")))
                let k3 = field(add(z, scaled(k2, h / 2, name: "graph.k2h")))
                let k4 = field(add(z, scaled(k3, h, name: "graph.k3h")))
                let sum = add(add(k1, scaled(k2, 2, name: "graph.2k2")), add(scaled(k3, 2, name: "graph.2k3"), k4))
                z = add(z, scaled(sum, h / 6, name: "graph.step"))
            }
            return z
        }
    }

    /// A MobileNetV1-DNW stage as `DNWMobileStage.forward` runs it: each source is
    /// BatchNormalization → Relu → depthwise Conv (groups = channels; the input's with the
    /// stage's stride), and group j is a 1×1 Conv (mask baked) over the Concat of sources 0…j.
    func dnwMobileStage(_ st: DNWMobileStage, _ x: String) throws -> String {
        func source(_ i: Int, _ z: String) throws -> String {
            let normed = try st.norms[i].map { try emit($0, z) } ?? z
            return try emit(st.depthwise[i], graph.node("Relu", [normed], name: "stage.relu"))
        }
        var sources = [try source(0, x)]
        var z = sources[0]
        for j in 0..<st.blocks {
            let joined = sources.count == 1 ? sources[0] : graph.node("Concat", sources, name: "stage.cat", [.int("axis", 1)])
            z = try emit(st.graph[j], joined)
            if j + 1 < st.blocks { sources.append(try source(j + 1, z)) }
        }
        return z
    }
}
