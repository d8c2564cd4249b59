import SparseWireTensor
/// A network part with parameters and an explicit forward pass; backward comes from the tape.
public protocol Module: AnyObject {
    /// Runs the module on `x`; `ctx` says whether to record the tape (training) or not.
    /// Errors: `.shape` when `x` does not fit the module, or what an op inside throws.
    func forward(_ x: Var, _ ctx: Context) throws -> Var
    /// Every parameter of this module and its children, in a stable order.
    var parameters: [Parameter] { get }
    /// Non-trainable state saved with the model (e.g. running statistics), by name.
    var buffers: [(String, Tensor)] { get }
}

extension Module {
    /// No buffers: the default for modules without non-trainable state.
    public var buffers: [(String, Tensor)] { [] }
}

/// Modules applied one after another.
public final class Sequential: Module {
    /// The modules, in the order they are applied.
    public let layers: [any Module]
    /// Chains `layers`: the first receives the input, each next one the previous output.
    public init(_ layers: [any Module]) { self.layers = layers }

    /// Applies the layers in order. A layer followed by `Lambda.relu` may apply the ReLU in its
    /// own output pass (`ReLUFusable`: batch norm always, conv/linear on the sparse inference
    /// kernels), and with a 2×2 stride-2 max pooling after that the pooling too
    /// (`ReLUPoolFusable`: convolutions on the lane kernels); two or more consecutive linear
    /// layers on the lane kernels (each maybe followed by `Lambda.relu`) run as one
    /// `laneLinearChain`. Errors: whatever a layer throws.
    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        var h = x
        var i = 0
        while i < layers.count {
            if let (stages, next) = try laneChain(from: i, h, ctx) {
                h = try ctx.laneLinearChain(h, stages)
                i = next
                continue
            }
            // conv → ReLU → 2×2 max pooling in one pass when the layer can.
            if ctx.fusesLaneLayers, i + 2 < layers.count, (layers[i + 1] as? Lambda)?.isReLU == true,
               (layers[i + 2] as? Lambda)?.op == .maxPool(kernel: 2, stride: 2),
               let f = layers[i] as? ReLUPoolFusable, let y = try f.forwardFusingReLUPool(h, ctx) {
                h = y
                i += 3
                continue
            }
            // layer → ReLU in one output pass when the layer can.
            if i + 1 < layers.count, (layers[i + 1] as? Lambda)?.isReLU == true,
               let f = layers[i] as? ReLUFusable, let y = try f.forwardFusingReLU(h, ctx) {
                h = y
                i += 2
                continue
            }
            h = try layers[i].forward(h, ctx)
            i += 1
        }
        return h
    }

    /// The lane chain starting at layer `i` for input `h` and the index after it, or nil when
    /// fewer than two lane linear layers follow one another there (or the context observes
    /// layers, records a tape, or runs fewer than 32 samples, which the lane kernel leaves to CSR).
    private func laneChain(from i: Int, _ h: Var, _ ctx: Context) throws -> ([LaneStage], Int)? {
        guard ctx.fusesLaneLayers, !ctx.recordGrad, ctx.layerObserver == nil, ctx.sparseInference != nil,
              h.shape.count == 2, h.shape[0] >= 32, layers[i] is LaneChainable else { return nil }
        var stages: [LaneStage] = [], j = i, cols = h.shape[1]
        while j < layers.count, let l = layers[j] as? LaneChainable, var stage = try l.laneStage(ctx), stage.weight.cols == cols {
            j += 1
            if j < layers.count, (layers[j] as? Lambda)?.isReLU == true { stage.relu = true; j += 1 }
            cols = stage.weight.rows
            stages.append(stage)
        }
        return stages.count >= 2 ? (stages, j) : nil
    }

    /// The layers' parameters, layer by layer.
    public var parameters: [Parameter] { layers.flatMap { $0.parameters } }
    /// The layers' buffers, layer by layer.
    public var buffers: [(String, Tensor)] { layers.flatMap { $0.buffers } }
}

/// What a `Lambda` computes, for exporters (ONNX); `custom` for a closure of the caller's.
public enum LambdaOp: Sendable, Equatable {
    /// max(x, 0).
    case relu
    /// [N, …] → [N, Π rest].
    case flatten
    /// k×k max pooling with the given stride, no padding.
    case maxPool(kernel: Int, stride: Int)
    /// k×k average pooling with the given stride, no padding.
    case avgPool(kernel: Int, stride: Int)
    /// [N, C, H, W] → [N, C] plane means.
    case globalAvgPool
    /// Inverted dropout with probability p (identity in evaluation).
    case dropout(Float)
    /// [N, C, H, W] → [N, channels, H, W]: zero channels appended.
    case padChannels(to: Int)
    /// [N, C, H, W] → the channels lower..<upper.
    case sliceChannels(lower: Int, upper: Int)
    /// Anything else (`Lambda.init(_:)`).
    case custom
}

/// A parameter-free function as a module.
public final class Lambda: Module {
    package let fn: (Var, Context) throws -> Var
    /// True for `Lambda.relu`: a preceding conv/linear may apply it in its own output pass.
    public let isReLU: Bool
    /// What `fn` computes (`custom` for a caller's closure).
    public let op: LambdaOp
    /// Wraps `fn` (not treated as a ReLU for fusion; `op` is `custom`).
    public init(_ fn: @escaping (Var, Context) throws -> Var) { self.fn = fn; isReLU = false; op = .custom }
    package init(op: LambdaOp, _ fn: @escaping (Var, Context) throws -> Var) { self.fn = fn; isReLU = false; self.op = op }
    package init(relu: ()) { fn = { x, ctx in ctx.relu(x) }; isReLU = true; op = .relu }
    /// Calls the wrapped function. Errors: whatever `fn` throws.
    public func forward(_ x: Var, _ ctx: Context) throws -> Var { try fn(x, ctx) }
    /// Always empty: a lambda has no parameters.
    public var parameters: [Parameter] { [] }

    /// y = max(x, 0) element-wise; marked so a preceding conv/linear may fuse it in inference.
    public static var relu: Lambda { Lambda(relu: ()) }
    /// [N, …] → [N, Π rest] (a reshape). Errors: `.shape` on a rank-0 input.
    public static var flatten: Lambda { Lambda(op: .flatten) { x, ctx in try ctx.flatten(x) } }
    /// Max pooling over k×k windows, stride `stride` (default k), NCHW input.
    /// Errors: `.shape` for a non-4-D input or a window that is invalid or larger than the input.
    public static func maxPool(_ k: Int, stride: Int? = nil) -> Lambda {
        Lambda(op: .maxPool(kernel: k, stride: stride ?? k)) { x, ctx in try ctx.maxPool2d(x, kernel: k, stride: stride) }
    }
    /// Average pooling over k×k windows, stride `stride` (default k), no padding, NCHW input.
    /// Errors: `.shape` for a non-4-D input or a window that is invalid or larger than the input.
    public static func avgPool(_ k: Int, stride: Int? = nil) -> Lambda {
        Lambda(op: .avgPool(kernel: k, stride: stride ?? k)) { x, ctx in try ctx.avgPool2d(x, kernel: k, stride: stride) }
    }
    /// [N, C, H, W] → [N, C], the mean of each plane.
    /// Errors: `.shape` for a non-4-D input or an empty plane.
    public static var globalAvgPool: Lambda { Lambda(op: .globalAvgPool) { x, ctx in try ctx.globalAvgPool(x) } }
    /// Inverted dropout with probability `p` in training (kept values scaled by 1/(1−p)); identity in
    /// evaluation. Errors: `.config` unless 0 ≤ p < 1, raised when the forward pass runs.
    public static func dropout(_ p: Float) -> Lambda { Lambda(op: .dropout(p)) { x, ctx in try ctx.dropout(x, p: p) } }
    /// [N, C, H, W] → [N, `channels`, H, W]: zero channels appended (the input unchanged when
    /// C = channels). Errors: `.shape` for a non-4-D input or C > channels.
    public static func padChannels(to channels: Int) -> Lambda {
        Lambda(op: .padChannels(to: channels)) { x, ctx in
            guard x.shape.count == 4, x.shape[1] <= channels else {
                throw SparseWireError.shape("pad channels: input \(x.shape) cannot grow to \(channels) channels")
            }
            if x.shape[1] == channels { return x }
            return try ctx.concatChannels([x, ctx.zeros([x.shape[0], channels - x.shape[1], x.shape[2], x.shape[3]])])
        }
    }
    /// [N, C, H, W] → the channels `range`. Errors: `.shape` for a non-4-D input or a range past C.
    public static func sliceChannels(_ range: Range<Int>) -> Lambda {
        Lambda(op: .sliceChannels(lower: range.lowerBound, upper: range.upperBound)) { x, ctx in try ctx.sliceChannels(x, range) }
    }
}

/// A layer that can apply a following ReLU and 2×2 stride-2 max pooling in its own output pass.
package protocol ReLUPoolFusable {
    /// The layer's output with ReLU and the pooling applied, or nil when this layer cannot fuse
    /// here.
    func forwardFusingReLUPool(_ x: Var, _ ctx: Context) throws -> Var?
}

/// A layer that can apply a following ReLU in its own output pass.
package protocol ReLUFusable {
    /// The layer's output with ReLU applied, or nil when this layer cannot fuse here.
    func forwardFusingReLU(_ x: Var, _ ctx: Context) throws -> Var?
}
