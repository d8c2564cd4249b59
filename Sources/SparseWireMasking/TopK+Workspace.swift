import CKernels
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

extension TopK {
    /// Reusable scratch (candidate keys and indices, per-thread histograms), so that per-step
    /// selection does not allocate once warm. Not thread-safe: one workspace per caller (each
    /// policy context keeps its own).
    public final class Workspace {
        var keys: UnsafeMutablePointer<UInt32>
        var index: UnsafeMutablePointer<Int64>
        fileprivate var capacity: Int
        var histograms: UnsafeMutablePointer<Int64>
        fileprivate var histogramSlots: Int
        /// The last threshold and window width of each selection seen (by values address,
        /// size, k and order): the next step's threshold is looked for near it first.
        var windows: [WindowID: Window] = [:]
        /// Selections answered by the window pass, and those that needed the full select after it.
        public internal(set) var windowHits = 0, windowMisses = 0

        /// Scratch with room for `capacity` candidates (at least 1) to start; it grows on demand.
        public init(capacity: Int = 0) {
            self.capacity = Swift.max(capacity, 1)
            keys = .allocate(capacity: self.capacity)
            index = .allocate(capacity: self.capacity)
            histogramSlots = 1
            histograms = .allocate(capacity: 2048)
        }

        func reserve(candidates n: Int) {
            guard n > capacity else { return }
            keys.deallocate(); index.deallocate()
            capacity = n
            keys = .allocate(capacity: n)
            index = .allocate(capacity: n)
        }

        func reserve(histograms n: Int) {
            guard n > histogramSlots else { return }
            histograms.deallocate()
            histogramSlots = n
            histograms = .allocate(capacity: n * 2048)
        }

        /// Closes the gaps between the workers' candidate regions (index order is kept);
        /// returns how many candidates there are.
        func compact(_ regions: [(start: Int, count: Int)]) -> Int {
            var m = 0
            for r in regions {
                if r.start != m {
                    (keys + m).update(from: keys + r.start, count: r.count)
                    (index + m).update(from: index + r.start, count: r.count)
                }
                m += r.count
            }
            return m
        }

        deinit { keys.deallocate(); index.deallocate(); histograms.deallocate() }
    }

    /// Which selection a remembered window belongs to.
    struct WindowID: Hashable {
        package let values: UInt, total: Int, k: Int, magnitude: Bool, segments: Int
    }

    /// A remembered threshold key and the half-width of the key window searched around it.
    struct Window {
        package var t: UInt32
        package var delta: UInt32
        package static let initialDelta: UInt32 = 1 << 16, minDelta: UInt32 = 1 << 12, maxDelta: UInt32 = 1 << 26

        /// After a search: narrower when the threshold stayed well inside, wider after a miss.
        package func next(_ newT: UInt32, hit: Bool) -> Window {
            if !hit { return Window(t: newT, delta: Swift.min(Window.maxDelta, delta &* 4)) }
            let moved = newT > t ? newT - t : t - newT
            return Window(t: newT, delta: moved < delta / 4 ? Swift.max(Window.minDelta, delta / 2) : delta)
        }
    }
}
