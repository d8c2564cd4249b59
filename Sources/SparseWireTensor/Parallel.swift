import CKernels
import Dispatch
import Foundation

/// Data-parallel loops for the engine's kernels, over the calling thread's current
/// `EngineRuntime` (its threads and worker pool; OpenBLAS itself runs single-threaded).
/// Work is split into contiguous, disjoint index ranges, so results never depend on timing.
public enum Parallel {
    /// Threads the calling thread's loops use: those of the engine it is running in
    /// (`EngineRuntime.run`), else 1.
    public static var threads: Int { EngineRuntime.currentThreads }

    /// SPARSEWIRE_THREADPOOL=dispatch runs the loops on Dispatch instead of the spinning C pool
    /// (for comparisons; docs/BENCHMARKS.md).
    package static let useDispatch = ProcessInfo.processInfo.environment["SPARSEWIRE_THREADPOOL"] == "dispatch"

    /// Workers to use for `count` independent items.
    public static func workers(for count: Int) -> Int { max(1, min(threads, count)) }

    /// Workers for `count` elementwise items, each worker getting at least `grain` of them.
    public static func workers(for count: Int, grain: Int) -> Int { workers(for: count / max(grain, 1)) }

    /// Splits 0..<count into `workers` contiguous ranges and runs `body(w, lo, hi)` on each in
    /// parallel. Range w is [count·w/workers, count·(w+1)/workers).
    public static func forEachRange(_ count: Int, workers: Int, _ body: (_ worker: Int, _ lo: Int, _ hi: Int) -> Void) {
        if workers <= 1 || count <= 1 { body(0, 0, count); return }
        if useDispatch {
            withoutActuallyEscaping(body) { body in
                nonisolated(unsafe) let work = body
                DispatchQueue.concurrentPerform(iterations: workers) { w in work(w, count * w / workers, count * (w + 1) / workers) }
            }
            return
        }
        withoutActuallyEscaping(body) { body in
            let job = RangeJob(count: count, workers: workers, body: body)
            let rc = withExtendedLifetime(job) {
                swk_pool_run_on(swk_current_pool(), workers, { ctx, w in
                    Unmanaged<RangeJob>.fromOpaque(ctx!).takeUnretainedValue().run(Int(w))
                }, Unmanaged.passUnretained(job).toOpaque())
            }
            // No pool, or it is busy (a loop nested in one): same ranges, this thread.
            if rc != 0 { for w in 0..<workers { job.run(w) } }
        }
    }

    /// Fewest elementwise items per worker worth a parallel loop (FC's 30k-weight layer splits).
    public static let defaultGrain = 1 << 13

    /// Elementwise work of `count` items: split over the threads when large enough to pay for
    /// the dispatch (≥ `grain` items per worker), else run inline. `body(lo, hi)`.
    public static func forEachChunk(_ count: Int, grain: Int = defaultGrain, _ body: (_ lo: Int, _ hi: Int) -> Void) {
        forEachRange(count, workers: workers(for: count, grain: grain)) { _, lo, hi in body(lo, hi) }
    }

    /// Whether all `count` floats at `x` are finite (no NaN, no ±Inf), checked in parallel chunks.
    public static func allFinite(_ x: UnsafePointer<Float>, _ count: Int) -> Bool {
        let workers = workers(for: count, grain: defaultGrain)
        if workers <= 1 { return swk_all_finite(x, count) != 0 }
        var ok = [Int32](repeating: 1, count: workers)
        ok.withUnsafeMutableBufferPointer { flags in
            let f = flags.baseAddress!
            forEachRange(count, workers: workers) { w, lo, hi in f[w] = swk_all_finite(x + lo, hi - lo) }
        }
        return !ok.contains(0)
    }
}

/// One forEachRange call as the C pool sees it.
private final class RangeJob {
    package let count: Int, workers: Int
    package let body: (Int, Int, Int) -> Void
    package init(count: Int, workers: Int, body: @escaping (Int, Int, Int) -> Void) {
        self.count = count; self.workers = workers; self.body = body
    }
    package func run(_ w: Int) { body(w, count * w / workers, count * (w + 1) / workers) }
}
