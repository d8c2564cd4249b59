import CSparseWire
import Foundation
import SparseWireCore

@c @implementation
public func sw_engine_parameter_names(_ engine: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?, _ capacity: UInt64,
                                      _ needed: UnsafeMutablePointer<UInt64>?) -> sw_status {
    guarded("sw_engine_parameter_names") {
        let t = try EngineHandle.table.get(engine).requireTrainer("parameter names")
        try writeString(t.network.parameters.map(\.name).joined(separator: "\n"), buf, capacity, needed)
    }
}

@c @implementation
public func sw_engine_tensor_shape(_ engine: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ kind: sw_tensor_kind,
                                   _ shape: UnsafeMutablePointer<Int64>?, _ capacity: UInt32, _ rank: UnsafeMutablePointer<UInt32>?) -> sw_status {
    guarded("sw_engine_tensor_shape") {
        let e = try EngineHandle.table.get(engine)
        let t = try e.tensor(try string(name, "name"), kind: kind)
        rank?.pointee = UInt32(t.shape.count)
        guard let shape else { return }
        guard capacity >= UInt32(t.shape.count) else {
            throw BoundaryError(SW_ERR_BUFFER_TOO_SMALL, "shape holds \(capacity) dims, the tensor has rank \(t.shape.count)")
        }
        for (i, d) in t.shape.enumerated() { shape[i] = Int64(d) }
    }
}

@c @implementation
public func sw_engine_get_tensor(_ engine: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ kind: sw_tensor_kind,
                                 _ out: UnsafeMutablePointer<Float>?, _ capacity: UInt64, _ needed: UnsafeMutablePointer<UInt64>?) -> sw_status {
    guarded("sw_engine_get_tensor") {
        let e = try EngineHandle.table.get(engine)
        let n = try string(name, "name")
        let t = try e.tensor(n, kind: kind)
        needed?.pointee = UInt64(t.count)
        guard let out else { return }
        guard capacity >= UInt64(t.count) else {
            throw BoundaryError(SW_ERR_BUFFER_TOO_SMALL, "'\(n)': buffer holds \(capacity) floats, the tensor has \(t.count)")
        }
        out.update(from: t.data, count: t.count)
    }
}

@c @implementation
public func sw_engine_set_tensor(_ engine: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ kind: sw_tensor_kind,
                                 _ values: UnsafePointer<Float>?, _ count: UInt64) -> sw_status {
    engineCall(engine, "sw_engine_set_tensor") {
        let e = try EngineHandle.table.get(engine)
        let n = try string(name, "name")
        guard kind != SW_TENSOR_GRAD else { throw BoundaryError.argument("'\(n)': SW_TENSOR_GRAD is read only") }
        let t = try e.tensor(n, kind: kind)
        let v = try require(values, "values")
        guard count == UInt64(t.count) else {
            throw SparseWireError.shape("'\(n)': count is \(count), the tensor \(t.shape) has \(t.count) elements")
        }
        // Masks are 0/1 unless the policy declares soft masks (supermask, SW_POLICY_SOFT_MASKS):
        // then any finite value ≥ 0 (dynamic scaling multiplies a sample by n / #ones).
        let soft = kind == SW_TENSOR_MASK && (e.trainer?.masking.policy.softMasks ?? false)
        for i in 0..<t.count {
            guard v[i].isFinite else { throw SparseWireError(.numeric, "'\(n)': element \(i) is \(v[i])") }
            guard kind == SW_TENSOR_MASK else { continue }
            if soft, v[i] < 0 {
                throw SparseWireError.data("'\(n)': mask element \(i) is \(v[i]); masks of policy '\(e.trainer!.masking.descriptor.name)' are ≥ 0")
            }
            if !soft, v[i] != 0, v[i] != 1 {
                throw SparseWireError.data("'\(n)': mask element \(i) is \(v[i]); masks of policy '\(e.trainer?.masking.descriptor.name ?? "?")' hold 0 or 1 (only policies with soft masks, such as supermask, take other values)")
            }
        }
        t.data.update(from: v, count: t.count)
        if kind == SW_TENSOR_MASK { e.trainer?.masking.masksChanged() }
    }
}

@c @implementation
public func sw_engine_layer_count(_ engine: OpaquePointer?, _ count: UnsafeMutablePointer<UInt32>?) -> sw_status {
    guarded("sw_engine_layer_count") {
        let t = try EngineHandle.table.get(engine).requireTrainer("layer report")
        try require(count, "count").pointee = UInt32(t.masking.layers.count)
    }
}

@c @implementation
public func sw_engine_layer_density(_ engine: OpaquePointer?, _ index: UInt32, _ out: UnsafeMutablePointer<sw_layer_density>?) -> sw_status {
    guarded("sw_engine_layer_density") {
        let e = try EngineHandle.table.get(engine)
        let out = try require(out, "out")
        guard out.pointee.struct_size >= UInt32(MemoryLayout<sw_layer_density>.size) else {
            throw BoundaryError.argument("out->struct_size is \(out.pointee.struct_size); set it to sizeof(sw_layer_density) = \(MemoryLayout<sw_layer_density>.size)")
        }
        let names = try e.layerNamePointers()
        let layers = e.trainer!.masking.layers
        guard Int(index) < layers.count else {
            throw BoundaryError(SW_ERR_NOT_FOUND, "layer index \(index) out of range (\(layers.count) masked layers)")
        }
        let l = layers[Int(index)]
        out.pointee.name = UnsafePointer(names[Int(index)])
        out.pointee.count = UInt64(l.count)
        out.pointee.kept = UInt64(l.parameter.keptCount)
        out.pointee.target_density = l.density
    }
}

@c @implementation
public func sw_engine_parameter_counts(_ engine: OpaquePointer?, _ total: UnsafeMutablePointer<UInt64>?, _ kept: UnsafeMutablePointer<UInt64>?) -> sw_status {
    guarded("sw_engine_parameter_counts") {
        let t = try EngineHandle.table.get(engine).requireTrainer("parameter counts")
        total?.pointee = UInt64(t.parameterCount)
        kept?.pointee = UInt64(t.keptCount)
    }
}

@c @implementation
public func sw_engine_save(_ engine: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> sw_status {
    engineCall(engine, "sw_engine_save") {
        let t = try EngineHandle.table.get(engine).requireTrainer("save")
        try t.save(to: try string(path, "path"))
    }
}

@c @implementation
public func sw_engine_export_onnx(_ engine: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ zeros: UnsafeMutablePointer<UInt64>?,
                                  _ count: UnsafeMutablePointer<UInt64>?) -> sw_status {
    zeros?.pointee = 0
    count?.pointee = 0
    return engineCall(engine, "sw_engine_export_onnx") {
        let t = try EngineHandle.table.get(engine).requireTrainer("export_onnx")
        let report = try t.exportONNX(to: try string(path, "path"))
        zeros?.pointee = UInt64(report.reduce(0) { $0 + $1.zeros })
        count?.pointee = UInt64(report.reduce(0) { $0 + $1.count })
    }
}

@c @implementation
public func sw_engine_load(_ engine: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> sw_status {
    engineCall(engine, "sw_engine_load") {
        let t = try EngineHandle.table.get(engine).requireTrainer("load")
        try t.load(from: try string(path, "path"))
    }
}
