import CSparseWire
import Foundation
import SparseWireCore

// The C boundary: every exported function runs its body in `guarded`, which turns any Swift
// error into a status code and a thread-local message. Inputs are validated before use so
// nothing traps.

/// An error raised at the boundary itself (bad pointer, unknown name, small buffer).
struct BoundaryError: Error {
    let status: sw_status
    let message: String
    init(_ status: sw_status, _ message: String) { self.status = status; self.message = message }
    static func argument(_ m: String) -> BoundaryError { .init(SW_ERR_INVALID_ARGUMENT, m) }
}

private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

nonisolated(unsafe) let emptyCString: UnsafeMutablePointer<CChar> = strdup("")!

/// Replaces this thread's last-error message.
func setLastError(_ message: String) {
    let old = pthread_getspecific(errorKey)
    pthread_setspecific(errorKey, strdup(message))
    free(old)
}

/// Forgets this thread's last-error message (sw_last_error returns "" again).
func clearLastError() {
    let old = pthread_getspecific(errorKey)
    pthread_setspecific(errorKey, nil)
    free(old)
}

func lastErrorPointer() -> UnsafePointer<CChar> {
    guard let p = pthread_getspecific(errorKey) else { return UnsafePointer(emptyCString) }
    return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
}

func status(of kind: SparseWireError.Kind) -> sw_status {
    switch kind {
    case .shape: return SW_ERR_SHAPE
    case .config: return SW_ERR_CONFIG
    case .data: return SW_ERR_DATA
    case .io: return SW_ERR_IO
    case .numeric: return SW_ERR_NUMERIC
    case .state: return SW_ERR_STATE
    case .unsupported: return SW_ERR_UNSUPPORTED
    case .plugin: return SW_ERR_PLUGIN
    }
}

/// Runs `body`; maps errors to a status and sets the thread's message (prefixed with `function`).
func guarded(_ function: String, _ body: () throws -> Void) -> sw_status {
    do {
        try body()
        return SW_OK
    } catch let e as BoundaryError {
        setLastError("\(function): \(e.message)")
        return e.status
    } catch let e as SparseWireError {
        setLastError("\(function): \(e.kind.rawValue) error: \(e.message)")
        return status(of: e.kind)
    } catch let e as TrainingPreempted {
        setLastError("\(function): \(e)")
        return SW_STOPPED
    } catch {
        setLastError("\(function): \(error)")
        return SW_ERR_INTERNAL
    }
}

/// A required NUL-terminated UTF-8 argument.
func string(_ p: UnsafePointer<CChar>?, _ what: String) throws -> String {
    guard let p else { throw BoundaryError.argument("\(what) is NULL") }
    guard let s = String(validatingCString: p) else { throw BoundaryError.argument("\(what) is not valid UTF-8") }
    return s
}

/// An optional string argument: NULL → nil.
func optionalString(_ p: UnsafePointer<CChar>?, _ what: String) throws -> String? {
    guard let p else { return nil }
    return try string(p, what)
}

func require<T>(_ p: T?, _ what: String) throws -> T {
    guard let p else { throw BoundaryError.argument("\(what) is NULL") }
    return p
}

/// The two-call pattern for a string: *needed = bytes with the NUL; fills `buf` if it fits.
func writeString(_ s: String, _ buf: UnsafeMutablePointer<CChar>?, _ capacity: UInt64,
                 _ needed: UnsafeMutablePointer<UInt64>?) throws {
    let bytes = Array(s.utf8)
    needed?.pointee = UInt64(bytes.count + 1)
    guard let buf else { return }
    guard capacity >= UInt64(bytes.count + 1) else {
        throw BoundaryError(SW_ERR_BUFFER_TOO_SMALL, "buffer holds \(capacity) bytes, \(bytes.count + 1) needed")
    }
    bytes.withUnsafeBufferPointer { b in
        UnsafeMutableRawPointer(buf).copyMemory(from: b.baseAddress!, byteCount: b.count)
    }
    buf[bytes.count] = 0
}

/// Handles are registered while alive, so a stale or foreign pointer is refused, not followed.
final class HandleTable<T: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private var live: [UnsafeMutableRawPointer: T] = [:]
    let kind: String

    init(kind: String) { self.kind = kind }

    func add(_ object: T) -> OpaquePointer {
        let p = Unmanaged.passUnretained(object).toOpaque()
        lock.lock(); live[p] = object; lock.unlock()
        return OpaquePointer(p)
    }

    func get(_ handle: OpaquePointer?) throws -> T {
        guard let handle else { throw BoundaryError.argument("\(kind) handle is NULL") }
        lock.lock(); defer { lock.unlock() }
        guard let o = live[UnsafeMutableRawPointer(handle)] else {
            throw BoundaryError.argument("\(kind) handle \(handle) is not live (destroyed, or not made by \(kind)_create)")
        }
        return o
    }

    /// Removes and returns the object (nil for NULL or unknown handles).
    func remove(_ handle: OpaquePointer?) -> T? {
        guard let handle else { return nil }
        lock.lock(); defer { lock.unlock() }
        return live.removeValue(forKey: UnsafeMutableRawPointer(handle))
    }
}

/// Parses an optional YAML/JSON config argument.
func parseConfig(_ p: UnsafePointer<CChar>?, what: String = "config") throws -> Config {
    guard let text = try optionalString(p, what) else { return Config() }
    return try Config(yaml: text, source: what)
}
