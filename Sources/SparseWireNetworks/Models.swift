import SparseWireTensor
import SparseWireAutograd
/// How normalisation layers are placed in the conv nets.
public enum NormKind: String, Sendable, CaseIterable {
    case none, affine, nonaffine
}

/// A classifier: a module plus what it was built from.
public final class Network: Module {
    /// The model name, e.g. `conv4` or `dnw-static`.
    public let name: String
    /// The module the network runs.
    public let body: any Module
    /// Wraps `body` under `name`.
    public init(name: String, body: any Module) { self.name = name; self.body = body }
    /// Runs `body` on `x`: logits [N, classes] for the built models. Errors: whatever `body` throws.
    public func forward(_ x: Var, _ ctx: Context) throws -> Var { try body.forward(x, ctx) }
    /// The body's parameters.
    public var parameters: [Parameter] { body.parameters }
    /// The body's buffers.
    public var buffers: [(String, Tensor)] { body.buffers }
    /// The number of parameter elements, masked or not.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}

/// Builders of the supported networks, and their initialisation.
public enum Models {
    /// The model names `build(_:input:)` accepts.
    public static let names = ["mlp", "conv2", "conv4", "conv6", "conv8", "randwire", "dnw"] + resNetDepths.map { "resnet\($0)" }
        + ["wrn", "mobilenetv1", "mobilenetv1-dnw"]

    /// Fully connected net: flatten → (linear → [BN] → ReLU)* → linear.
    /// `hidden: [300, 100]` is LeNet-300-100; `[256, 256]` is edge-popup's FC net.
    public static func mlp(input: InputSpec, hidden: [Int], bias: Bool = true, norm: NormKind = .none) -> Network {
        let layers: [any Module] = [Lambda.flatten]
            + classifier(inFeatures: input.features, hidden: hidden, classes: input.classes, bias: bias, norm: norm, normPrefix: "bn")
        return Network(name: "mlp", body: Sequential(layers))
    }

    /// The VGG-like Conv2/4/6/8 of edge-popup (Ramanujan et al.): blocks of two 3×3 convs and a
    /// 2×2 max-pool with 64, 128, 256, 512 channels, then FC 256, 256, classes. `width` scales
    /// every layer. No bias by default (as in the paper's code).
    public static func convNet(depth: Int, input: InputSpec, width: Double = 1, bias: Bool = false,
                               norm: NormKind = .none) throws -> Network {
        guard [2, 4, 6, 8].contains(depth) else {
            throw SparseWireError.config("conv net depth must be 2, 4, 6 or 8, got \(depth)")
        }
        guard width > 0 else { throw SparseWireError.config("model.width must be > 0, got \(width)") }
        func scaled(_ c: Int) -> Int { max(1, Int((Double(c) * width).rounded())) }
        var layers: [any Module] = []
        var ch = input.channels, h = input.height, w = input.width
        var idx = 0
        for block in 0..<(depth / 2) {
            let out = scaled(64 << block)
            for _ in 0..<2 {
                idx += 1
                layers.append(Conv2d(name: "conv\(idx)", inChannels: ch, outChannels: out, kernel: 3, padding: 1, bias: bias))
                if norm != .none { layers.append(BatchNorm(name: "bn\(idx)", channels: out, affine: norm == .affine)) }
                layers.append(Lambda.relu)
                ch = out
            }
            guard h >= 2, w >= 2 else {
                throw SparseWireError.config("conv\(depth): input \(input.height)×\(input.width) is too small for \(depth / 2) pooling stages")
            }
            layers.append(Lambda.maxPool(2))
            h /= 2; w /= 2
        }
        layers.append(Lambda.flatten)
        layers += classifier(inFeatures: ch * h * w, hidden: [scaled(256), scaled(256)], classes: input.classes,
                             bias: bias, norm: norm, normPrefix: "fcbn")
        return Network(name: "conv\(depth)", body: Sequential(layers))
    }

    /// (linear `fc<i>` → [batch norm `<normPrefix><i>`] → ReLU) for each hidden width, then the
    /// linear `fc<n+1>` to `classes` logits: the fully connected part of the MLP and the conv nets.
    static func classifier(inFeatures: Int, hidden: [Int], classes: Int, bias: Bool, norm: NormKind, normPrefix: String) -> [any Module] {
        var layers: [any Module] = []
        var width = inFeatures
        for (i, h) in hidden.enumerated() {
            layers.append(Linear(name: "fc\(i + 1)", inFeatures: width, outFeatures: h, bias: bias))
            if norm != .none { layers.append(BatchNorm(name: "\(normPrefix)\(i + 1)", channels: h, affine: norm == .affine)) }
            layers.append(Lambda.relu)
            width = h
        }
        layers.append(Linear(name: "fc\(hidden.count + 1)", inFeatures: width, outFeatures: classes, bias: bias))
        return layers
    }

    /// Initialises every parameter: maskable weights with `weightInit`, biases with zeros,
    /// norm weights with ones.
    public static func initialize(_ net: Network, weightInit: Initializer, rng: inout RNG, fanScale: Float = 1) {
        for p in net.parameters {
            switch p.role {
            case .weight: weightInit.fill(p, rng: &rng, fanScale: p.maskable ? fanScale : 1)
            case .normWeight: p.value.fill(1)
            case .bias, .normBias, .other: p.value.fill(0)
            }
        }
    }
}
