import SparseWireTensor
import SparseWireAutograd
/// The network to build: the typed form of the `model.*` and `graph.*` config keys.
public struct ModelSpec: Sendable {
    /// One of `Models.names`.
    public var name: String
    /// MLP hidden widths (each > 0).
    public var hidden: [Int]
    /// Conv nets: multiplier of every layer's width (> 0); wrn: the widening factor k.
    public var width: Double
    /// wrn: the depth, 6n + 4.
    public var depth: Int
    /// mobilenetv1-dnw: the edge budget as a MobileNetV1 width multiplier (0, 1].
    public var edgeBudget: Double
    /// Biases in linear/conv layers; nil takes the model's default (mlp: true, conv nets: false).
    public var bias: Bool?
    /// Normalisation layers of the mlp and conv nets (`model.norm`).
    public var norm: NormKind
    /// Initialiser of the maskable weights.
    public var initializer: Initializer
    /// RandWire's graphs and widths (`model.name: randwire`).
    public var randWire: RandWireSpec
    /// DNW's channel graph (`model.name: dnw`).
    public var dnw: DNWSpec

    /// A spec; the defaults give LeNet-300-100 (mlp) without norm, kaiming-normal initialised.
    public init(name: String = "mlp", hidden: [Int] = [300, 100], width: Double = 1, depth: Int = 22, edgeBudget: Double = 0.225, bias: Bool? = nil,
                norm: NormKind = .none, initializer: Initializer = .kaimingNormal(),
                randWire: RandWireSpec = RandWireSpec(generator: .ws(n: 32, k: 4, p: 0.75), seed: 1),
                dnw: DNWSpec = DNWSpec(setting: .staticGraph)) {
        self.name = name; self.hidden = hidden; self.width = width; self.depth = depth; self.edgeBudget = edgeBudget; self.bias = bias; self.norm = norm
        self.initializer = initializer; self.randWire = randWire; self.dnw = dnw
    }
}

extension Models {
    /// Builds the network `spec` names for inputs of geometry `input` (parameters uninitialised;
    /// see `initialize`), after checking that a training step at `batchSize` fits in
    /// `memoryLimit` bytes (`estimate`). Errors: `.config` naming the key of a value the model
    /// cannot use, or of a size that does not fit.
    public static func build(_ spec: ModelSpec, input: InputSpec, batchSize: Int = 1,
                             memoryLimit: Double = MemoryBudget.defaultLimit) throws -> Network {
        try estimate(spec, input: input).check(batchSize: batchSize, limit: memoryLimit)
        switch spec.name {
        case "mlp":
            guard spec.hidden.allSatisfy({ $0 > 0 }) else { throw SparseWireError.config("model.hidden widths must be > 0, got \(spec.hidden)") }
            return mlp(input: input, hidden: spec.hidden, bias: spec.bias ?? true, norm: spec.norm)
        case "randwire":
            return try randWire(input: input, spec: spec.randWire)
        case "dnw":
            return try dnwTiny(input: input, spec: spec.dnw)
        case "mobilenetv1":
            return try mobileNetV1(input: input, width: spec.width, norm: spec.norm)
        case "mobilenetv1-dnw":
            return try mobileNetV1DNW(input: input, width: spec.width, edgeBudget: spec.edgeBudget, norm: spec.norm)
        case "wrn":
            return try wideResNet(depth: spec.depth, input: input, width: spec.width, norm: spec.norm)
        case let name where name.hasPrefix("resnet"):
            return try resNet(depth: Int(name.dropFirst(6)) ?? 0, input: input, width: spec.width, norm: spec.norm)
        case let name where name.hasPrefix("conv"):
            return try convNet(depth: Int(name.dropFirst(4)) ?? 0, input: input, width: spec.width,
                               bias: spec.bias ?? false, norm: spec.norm)
        case let other:
            throw SparseWireError.config("unknown model '\(other)'; known: \(names.joined(separator: ", "))")
        }
    }
}
