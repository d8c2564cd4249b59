import Foundation
import SparseWireTensor

/// An ONNX graph under construction: nodes, initializers, one input and one output, written as
/// a `ModelProto` (IR version 8, opset 17) by `encoded()`. Field numbers are those of onnx.proto.
struct ONNXGraph {
    enum Attribute {
        case int(String, Int64)
        case ints(String, [Int64])
        case float(String, Float)
    }

    private var nodes: [ProtoWriter] = []
    private var initializers: [ProtoWriter] = []
    private var names = Set<String>()
    private var counter = 0

    /// A fresh tensor name starting with `base`.
    mutating func fresh(_ base: String) -> String {
        counter += 1
        return "\(base)_\(counter)"
    }

    /// Adds a float32 initializer `name` (raw little-endian data) and returns its name.
    @discardableResult
    mutating func initializer(_ name: String, _ t: Tensor, shape: [Int]? = nil) -> String {
        precondition(!names.contains(name), "initializer \(name) twice")
        names.insert(name)
        var w = ProtoWriter()
        for d in shape ?? t.shape { w.int(1, Int64(d)) }       // dims
        w.int(2, 1)                                               // data_type FLOAT
        w.string(8, name)                                         // name
        var raw = Data(capacity: t.count * 4)
        for i in 0..<t.count { withUnsafeBytes(of: t[i].bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
        w.bytes(9, raw)                                           // raw_data
        initializers.append(w)
        return name
    }

    /// Adds an int64 vector initializer (Slice/Pad arguments) under a fresh name from `base`.
    mutating func int64s(_ base: String, _ values: [Int64]) -> String {
        let name = fresh(base)
        names.insert(name)
        var w = ProtoWriter()
        w.int(1, Int64(values.count))                             // dims
        w.int(2, 7)                                               // data_type INT64
        w.string(8, name)
        var raw = Data(capacity: values.count * 8)
        for v in values { withUnsafeBytes(of: v.littleEndian) { raw.append(contentsOf: $0) } }
        w.bytes(9, raw)
        initializers.append(w)
        return name
    }

    /// A float32 initializer of `values` (shape `shape`) under a fresh name from `base`.
    mutating func floats(_ base: String, _ values: [Float], shape: [Int]) -> String {
        let t = Tensor(shape: [values.count])
        for (i, v) in values.enumerated() { t[i] = v }
        return initializer(fresh(base), t, shape: shape)
    }

    /// Adds a node `op` from `inputs` to one new output, returned.
    mutating func node(_ op: String, _ inputs: [String], name: String, _ attributes: [Attribute] = [], output: String? = nil) -> String {
        let out = output ?? fresh(name)
        var n = ProtoWriter()
        for i in inputs { n.string(1, i) }
        n.string(2, out)
        n.string(3, output == nil ? out : fresh(name))  // node names are unique too
        n.string(4, op)
        for a in attributes {
            n.message(5) { m in
                switch a {
                case let .int(k, v): m.string(1, k); m.int(20, 2); m.int(3, v)
                case let .ints(k, vs): m.string(1, k); m.int(20, 7); for v in vs { m.int(8, v) }
                case let .float(k, v): m.string(1, k); m.int(20, 1); m.float(2, v)
                }
            }
        }
        nodes.append(n)
        return out
    }

    /// A float tensor's ValueInfoProto with a symbolic batch dimension "N" first.
    private static func valueInfo(_ name: String, dims: [Int]) -> ProtoWriter {
        var v = ProtoWriter()
        v.string(1, name)
        v.message(2) { type in
            type.message(1) { tensor in
                tensor.int(1, 1)  // elem_type FLOAT
                tensor.message(2) { shape in
                    shape.message(1) { $0.string(2, "N") }
                    for d in dims { shape.message(1) { $0.int(1, Int64(d)) } }
                }
            }
        }
        return v
    }

    /// The ModelProto bytes: graph `name` from `input` [N, inputDims…] to `output` [N, outputDims…].
    func encoded(name: String, input: String, inputDims: [Int], output: String, outputDims: [Int], producerVersion: String) -> Data {
        var g = ProtoWriter()
        for n in nodes { g.message(1, n) }
        g.string(2, name)
        for i in initializers { g.message(5, i) }
        g.message(11, ONNXGraph.valueInfo(input, dims: inputDims))
        g.message(12, ONNXGraph.valueInfo(output, dims: outputDims))
        var m = ProtoWriter()
        m.int(1, 8)                                   // ir_version
        m.string(2, "sparsewire")                     // producer_name
        m.string(3, producerVersion)                  // producer_version
        m.message(7, g)                               // graph
        m.message(8) { $0.string(1, ""); $0.int(2, 17) }  // opset_import: ai.onnx 17
        return m.data
    }
}
