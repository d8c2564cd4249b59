import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

/// One exported weight: its name, size and how many of its entries are exact zeros in the file.
public struct ONNXLayerReport: Sendable, Equatable {
    /// The parameter name, e.g. `fc1.weight`.
    public let name: String
    /// Its number of entries.
    public let count: Int
    /// Entries that are exactly 0 in the ONNX initializer (pruned weights, and any weight at 0).
    public let zeros: Int
    /// The kept fraction 1 − zeros / count.
    public var density: Double { 1 - Double(zeros) / Double(max(count, 1)) }
}

/// ONNX export of a network in evaluation mode: each weight baked as the effective weight ŵ the
/// engine multiplies by (masks applied: pruned weights are exact zeros), batch norms as
/// BatchNormalization with their running statistics, input `input` [N, C, H, W] and output
/// `logits` [N, classes], N dynamic, opset 17.
///
/// Supported: `Sequential` chains of `Linear` (Gemm), `Conv2d` (Conv), `BatchNorm`
/// (BatchNormalization) and the built-in `Lambda`s (Relu, Flatten, MaxPool, AveragePool,
/// GlobalAveragePool + Flatten; dropout is the identity) — the MLP and Conv2–8 with or without
/// norms. Anything else is refused naming the module (RandWire and the DNW graphs: not yet).
public enum ONNXExport {
    /// The ONNX bytes of `network` for inputs of `input`'s shape; `effective(p)` is the weight
    /// to bake for parameter `p` (ŵ for masked weights). Errors: `.unsupported` naming the first
    /// module or op that has no ONNX form here.
    public static func encode(_ network: Network, input: InputSpec, effective: (Parameter) -> Tensor) throws
        -> (data: Data, report: [ONNXLayerReport]) {
        var g = ONNXGraph()
        var report: [ONNXLayerReport] = []
        func weight(_ p: Parameter) -> String {
            let t = effective(p)
            let zeros = (0..<t.count).reduce(0) { $0 + (t[$1] == 0 ? 1 : 0) }
            report.append(ONNXLayerReport(name: p.name, count: t.count, zeros: zeros))
            return g.initializer(p.name, t)
        }
        func emit(_ m: any Module, _ x: String) throws -> String {
            switch m {
            case let s as Sequential:
                var h = x
                for layer in s.layers { h = try emit(layer, h) }
                return h
            case let l as Linear:
                let inputs = [x, weight(l.weight)] + (l.bias.map { [g.initializer($0.name, $0.value)] } ?? [])
                return g.node("Gemm", inputs, name: l.weight.name.replacingOccurrences(of: ".weight", with: ""), [.int("transB", 1)])
            case let c as Conv2d:
                let k = Int64(c.weight.shape[2])
                let inputs = [x, weight(c.weight)] + (c.bias.map { [g.initializer($0.name, $0.value)] } ?? [])
                let p = Int64(c.padding), s = Int64(c.stride)
                return g.node("Conv", inputs, name: c.weight.name.replacingOccurrences(of: ".weight", with: ""),
                              [.ints("kernel_shape", [k, k]), .ints("pads", [p, p, p, p]), .ints("strides", [s, s])])
            case let b as BatchNorm:
                let ch = b.runningMean.count
                let scale = b.gamma.map { g.initializer($0.name, $0.value) } ?? g.initializer("\(b.name).weight", Tensor(shape: [ch], repeating: 1))
                let shift = b.beta.map { g.initializer($0.name, $0.value) } ?? g.initializer("\(b.name).bias", Tensor(shape: [ch]))
                let mean = g.initializer("\(b.name).running_mean", b.runningMean)
                let variance = g.initializer("\(b.name).running_var", b.runningVar)
                return g.node("BatchNormalization", [x, scale, shift, mean, variance], name: b.name, [.float("epsilon", b.eps)])
            case let f as Lambda:
                switch f.op {
                case .relu: return g.node("Relu", [x], name: "relu")
                case .flatten: return g.node("Flatten", [x], name: "flatten", [.int("axis", 1)])
                case let .maxPool(k, s):
                    return g.node("MaxPool", [x], name: "maxpool", [.ints("kernel_shape", [Int64(k), Int64(k)]), .ints("strides", [Int64(s), Int64(s)])])
                case let .avgPool(k, s):
                    return g.node("AveragePool", [x], name: "avgpool", [.ints("kernel_shape", [Int64(k), Int64(k)]), .ints("strides", [Int64(s), Int64(s)])])
                case .globalAvgPool:
                    return g.node("Flatten", [g.node("GlobalAveragePool", [x], name: "gap")], name: "flatten", [.int("axis", 1)])
                case .dropout: return x
                case .custom:
                    throw SparseWireError(.unsupported, "ONNX export of \(network.name): a custom Lambda (a closure) has no ONNX form")
                }
            default:
                throw SparseWireError(.unsupported, "ONNX export of \(network.name): module \(type(of: m)) has no ONNX form yet "
                    + "(supported: Linear, Conv2d, BatchNorm, ReLU, Flatten, pooling — the MLP and Conv2–8)")
            }
        }
        let out = try emit(network.body, "input")
        let logits = g.node("Identity", [out], name: "logits", output: "logits")
        let data = g.encoded(name: network.name, input: "input", inputDims: [input.channels, input.height, input.width],
                             output: logits, outputDims: [input.classes], producerVersion: SparseWireVersion.string)
        return (data, report)
    }
}
