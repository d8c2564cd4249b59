import CSparseWire
import Foundation
import SparseWireCore

nonisolated(unsafe) private let versionCString: UnsafeMutablePointer<CChar> = strdup(SparseWireVersion.string)!
nonisolated(unsafe) private let coreCString: UnsafeMutablePointer<CChar> = strdup(BLAS.coreName)!
nonisolated(unsafe) private let recommendedCoreCString: UnsafeMutablePointer<CChar> = strdup(CPUFeatures.current.recommendedOpenBLASCore ?? "")!
nonisolated(unsafe) private let statusNames: [UnsafeMutablePointer<CChar>] = {
    let names: [String] = ["SW_OK", "SW_ERR_INVALID_ARGUMENT", "SW_ERR_CONFIG", "SW_ERR_SHAPE", "SW_ERR_DATA", "SW_ERR_IO",
    "SW_ERR_NUMERIC", "SW_ERR_STATE", "SW_ERR_UNSUPPORTED", "SW_ERR_NOT_FOUND", "SW_ERR_BUFFER_TOO_SMALL",
    "SW_ERR_PLUGIN", "SW_ERR_INTERNAL", "SW_STOPPED", "SW_UNKNOWN_STATUS"]
    return names.map { strdup($0)! }
}()

@c @implementation
public func sw_abi_version() -> UInt32 { SW_ABI_VERSION }

@c @implementation
public func sw_version_string() -> UnsafePointer<CChar>? { UnsafePointer(versionCString) }

@c @implementation
public func sw_last_error() -> UnsafePointer<CChar>? { lastErrorPointer() }

@c @implementation
public func sw_clear_last_error() { clearLastError() }

@c @implementation
public func sw_status_name(_ status: sw_status) -> UnsafePointer<CChar>? {
    let i = Int(status)
    return UnsafePointer(statusNames[(0..<statusNames.count - 1).contains(i) ? i : statusNames.count - 1])
}

@c @implementation
public func sw_blas_core() -> UnsafePointer<CChar>? { UnsafePointer(coreCString) }

@c @implementation
public func sw_cpu_features() -> UInt32 { CPUFeatures.current.bits }

@c @implementation
public func sw_recommended_blas_core() -> UnsafePointer<CChar>? { UnsafePointer(recommendedCoreCString) }
