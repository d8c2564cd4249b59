import CSparseWire
import Foundation
import SparseWireCore

/// The host's log callback and its user pointer, held while installed.
private final class LogTarget: @unchecked Sendable {
    let fn: sw_log_fn
    let user: UnsafeMutableRawPointer?
    init(fn: sw_log_fn, user: UnsafeMutableRawPointer?) { self.fn = fn; self.user = user }
}

@c @implementation
public func sw_set_log_callback(_ fn: sw_log_fn?, _ userData: UnsafeMutableRawPointer?, _ minLevel: Int32) -> sw_status {
    guarded("sw_set_log_callback") {
        guard let level = EngineLog.Level(rawValue: minLevel) else {
            throw BoundaryError.argument("min_level is \(minLevel); use SW_LOG_DEBUG (0), SW_LOG_INFO (1) or SW_LOG_WARNING (2)")
        }
        guard let fn else { EngineLog.install(nil, level: level); return }
        let target = LogTarget(fn: fn, user: userData)
        EngineLog.install({ level, source, message in
            source.withCString { s in message.withCString { m in target.fn(level.rawValue, s, m, target.user) } }
        }, level: level)
    }
}
