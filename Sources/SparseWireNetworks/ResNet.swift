import SparseWireTensor
import SparseWireAutograd

/// A post-activation residual block: y = ReLU(body(x) + shortcut(x)), the shortcut the identity
/// when nil (He et al. 2016, "option B": a 1×1 conv + norm where the shape changes).
public final class Residual: Module {
    /// conv 3×3 → norm → ReLU → conv 3×3 → norm.
    public let body: Sequential
    /// The projection (1×1 conv with the block's stride → norm), or nil for the identity.
    public let shortcut: Sequential?

    /// A block of `body` and `shortcut` (nil: identity).
    public init(body: Sequential, shortcut: Sequential?) { self.body = body; self.shortcut = shortcut }

    /// ReLU(body(x) + shortcut(x)). Errors: `.shape` when the two branches disagree, or what a
    /// layer throws.
    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        let b = try body.forward(x, ctx)
        let s = try shortcut?.forward(x, ctx) ?? x
        return ctx.relu(try ctx.add(b, s))
    }
    /// The body's parameters, then the shortcut's.
    public var parameters: [Parameter] { body.parameters + (shortcut?.parameters ?? []) }
    /// The body's buffers, then the shortcut's.
    public var buffers: [(String, Tensor)] { body.buffers + (shortcut?.buffers ?? []) }
}

extension Models {
    /// The ResNet depths `resnet(depth:…)` builds: CIFAR-style 6n+2 (20 … 110) and ResNet-18.
    public static let resNetDepths = [18, 20, 32, 44, 56, 110]

    /// CIFAR-style ResNets for small images (3×3 stem, no max-pool), basic blocks:
    /// - depth 6n + 2 (20, 32, 44, 56, 110): three stages of n blocks with 16, 32, 64 channels;
    /// - depth 18: four stages of 2 blocks with 64, 128, 256, 512 channels (ResNet-18 with the
    ///   CIFAR stem, as the sparse-training papers use it).
    /// Every stage after the first halves the resolution in its first block (stride 2, projection
    /// shortcut). Then global average pooling and the linear classifier `fc`. `width` scales every
    /// layer's channels; convs have no bias; `norm` is each conv's batch norm (`.none` leaves it
    /// out — ResNets are meant with `.affine`, or `.nonaffine` for edge-popup). Conv and fc
    /// weights are maskable. Errors: `.config` for another depth or a width ≤ 0.
    public static func resNet(depth: Int, input: InputSpec, width: Double = 1, norm: NormKind = .affine) throws -> Network {
        guard width > 0 else { throw SparseWireError.config("model.width must be > 0, got \(width)") }
        let stages: [(channels: Int, blocks: Int)]
        switch depth {
        case 18: stages = [(64, 2), (128, 2), (256, 2), (512, 2)]
        case let d where resNetDepths.contains(d): stages = [16, 32, 64].map { ($0, (d - 2) / 6) }
        default:
            throw SparseWireError.config("resnet depth must be one of \(resNetDepths.map(String.init).joined(separator: ", ")), got \(depth)")
        }
        func scaled(_ c: Int) -> Int { max(1, Int((Double(c) * width).rounded())) }
        func convNorm(_ name: String, _ cin: Int, _ cout: Int, kernel: Int, stride: Int) -> [any Module] {
            [Conv2d(name: name, inChannels: cin, outChannels: cout, kernel: kernel, stride: stride, padding: kernel / 2, bias: false)]
                + (norm == .none ? [] : [BatchNorm(name: "\(name).bn", channels: cout, affine: norm == .affine)])
        }
        var ch = scaled(stages[0].channels)
        var layers: [any Module] = convNorm("conv1", input.channels, ch, kernel: 3, stride: 1) + [Lambda.relu]
        for (s, stage) in stages.enumerated() {
            let out = scaled(stage.channels)
            for b in 0..<stage.blocks {
                let stride = s > 0 && b == 0 ? 2 : 1
                let name = "layer\(s + 1).\(b)"
                let body = Sequential(convNorm("\(name).conv1", ch, out, kernel: 3, stride: stride) + [Lambda.relu]
                                      + convNorm("\(name).conv2", out, out, kernel: 3, stride: 1))
                let shortcut = stride != 1 || ch != out ? Sequential(convNorm("\(name).shortcut", ch, out, kernel: 1, stride: stride)) : nil
                layers.append(Residual(body: body, shortcut: shortcut))
                ch = out
            }
        }
        layers += [Lambda.globalAvgPool, Linear(name: "fc", inFeatures: ch, outFeatures: input.classes)]
        return Network(name: "resnet\(depth)", body: Sequential(layers))
    }
}
