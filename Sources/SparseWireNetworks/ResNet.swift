import SparseWireTensor
import SparseWireAutograd

/// A residual block. Post-activation (He et al. 2016, `pre` nil): y = ReLU(body(x) + shortcut(x)),
/// the shortcut the identity when nil ("option B": a 1×1 conv + norm where the shape changes).
/// Pre-activation (He et al. 2016b, Wide ResNets; `pre` set): a = pre(x) (norm → ReLU),
/// y = body(a) + shortcut(a), or body(a) + x when the shortcut is the identity; no ReLU after the sum.
public final class Residual: Module {
    /// The pre-activation shared by the body and a projection shortcut, or nil (post-activation).
    public let pre: Sequential?
    /// Post-activation: conv 3×3 → norm → ReLU → conv 3×3 → norm; pre-activation: conv 3×3 →
    /// norm → ReLU → conv 3×3.
    public let body: Sequential
    /// The projection (1×1 conv with the block's stride, → norm when post-activation), or nil
    /// for the identity.
    public let shortcut: Sequential?

    /// A post-activation block of `body` and `shortcut` (nil: identity).
    public init(body: Sequential, shortcut: Sequential?) { self.pre = nil; self.body = body; self.shortcut = shortcut }
    /// A pre-activation block: `pre`, then `body` and `shortcut` (nil: identity on the input).
    public init(pre: Sequential, body: Sequential, shortcut: Sequential?) { self.pre = pre; self.body = body; self.shortcut = shortcut }

    /// The block's output (see the type). Errors: `.shape` when the two branches disagree, or
    /// what a layer throws.
    public func forward(_ x: Var, _ ctx: Context) throws -> Var {
        guard let pre else {
            let b = try body.forward(x, ctx)
            let s = try shortcut?.forward(x, ctx) ?? x
            return ctx.relu(try ctx.add(b, s))
        }
        let a = try pre.forward(x, ctx)
        let b = try body.forward(a, ctx)
        return try ctx.add(b, try shortcut?.forward(a, ctx) ?? x)
    }
    /// The pre-activation's parameters, the body's, then the shortcut's.
    public var parameters: [Parameter] { (pre?.parameters ?? []) + body.parameters + (shortcut?.parameters ?? []) }
    /// The pre-activation's buffers, the body's, then the shortcut's.
    public var buffers: [(String, Tensor)] { (pre?.buffers ?? []) + body.buffers + (shortcut?.buffers ?? []) }
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
