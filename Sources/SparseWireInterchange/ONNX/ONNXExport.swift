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
/// Supported: `Sequential` chains of `Linear` (Gemm), `Conv2d` and `DepthwiseConv2d` (Conv),
/// `BatchNorm` (BatchNormalization), the built-in `Lambda`s (Relu, Flatten, MaxPool, AveragePool,
/// GlobalAveragePool + Flatten, Pad / Slice of channels; dropout is the identity), RandWire stages
/// and DNW channel graphs (discrete and continuous time unrolled) — every model `Models` builds.
/// Anything else (a custom closure `Lambda`) is refused naming it.
public enum ONNXExport {
    /// The ONNX bytes of `network` for inputs of `input`'s shape; `effective(p)` is the weight
    /// to bake for parameter `p` (ŵ for masked weights). Errors: `.unsupported` naming the first
    /// module or op that has no ONNX form here.
    public static func encode(_ network: Network, input: InputSpec, effective: @escaping (Parameter) -> Tensor) throws
        -> (data: Data, report: [ONNXLayerReport]) {
        let e = ONNXEmitter(network: network.name, effective: effective)
        let out = try e.emit(network.body, "input")
        let logits = e.graph.node("Identity", [out], name: "logits", output: "logits")
        let data = e.graph.encoded(name: network.name, input: "input", inputDims: [input.channels, input.height, input.width],
                                   output: logits, outputDims: [input.classes], producerVersion: SparseWireVersion.string)
        return (data, e.report)
    }
}

/// Walks a module tree and adds its nodes to one graph (`emit` returns the output's name).
final class ONNXEmitter {
    var graph = ONNXGraph()
    var report: [ONNXLayerReport] = []
    /// The channel (or feature) count of the last output, where the layers say it.
    var channels: Int?
    let network: String
    let effective: (Parameter) -> Tensor

    init(network: String, effective: @escaping (Parameter) -> Tensor) {
        self.network = network
        self.effective = effective
    }

    /// The effective weight of `p` as an initializer, counted in the report.
    func weight(_ p: Parameter) -> String {
        let t = effective(p)
        let zeros = (0..<t.count).reduce(0) { $0 + (t[$1] == 0 ? 1 : 0) }
        report.append(ONNXLayerReport(name: p.name, count: t.count, zeros: zeros))
        return graph.initializer(p.name, t)
    }

    /// A parameter as an initializer, as it is (biases, norm parameters).
    func plain(_ p: Parameter) -> String { graph.initializer(p.name, p.value) }

    func conv(_ x: String, weight w: String, bias: Parameter?, kernel k: Int, stride s: Int, padding p: Int, groups: Int = 1,
              name: String) -> String {
        let k = Int64(k), s = Int64(s), p = Int64(p)
        return graph.node("Conv", [x, w] + (bias.map { [plain($0)] } ?? []), name: name,
                          [.ints("kernel_shape", [k, k]), .ints("pads", [p, p, p, p]), .ints("strides", [s, s]), .int("group", Int64(groups))])
    }

    func emit(_ m: any Module, _ x: String) throws -> String {
        switch m {
        case let s as Sequential:
            var h = x
            for layer in s.layers { h = try emit(layer, h) }
            return h
        case let l as Linear:
            channels = l.weight.shape[0]
            let inputs = [x, weight(l.weight)] + (l.bias.map { [plain($0)] } ?? [])
            return graph.node("Gemm", inputs, name: l.weight.name.replacingOccurrences(of: ".weight", with: ""), [.int("transB", 1)])
        case let c as Conv2d:
            channels = c.weight.shape[0]
            return conv(x, weight: weight(c.weight), bias: c.bias, kernel: c.weight.shape[2], stride: c.stride, padding: c.padding,
                        name: c.weight.name.replacingOccurrences(of: ".weight", with: ""))
        case let d as DepthwiseConv2d:
            channels = d.weight.shape[0]
            return conv(x, weight: weight(d.weight), bias: d.bias, kernel: d.weight.shape[2], stride: d.stride, padding: d.padding,
                        groups: d.weight.shape[0], name: d.weight.name.replacingOccurrences(of: ".weight", with: ""))
        case let b as BatchNorm:
            let ch = b.runningMean.count
            let scale = b.gamma.map(plain) ?? graph.initializer("\(b.name).weight", Tensor(shape: [ch], repeating: 1))
            let shift = b.beta.map(plain) ?? graph.initializer("\(b.name).bias", Tensor(shape: [ch]))
            let mean = graph.initializer("\(b.name).running_mean", b.runningMean)
            let variance = graph.initializer("\(b.name).running_var", b.runningVar)
            return graph.node("BatchNormalization", [x, scale, shift, mean, variance], name: b.name, [.float("epsilon", b.eps)])
        case let f as Lambda:
            return try lambda(f, x)
        case let r as RandWireStage:
            defer { channels = r.channels }
            return try randWire(r, x)
        case let r as Residual:  // both branches end at the block's output channels
            guard let pre = r.pre else {
                let b = try emit(r.body, x)
                let s = try r.shortcut.map { try emit($0, x) } ?? x
                return graph.node("Relu", [graph.node("Add", [b, s], name: "residual.add")], name: "residual.relu")
            }
            let a = try emit(pre, x)  // pre-activation: the body and a projection read norm → ReLU of x
            let b = try emit(r.body, a)
            return graph.node("Add", [b, try r.shortcut.map { try emit($0, a) } ?? x], name: "residual.add")
        case let st as DNWMobileStage:
            defer { channels = st.outputs }
            return try dnwMobileStage(st, x)
        case let g as DNWGraphModule:
            defer { channels = g.spec.nodes }
            return try dnwGraph(g, x)
        default:
            throw SparseWireError(.unsupported, "ONNX export of \(network): module \(type(of: m)) has no ONNX form yet "
                + "(supported: Linear, Conv2d, depthwise conv, BatchNorm, ReLU, Flatten, pooling, residual blocks, RandWire stages, DNW graphs and MobileNet stages)")
        }
    }

    /// Channels lower..<upper of an NCHW tensor (Slice on axis 1).
    func sliceChannels(_ x: String, _ lower: Int, _ upper: Int) -> String {
        graph.node("Slice", [x, graph.int64s("starts", [Int64(lower)]), graph.int64s("ends", [Int64(upper)]),
                             graph.int64s("axes", [1])], name: "slice_channels")
    }

    /// A constant multiple of `x` (Mul by a one-element initializer).
    func scaled(_ x: String, _ s: Float, name: String) -> String {
        graph.node("Mul", [x, graph.floats("\(name).scale", [s], shape: [1])], name: name)
    }

    private func lambda(_ f: Lambda, _ x: String) throws -> String {
        switch f.op {
        case .relu: return graph.node("Relu", [x], name: "relu")
        case .flatten: return graph.node("Flatten", [x], name: "flatten", [.int("axis", 1)])
        case let .maxPool(k, s):
            return graph.node("MaxPool", [x], name: "maxpool", [.ints("kernel_shape", [Int64(k), Int64(k)]), .ints("strides", [Int64(s), Int64(s)])])
        case let .avgPool(k, s):
            return graph.node("AveragePool", [x], name: "avgpool", [.ints("kernel_shape", [Int64(k), Int64(k)]), .ints("strides", [Int64(s), Int64(s)])])
        case .globalAvgPool:
            return graph.node("Flatten", [graph.node("GlobalAveragePool", [x], name: "gap")], name: "flatten", [.int("axis", 1)])
        case .dropout: return x
        case let .padChannels(to: c):
            guard let have = channels else {
                throw SparseWireError(.unsupported, "ONNX export of \(network): channel padding after a layer whose channel count is unknown here")
            }
            channels = c
            if have == c { return x }
            return graph.node("Pad", [x, graph.int64s("pads", [0, 0, 0, 0, 0, Int64(c - have), 0, 0])], name: "pad_channels")
        case let .sliceChannels(lower, upper):
            channels = upper - lower
            return sliceChannels(x, lower, upper)
        case .custom:
            throw SparseWireError(.unsupported, "ONNX export of \(network): a custom Lambda (a closure) has no ONNX form")
        }
    }
}
