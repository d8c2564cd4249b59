import CSparseWire
import Foundation
import SparseWireCore

/// Re-entrancy and overlap guard of one C handle: at most one mutating call at a time. A
/// callback (progress, a host-callback or plugin policy) that calls back into its own engine or
/// policy with a mutating call, or a second thread that does, gets SW_ERR_STATE with the running
/// call named — never a deadlock, never a half-updated engine. Read-only calls (progress, stop
/// requests, tensors, densities, names) are allowed meanwhile.
final class CallGuard: @unchecked Sendable {
    private let lock = NSLock()
    private var active: String?
    private let allowed: String

    /// `allowed` lists the calls that stay possible during a running one (for the message).
    init(allowed: String) { self.allowed = allowed }

    /// Runs `body` as the handle's one active call. Errors: `.state` when another call is running.
    func exclusive<T>(_ name: String, _ body: () throws -> T) throws -> T {
        lock.lock()
        if let running = active {
            lock.unlock()
            throw SparseWireError(.state, "called while \(running) is running on this handle (from inside one of its callbacks, "
                + "or from another thread); meanwhile only \(allowed) may be called")
        }
        active = name
        lock.unlock()
        defer { lock.lock(); active = nil; lock.unlock() }
        return try body()
    }
}

/// `guarded`, with `handle`'s call guard held for the call.
func guardedExclusive<H: AnyObject>(_ table: HandleTable<H>, _ handle: OpaquePointer?, _ function: String,
                                    _ guardOf: (H) -> CallGuard, _ body: () throws -> Void) -> sw_status {
    guarded(function) {
        try guardOf(try table.get(handle)).exclusive(function, body)
    }
}

/// A mutating engine call (see `CallGuard`).
func engineCall(_ engine: OpaquePointer?, _ function: String, _ body: () throws -> Void) -> sw_status {
    guardedExclusive(EngineHandle.table, engine, function, \.calls, body)
}

/// A mutating mask-only policy call (see `CallGuard`).
func policyCall(_ policy: OpaquePointer?, _ function: String, _ body: () throws -> Void) -> sw_status {
    guardedExclusive(PolicyHandle.table, policy, function, \.calls, body)
}
