import CKernels
import COpenBLAS
import Foundation

/// The resources one engine owns: its thread count and its worker pool.
///
/// Every public entry point of an engine (a training step, an epoch, evaluation, a policy
/// switch, a checkpoint) runs inside `run`, which makes this runtime the calling thread's
/// current one; `Parallel` splits each loop over the current runtime's threads on its pool.
/// Two engines on two threads therefore run at their own thread counts, on their own workers.
/// OpenBLAS itself runs single-threaded: each engine worker calls a single-threaded sgemm.
public final class EngineRuntime: @unchecked Sendable {
    /// Worker threads of this engine's loops (≥ 1).
    public let threads: Int
    private let pool: OpaquePointer?

    /// `threads` 0 means all cores (`ProcessInfo.activeProcessorCount`).
    public init(threads: Int) {
        openblas_set_num_threads(1)
        self.threads = EngineRuntime.resolve(threads: threads)
        pool = self.threads > 1 ? swk_pool_create() : nil
    }

    /// The thread count a `threads` setting means: itself, or all cores for 0 (at least 1).
    public static func resolve(threads: Int) -> Int {
        Swift.max(1, threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount)
    }

    deinit { swk_pool_destroy(pool) }

    /// Runs `body` with this runtime current on the calling thread (nested calls are fine; the
    /// previous runtime is restored afterwards).
    public func run<T>(_ body: () throws -> T) rethrows -> T {
        let previousPool = swk_current_pool(), previousThreads = swk_current_threads()
        swk_set_current(pool, threads)
        defer { swk_set_current(previousPool, previousThreads) }
        return try body()
    }

    /// Makes this runtime current on the calling thread until another is made current.
    public func makeCurrent() { swk_set_current(pool, threads) }

    private static let sharedLock = NSLock()
    nonisolated(unsafe) private static var sharedRuntimes: [Int: EngineRuntime] = [:]

    /// A process-wide runtime of `threads` threads (made once per count, never freed), for
    /// loops that run outside any engine.
    public static func shared(threads: Int) -> EngineRuntime {
        sharedLock.lock(); defer { sharedLock.unlock() }
        let n = Swift.max(1, threads)
        if let r = sharedRuntimes[n] { return r }
        let r = EngineRuntime(threads: n)
        sharedRuntimes[n] = r
        return r
    }

    /// The thread count in force on the calling thread: the current runtime's, else 1.
    public static var currentThreads: Int { Swift.max(1, swk_current_threads()) }
}
