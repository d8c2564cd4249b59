import Dispatch

/// Data-parallel loops for the engine's own kernels (OpenBLAS has its own threads).
/// Work is split into contiguous, disjoint index ranges, so results never depend on timing.
public enum Parallel {
    nonisolated(unsafe) private static var _threads = 1

    /// Threads used by `forEach`; set together with the BLAS thread count.
    public static var threads: Int {
        get { _threads }
        set { _threads = max(1, newValue) }
    }

    /// Minimum work items per worker before splitting pays off.
    public static func workers(for count: Int) -> Int { max(1, min(threads, count)) }

    /// The index of the worker whose range starts at `lo` (ranges as in `forEachRange`).
    public static func workerIndex(_ lo: Int, count: Int, workers: Int) -> Int {
        for w in 0..<workers where count * w / workers == lo { return w }
        return 0
    }

    /// Splits 0..<count into `workers` contiguous ranges [lo, hi) and runs `body` on each in
    /// parallel. Range w is [count·w/workers, count·(w+1)/workers).
    public static func forEachRange(_ count: Int, workers: Int, _ body: (Int, Int) -> Void) {
        if workers <= 1 || count <= 1 { body(0, count); return }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                work(count * w / workers, count * (w + 1) / workers)
            }
        }
    }

    /// Calls `body(i)` for i in 0..<count, spread over `threads` workers when worthwhile.
    @inline(__always)
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let t = min(threads, count)
        if t <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // Each worker touches a disjoint range; the caller guarantees body is safe for that.
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: t) { w in
                let lo = count * w / t, hi = count * (w + 1) / t
                for i in lo..<hi { work(i) }
            }
        }
    }
}
