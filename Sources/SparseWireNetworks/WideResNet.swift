import SparseWireTensor
import SparseWireAutograd

extension Models {
    /// The depths `wideResNet(depth:…)` accepts: 6n + 4 with n ≥ 1 blocks per stage.
    public static func isWideResNetDepth(_ depth: Int) -> Bool { depth >= 10 && (depth - 4) % 6 == 0 }

    /// Wide ResNet WRN-d-k (Zagoruyko & Komodakis 2016) for small images, as the sparse-training
    /// papers use it (RigL's WRN-22-2): a 3×3 stem conv to 16 channels, three stages of
    /// n = (d − 4)/6 pre-activation blocks with 16k, 32k, 64k channels (the second and third
    /// halve the resolution in their first block), then norm → ReLU → global average pooling →
    /// the linear classifier `fc`. A block is norm → ReLU → conv 3×3 (stride) → norm → ReLU →
    /// conv 3×3, added to the input, or to a 1×1 projection of the pre-activated input where the
    /// shape changes (`Residual(pre:body:shortcut:)`). `width` is the widening factor k (any
    /// value > 0: channels are rounded, at least 1); convs have no bias; `norm` is every batch
    /// norm (`.none` leaves them out; WRNs are meant with `.affine`). Conv and fc weights are
    /// maskable. Errors: `.config` for a depth that is not 6n + 4 (≥ 10) or a width ≤ 0.
    public static func wideResNet(depth: Int, input: InputSpec, width: Double = 2, norm: NormKind = .affine) throws -> Network {
        guard isWideResNetDepth(depth) else {
            throw SparseWireError.config("model.depth for wrn must be 6n + 4 with n ≥ 1 (10, 16, 22, 28, 34, 40, …), got \(depth)")
        }
        guard width > 0 else { throw SparseWireError.config("model.width (the widening factor k) must be > 0, got \(width)") }
        func scaled(_ c: Int) -> Int { max(1, Int((Double(c) * width).rounded())) }
        func normed(_ name: String, _ c: Int) -> [any Module] {
            norm == .none ? [] : [BatchNorm(name: name, channels: c, affine: norm == .affine)]
        }
        func conv(_ name: String, _ cin: Int, _ cout: Int, kernel: Int, stride: Int) -> Conv2d {
            Conv2d(name: name, inChannels: cin, outChannels: cout, kernel: kernel, stride: stride, padding: kernel / 2, bias: false)
        }
        let blocks = (depth - 4) / 6
        var ch = 16
        var layers: [any Module] = [conv("conv1", input.channels, ch, kernel: 3, stride: 1)]
        for (s, base) in [16, 32, 64].enumerated() {
            let out = scaled(base)
            for b in 0..<blocks {
                let stride = s > 0 && b == 0 ? 2 : 1
                let name = "block\(s + 1).\(b)"
                let pre = Sequential(normed("\(name).bn1", ch) + [Lambda.relu])
                let body = Sequential([conv("\(name).conv1", ch, out, kernel: 3, stride: stride)] + normed("\(name).bn2", out)
                                      + [Lambda.relu, conv("\(name).conv2", out, out, kernel: 3, stride: 1)])
                let shortcut = stride != 1 || ch != out ? Sequential([conv("\(name).shortcut", ch, out, kernel: 1, stride: stride)]) : nil
                layers.append(Residual(pre: pre, body: body, shortcut: shortcut))
                ch = out
            }
        }
        layers += normed("bn", ch) + [Lambda.relu, Lambda.globalAvgPool, Linear(name: "fc", inFeatures: ch, outFeatures: input.classes)]
        return Network(name: "wrn", body: Sequential(layers))
    }
}
