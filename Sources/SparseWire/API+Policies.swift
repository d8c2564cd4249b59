import CSparseWire
import Foundation
import SparseWireCore

@c @implementation
public func sw_policy_names(_ buf: UnsafeMutablePointer<CChar>?, _ capacity: UInt64, _ needed: UnsafeMutablePointer<UInt64>?) -> sw_status {
    guarded("sw_policy_names") {
        try writeString(PolicyRegistry.names.joined(separator: "\n"), buf, capacity, needed)
    }
}

@c @implementation
public func sw_engine_set_policy(_ engine: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ options: UnsafePointer<CChar>?,
                                 _ density: Double) -> sw_status {
    engineCall(engine, "sw_engine_set_policy") {
        let e = try EngineHandle.table.get(engine)
        let n = try string(name, "name")
        let opts = try optionalString(options, "options").map { try Config.parseOptions($0) } ?? [:]
        guard density.isFinite || density < 0 else { throw BoundaryError.argument("density is \(density)") }
        try e.setPolicy(n, options: opts, density: density < 0 ? nil : density)
    }
}

@c @implementation
public func sw_engine_set_policy_v2(_ engine: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ options: UnsafePointer<CChar>?,
                                    _ density: UnsafePointer<Double>?) -> sw_status {
    engineCall(engine, "sw_engine_set_policy_v2") {
        let e = try EngineHandle.table.get(engine)
        let n = try string(name, "name")
        let opts = try optionalString(options, "options").map { try Config.parseOptions($0) } ?? [:]
        if let d = density?.pointee, !(d > 0 && d <= 1) {
            throw SparseWireError.config("density must be in (0, 1] (the fraction of weights kept), got \(d); pass NULL to keep the current one")
        }
        try e.setPolicy(n, options: opts, density: density?.pointee)
    }
}

@c @implementation
public func sw_engine_policy_name(_ engine: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?, _ capacity: UInt64,
                                  _ needed: UnsafeMutablePointer<UInt64>?) -> sw_status {
    guarded("sw_engine_policy_name") {
        try writeString(try EngineHandle.table.get(engine).policyName, buf, capacity, needed)
    }
}

@c @implementation
public func sw_unregister_policy(_ name: UnsafePointer<CChar>?) -> sw_status {
    guarded("sw_unregister_policy") {
        try PluginLoader.unregister(name: try string(name, "name"))
    }
}

@c @implementation
public func sw_engine_policy(_ engine: OpaquePointer?) -> UnsafePointer<CChar>? {
    do {
        return try EngineHandle.table.get(engine).policyNamePointer()
    } catch {
        _ = guarded("sw_engine_policy") { throw error }
        return nil
    }
}

@c @implementation
public func sw_load_plugin(_ path: UnsafePointer<CChar>?, _ added: UnsafeMutablePointer<UInt32>?) -> sw_status {
    added?.pointee = 0
    return guarded("sw_load_plugin") {
        let (plugin, isNew) = try PluginLoader.load(path: try string(path, "path"))
        added?.pointee = isNew ? UInt32(plugin.policies.count) : 0
    }
}

@c @implementation
public func sw_register_policy(_ def: UnsafePointer<sw_policy_def>?) -> sw_status {
    guarded("sw_register_policy") {
        _ = try PluginLoader.register(definition: try require(def, "def"))
    }
}
