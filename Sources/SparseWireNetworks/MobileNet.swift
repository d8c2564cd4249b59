import SparseWireTensor
import SparseWireAutograd

extension Models {
    /// MobileNetV1's 13 depthwise-separable blocks: (output channels, stride of the depthwise conv).
    static let mobileNetBlocks: [(channels: Int, stride: Int)] = [
        (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
        (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
    ]

    /// MobileNetV1 (Howard et al. 2017) with a CIFAR-style stem for small images: conv 3×3 to 32
    /// channels at stride 1 → norm → ReLU, then 13 blocks of depthwise 3×3 (stride 1 or 2) → norm
    /// → ReLU → pointwise 1×1 → norm → ReLU (`block<i>.dw`, `block<i>.pw`), global average
    /// pooling and the linear classifier `fc`. `width` is the width multiplier α (every channel
    /// count × α); convs have no bias; `norm` is each conv's batch norm (`.none` leaves it out;
    /// MobileNets are meant with `.affine`). The pointwise convs and `fc` are maskable (DNW
    /// learns the pointwise wiring); the stem and the depthwise filters are not.
    /// Errors: `.config` for a width ≤ 0.
    public static func mobileNetV1(input: InputSpec, width: Double = 1, norm: NormKind = .affine) throws -> Network {
        guard width > 0 else { throw SparseWireError.config("model.width must be > 0, got \(width)") }
        func scaled(_ c: Int) -> Int { max(1, Int((Double(c) * width).rounded())) }
        func normed(_ name: String, _ c: Int) -> [any Module] {
            norm == .none ? [] : [BatchNorm(name: name, channels: c, affine: norm == .affine)]
        }
        var ch = scaled(32)
        var layers: [any Module] = [Conv2d(name: "conv1", inChannels: input.channels, outChannels: ch, kernel: 3, padding: 1,
                                           bias: false, maskable: false)]
            + normed("bn1", ch) + [Lambda.relu]
        for (i, block) in mobileNetBlocks.enumerated() {
            let out = scaled(block.channels), name = "block\(i + 1)"
            layers.append(DepthwiseConv2d(name: "\(name).dw", channels: ch, kernel: 3, stride: block.stride, padding: 1))
            layers += normed("\(name).dw_bn", ch) + [Lambda.relu]
            layers.append(Conv2d(name: "\(name).pw", inChannels: ch, outChannels: out, kernel: 1, bias: false))
            layers += normed("\(name).pw_bn", out) + [Lambda.relu]
            ch = out
        }
        layers += [Lambda.globalAvgPool, Linear(name: "fc", inFeatures: ch, outFeatures: input.classes)]
        return Network(name: "mobilenetv1", body: Sequential(layers))
    }
}
