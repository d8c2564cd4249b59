import SparseWireTensor
import SparseWireAutograd
/// y = x·Wᵀ + b
public final class Linear: Module {
    /// The weight [out, in], maskable unless built with `maskable: false`.
    public let weight: Parameter
    /// The bias [out], or nil without bias; never masked.
    public let bias: Parameter?

    /// A linear layer with zero-filled parameters `name.weight` and `name.bias`.
    public init(name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true, maskable: Bool = true) {
        weight = Parameter(name: "\(name).weight", shape: [outFeatures, inFeatures], role: .weight, maskable: maskable)
        self.bias = bias ? Parameter(name: "\(name).bias", shape: [outFeatures], role: .bias, maskable: false) : nil
    }

    /// y[N, out] = x[N, in]·ŵᵀ + b, ŵ the effective (masked) weight; sparse kernels in inference when
    /// the context's `SparseInference` picks them. Errors: `.shape` when `x` is not [N, in].
    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        ctx.layerObserver?(self, x)
        if !ctx.recordGrad, let sparse = try ctx.sparseInference?.weight(for: weight, ctx) {
            return try ctx.sparseLinear(x, sparse, bias?.variable)
        }
        if ctx.recordGrad, x.shape.count == 2, let step = try ctx.sparseTraining?(weight, x.shape[0], ctx) {
            return try ctx.sparseTrainLinear(x, step, bias?.variable)
        }
        return try ctx.linear(x, ctx.effective(weight), bias?.variable)
    }
    /// The weight, then the bias if any.
    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
}

/// 2-D convolution (NCHW, PyTorch weight layout).
public final class Conv2d: Module {
    /// The weight [out, in, k, k], maskable unless built with `maskable: false`.
    public let weight: Parameter
    /// The bias [out], or nil without bias; never masked.
    public let bias: Parameter?
    /// Stride and zero padding, the same along height and width.
    public let stride: Int, padding: Int

    /// A k×k convolution with zero-filled parameters `name.weight` and `name.bias`.
    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
                maskable: Bool = true) {
        weight = Parameter(name: "\(name).weight", shape: [outChannels, inChannels, kernel, kernel], role: .weight, maskable: maskable)
        self.bias = bias ? Parameter(name: "\(name).bias", shape: [outChannels], role: .bias, maskable: false) : nil
        self.stride = stride
        self.padding = padding
    }

    /// y = conv2d(x, ŵ) + b on NCHW input, ŵ the effective (masked) weight; sparse kernels in inference
    /// when picked. Errors: `.shape` when `x` is not [N, in, H, W] or the kernel exceeds the padded input.
    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        ctx.layerObserver?(self, x)
        return try ctx.maskedConv2d(x, weight, bias?.variable, stride: stride, padding: padding)
    }
    /// The weight, then the bias if any.
    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
}

extension Context {
    /// y = conv2d(x, ŵ) + b for a (possibly masked) convolution weight parameter `weight`, on the
    /// kernels the context chooses (`sparseMaskedConv2d`), else the dense `conv2d` of the
    /// effective weight. Used by `Conv2d` and by the layers that hold a convolution weight of
    /// their own (DNW's channel graphs). Errors: `.shape` as `conv2d`.
    public func maskedConv2d(_ x: Var, _ weight: Parameter, _ bias: Var?, stride: Int = 1, padding: Int = 0) throws -> Var {
        try sparseMaskedConv2d(x, weight, bias, stride: stride, padding: padding, relu: false)
            ?? conv2d(x, effective(weight), bias, stride: stride, padding: padding)
    }

    /// conv2d(x, ŵ) + b, then max(·, 0) when `relu`, on the sparse kernels: inference's when
    /// `sparseInference` picks them, training's (stride 1, square kernel, padding < kernel size)
    /// when `sparseTraining` returns a step; nil for the dense path.
    package func sparseMaskedConv2d(_ x: Var, _ weight: Parameter, _ bias: Var?, stride: Int, padding: Int, relu: Bool) throws -> Var? {
        if !recordGrad {
            guard let sparse = try sparseInference?.weight(for: weight, self) else { return nil }
            return try sparseConv2d(x, sparse, bias, stride: stride, padding: padding, relu: relu)
        }
        guard stride == 1, weight.shape.count == 4, padding < weight.shape[2], weight.shape[2] == weight.shape[3], x.shape.count == 4,
              let step = try sparseTraining?(weight, x.shape[0], self) else { return nil }
        return try sparseTrainConv2d(x, step, bias, padding: padding, relu: relu)
    }
}

/// Depthwise convolution: one k×k kernel per channel.
public final class DepthwiseConv2d: Module {
    /// The filters [C, 1, k, k], one per channel; never masked.
    public let weight: Parameter
    /// The bias [C], or nil (the default).
    public let bias: Parameter?
    /// Stride and zero padding, the same along height and width.
    public let stride: Int, padding: Int

    /// A depthwise k×k convolution over `channels` channels with zero-filled parameters.
    public init(name: String, channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = false) {
        weight = Parameter(name: "\(name).weight", shape: [channels, 1, kernel, kernel], role: .weight, maskable: false)
        self.bias = bias ? Parameter(name: "\(name).bias", shape: [channels], role: .bias, maskable: false) : nil
        self.stride = stride
        self.padding = padding
    }

    /// y[n, c] = x[n, c] ⋆ w[c] + b[c] on NCHW input. Errors: `.shape` when `x` is not
    /// [N, channels, H, W] or the kernel exceeds the padded input.
    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        try ctx.depthwiseConv2d(x, weight.variable, bias?.variable, stride: stride, padding: padding)
    }
    /// The weight, then the bias if any.
    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
}

/// Batch normalisation (affine or not), with running statistics.
public final class BatchNorm: Module {
    /// The layer name, prefix of its parameter and buffer names.
    public let name: String
    /// Scale γ (starts at 1) and shift β (starts at 0), each [C]; nil when not affine.
    public let gamma: Parameter?, beta: Parameter?
    /// Running mean and variance [C] (start at 0 and 1): updated in place in training, used in evaluation.
    public let runningMean: Tensor, runningVar: Tensor
    /// Update rate of the running statistics, and the ε added to the variance.
    public let momentum: Float, eps: Float

    /// A batch norm over `channels` channels (PyTorch defaults: momentum 0.1, ε = 1e-5).
    public init(name: String, channels: Int, affine: Bool = true, momentum: Float = 0.1, eps: Float = 1e-5) {
        self.name = name
        gamma = affine ? Parameter(name: "\(name).weight", shape: [channels], role: .normWeight, maskable: false) : nil
        beta = affine ? Parameter(name: "\(name).bias", shape: [channels], role: .normBias, maskable: false) : nil
        gamma?.value.fill(1)
        runningMean = Tensor(shape: [channels])
        runningVar = Tensor(shape: [channels], repeating: 1)
        self.momentum = momentum
        self.eps = eps
    }

    /// y = γ·(x − μ)/√(σ² + ε) + β per channel of [N, C] or [N, C, H, W]: batch statistics in training,
    /// running ones otherwise. Errors: `.shape` for a wrong rank or channel count, or one value per channel in training.
    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        try normalize(x, ctx, relu: false)
    }

    /// The norm of `x` with this layer's parameters and statistics, then ReLU when `relu`.
    fileprivate func normalize(_ x: Var, _ ctx: Context, relu: Bool) throws -> Var {
        try ctx.batchNorm(x, gamma: gamma?.variable, beta: beta?.variable, runningMean: runningMean,
                          runningVar: runningVar, momentum: momentum, eps: eps, relu: relu)
    }
    /// γ and β when affine, else none.
    public var parameters: [Parameter] { [gamma, beta].compactMap { $0 } }
    /// `name.running_mean` and `name.running_var`.
    public var buffers: [(String, Tensor)] { [("\(name).running_mean", runningMean), ("\(name).running_var", runningVar)] }
}

/// Instance normalisation (affine or not).
public final class InstanceNorm: Module {
    /// Scale γ (starts at 1) and shift β (starts at 0), each [C]; nil when not affine (the default).
    public let gamma: Parameter?, beta: Parameter?
    /// The ε added to the variance.
    public let eps: Float

    /// An instance norm over `channels` channels.
    public init(name: String, channels: Int, affine: Bool = false, eps: Float = 1e-5) {
        gamma = affine ? Parameter(name: "\(name).weight", shape: [channels], role: .normWeight, maskable: false) : nil
        beta = affine ? Parameter(name: "\(name).bias", shape: [channels], role: .normBias, maskable: false) : nil
        gamma?.value.fill(1)
        self.eps = eps
    }

    /// y = γ·(x − μ)/√(σ² + ε) + β, statistics per (sample, channel) over H·W of NCHW input.
    /// Errors: `.shape` for a non-4-D input, a channel mismatch or a single-pixel plane.
    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        try ctx.instanceNorm(x, gamma: gamma?.variable, beta: beta?.variable, eps: eps)
    }
    /// γ and β when affine, else none.
    public var parameters: [Parameter] { [gamma, beta].compactMap { $0 } }
}

extension BatchNorm: ReLUFusable {
    /// max(batchNorm(x), 0) in one pass, training and evaluation alike.
    package func forwardFusingReLU(_ x: Var, _ ctx: Context) throws -> Var? { try normalize(x, ctx, relu: true) }
}

extension Linear: ReLUFusable {
    package func forwardFusingReLU(_ x: Var, _ ctx: Context) throws -> Var? {
        guard !ctx.recordGrad, let sparse = try ctx.sparseInference?.weight(for: weight, ctx) else { return nil }
        ctx.layerObserver?(self, x)
        return try ctx.sparseLinear(x, sparse, bias?.variable, relu: true)
    }
}

extension Linear: LaneChainable {
    package func laneStage(_ ctx: Context) throws -> LaneStage? {
        guard !ctx.recordGrad, let sparse = try ctx.sparseInference?.weight(for: weight, ctx), sparse.kernel == .lanes,
              sparse.shape.count == 2 else { return nil }
        return LaneStage(weight: sparse, bias: bias?.variable, relu: false)
    }
}

extension Conv2d: ReLUPoolFusable {
    /// conv → ReLU → 2×2 max pooling in one pass on the lane kernel (`Context.sparseConv2dReLUPool`);
    /// nil elsewhere.
    package func forwardFusingReLUPool(_ x: Var, _ ctx: Context) throws -> Var? {
        guard !ctx.recordGrad, let sparse = try ctx.sparseInference?.weight(for: weight, ctx),
              let y = try ctx.sparseConv2dReLUPool(x, sparse, bias?.variable, stride: stride, padding: padding) else { return nil }
        ctx.layerObserver?(self, x)
        return y
    }
}

extension Conv2d: ReLUFusable {
    /// conv → ReLU in one output pass on the sparse kernels (`Context.sparseMaskedConv2d`); nil
    /// on the dense paths.
    package func forwardFusingReLU(_ x: Var, _ ctx: Context) throws -> Var? {
        guard let y = try ctx.sparseMaskedConv2d(x, weight, bias?.variable, stride: stride, padding: padding, relu: true) else { return nil }
        ctx.layerObserver?(self, x)
        return y
    }
}
