import SparseWireTensor

/// When masked layers train on the sparse kernels (`training.kernels`, `training.sparse_below`).
///
/// `auto` runs a masked linear or stride-1 convolution layer sparse when its mask keeps at most
/// `threshold` of the weights and the batch has at least `minimumBatch` samples (the lane
/// kernels fill 64 lanes); `sparse` forces the sparse kernels on every such layer, `dense` never
/// uses them (the training path of w ⊙ m, bit for bit as before). Strided convolutions, depthwise
/// ones and non-square kernels always train dense. The default 0.3 is the measured crossover
/// (docs/BENCHMARKS.md, "Sparse training").
public struct SparseTrainingSettings: Sendable, Equatable {
    /// `auto`, `dense` or `sparse` (see the type's summary).
    public enum Mode: String, Sendable, CaseIterable { case auto, dense, sparse }
    /// The mode.
    public var mode: Mode
    /// `auto`: the kept fraction, in [0, 1], at or below which a layer trains sparse.
    public var threshold: Double
    /// `auto`: batches smaller than this train dense.
    public static let minimumBatch = 32

    /// Settings; `threshold` is not checked here (the config checks it).
    public init(mode: Mode = .auto, threshold: Double = 0.3) { self.mode = mode; self.threshold = threshold }

    /// Whether a layer keeping `density` of its weights trains sparse on a batch of `samples`.
    public func useSparse(density: Double, samples: Int) -> Bool {
        switch mode {
        case .dense: return false
        case .sparse: return true
        case .auto: return density <= threshold && samples >= Self.minimumBatch
        }
    }
}
