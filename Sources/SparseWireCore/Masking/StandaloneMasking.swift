import Foundation

/// A mask policy without an engine or network: the host owns weights, scores and gradients
/// (a NumPy or PyTorch loop) and asks for masks. Layers are declared by shape; the first
/// `beforeForward` allocates densities and runs the policy's `prepare`.
public final class StandaloneMasking {
    public let descriptor: PolicyDescriptor
    public let policy: any MaskPolicy
    public let context: PolicyContext
    private let distribution: DensityDistribution
    public private(set) var parameters: [Parameter] = []
    public private(set) var layers: [MaskedLayer] = []
    public var prepared: Bool { !layers.isEmpty }

    /// `config` may set `policy`, `density`, `seed`, `policy_options`, `masking.scope`, `masking.distribution`.
    public init(config: Config) throws {
        (descriptor, policy) = try PolicyRegistry.make(config)
        let scope = MaskScope(rawValue: config.string("masking.scope")) ?? .layer
        context = PolicyContext(rng: RNG(seed: UInt64(bitPattern: Int64(config.int("seed")))),
                                density: config.double("density"), scope: scope)
        let d = config.string("masking.distribution")
        distribution = d == "auto" ? descriptor.preferredDistribution : (DensityDistribution(rawValue: d) ?? .uniform)
    }

    /// Declares the next layer. Only before the first step.
    public func addLayer(name: String, shape: [Int]) throws {
        guard !prepared else { throw SparseWireError(.state, "add_layer '\(name)': the policy has already started (declare every layer before the first step)") }
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }), shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue }) < (1 << 40) else {
            throw SparseWireError.shape("layer '\(name)': shape \(shape) must have 1+ positive dimensions")
        }
        guard !parameters.contains(where: { $0.name == name }) else { throw SparseWireError.config("layer '\(name)' is declared twice") }
        parameters.append(Parameter(name: name, shape: shape, role: .weight, maskable: true))
    }

    /// Allocates the densities and runs `prepare` (first call only).
    public func prepareIfNeeded() throws {
        guard !prepared else { return }
        guard !parameters.isEmpty else { throw SparseWireError(.state, "no layer declared (call add_layer first)") }
        let counts = DensityAllocation.keptCounts(shapes: parameters.map(\.shape), density: context.density, distribution: distribution)
        layers = zip(parameters, counts).enumerated().map { i, pc in
            MaskedLayer(parameter: pc.0, index: i, density: Double(pc.1) / Double(pc.0.count))
        }
        try policy.prepare(layers, context)
    }

    public func step(_ step: Int, of total: Int) -> MaskStep {
        MaskStep(step: step, epoch: 0, stepsPerEpoch: Swift.max(total, 1), totalSteps: total, training: true)
    }

    public func beforeForward(_ s: MaskStep) throws {
        for l in layers { l.denseGradient = nil }
        try policy.updateMasks(layers, s, context)
    }

    /// `grads[i]` (may be nil) is dL/dŵ of layer i.
    public func afterBackward(_ s: MaskStep, grads: [Tensor?]) throws -> Bool {
        for (l, g) in zip(layers, grads) { l.denseGradient = g }
        defer { for l in layers { l.denseGradient = nil } }
        return try policy.afterBackward(layers, s, context)
    }

    public func afterStep(_ s: MaskStep) throws { try policy.afterStep(layers, s, context) }

    public func evaluationMasks() throws { try policy.evaluationMasks(layers, context) }
}
