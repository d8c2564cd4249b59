import SparseWireTensor
import SparseWireAutograd
/// y = x·Wᵀ + b
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?

    public init(name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true, maskable: Bool = true) {
        weight = Parameter(name: "\(name).weight", shape: [outFeatures, inFeatures], role: .weight, maskable: maskable)
        self.bias = bias ? Parameter(name: "\(name).bias", shape: [outFeatures], role: .bias, maskable: false) : nil
    }

    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        ctx.layerObserver?(self, x)
        if !ctx.recordGrad, let sparse = try ctx.sparseInference?.weight(for: weight, ctx) {
            return try ctx.sparseLinear(x, sparse, bias?.variable)
        }
        return try ctx.linear(x, ctx.effective(weight), bias?.variable)
    }
    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
}

/// 2-D convolution (NCHW, PyTorch weight layout).
public final class Conv2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int

    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
                maskable: Bool = true) {
        weight = Parameter(name: "\(name).weight", shape: [outChannels, inChannels, kernel, kernel], role: .weight, maskable: maskable)
        self.bias = bias ? Parameter(name: "\(name).bias", shape: [outChannels], role: .bias, maskable: false) : nil
        self.stride = stride
        self.padding = padding
    }

    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        ctx.layerObserver?(self, x)
        if !ctx.recordGrad, let sparse = try ctx.sparseInference?.weight(for: weight, ctx) {
            return try ctx.sparseConv2d(x, sparse, bias?.variable, stride: stride, padding: padding)
        }
        return try ctx.conv2d(x, ctx.effective(weight), bias?.variable, stride: stride, padding: padding)
    }
    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
}

/// Depthwise convolution: one k×k kernel per channel.
public final class DepthwiseConv2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int

    public init(name: String, channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = false) {
        weight = Parameter(name: "\(name).weight", shape: [channels, 1, kernel, kernel], role: .weight, maskable: false)
        self.bias = bias ? Parameter(name: "\(name).bias", shape: [channels], role: .bias, maskable: false) : nil
        self.stride = stride
        self.padding = padding
    }

    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        try ctx.depthwiseConv2d(x, weight.variable, bias?.variable, stride: stride, padding: padding)
    }
    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
}

/// Batch normalisation (affine or not), with running statistics.
public final class BatchNorm: Module {
    public let name: String
    public let gamma: Parameter?, beta: Parameter?
    public let runningMean: Tensor, runningVar: Tensor
    public let momentum: Float, eps: Float

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

    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        try ctx.batchNorm(x, gamma: gamma?.variable, beta: beta?.variable, runningMean: runningMean,
                          runningVar: runningVar, momentum: momentum, eps: eps)
    }
    public var parameters: [Parameter] { [gamma, beta].compactMap { $0 } }
    public var buffers: [(String, Tensor)] { [("\(name).running_mean", runningMean), ("\(name).running_var", runningVar)] }
}

/// Instance normalisation (affine or not).
public final class InstanceNorm: Module {
    public let gamma: Parameter?, beta: Parameter?
    public let eps: Float

    public init(name: String, channels: Int, affine: Bool = false, eps: Float = 1e-5) {
        gamma = affine ? Parameter(name: "\(name).weight", shape: [channels], role: .normWeight, maskable: false) : nil
        beta = affine ? Parameter(name: "\(name).bias", shape: [channels], role: .normBias, maskable: false) : nil
        gamma?.value.fill(1)
        self.eps = eps
    }

    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        try ctx.instanceNorm(x, gamma: gamma?.variable, beta: beta?.variable, eps: eps)
    }
    public var parameters: [Parameter] { [gamma, beta].compactMap { $0 } }
}

extension Linear: ReLUFusable {
    package func forwardFusingReLU(_ x: Var, _ ctx: Context) throws -> Var? {
        guard let sparse = try ctx.sparseInference?.weight(for: weight, ctx) else { return nil }
        ctx.layerObserver?(self, x)
        return try ctx.sparseLinear(x, sparse, bias?.variable, relu: true)
    }
}

extension Conv2d: ReLUFusable {
    package func forwardFusingReLU(_ x: Var, _ ctx: Context) throws -> Var? {
        guard let sparse = try ctx.sparseInference?.weight(for: weight, ctx) else { return nil }
        ctx.layerObserver?(self, x)
        return try ctx.sparseConv2d(x, sparse, bias?.variable, stride: stride, padding: padding, relu: true)
    }
}
