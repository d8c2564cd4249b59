import SparseWireTensor
extension Context {
    /// Depthwise 2-D convolution: each channel convolved with its own kernel, weight [C, 1, kh, kw],
    /// y[n, c] = x[n, c] ⋆ w[c] + b[c] (any stride and zero padding; computed with the batch
    /// in the vector lanes, see `depthwiseLanes`). Errors: `.shape` for a weight that is not
    /// [C, 1, kh, kw], a bias that is not [C], or a kernel larger than the padded input.
    public func depthwiseConv2d(_ x: Var, _ w: Var, _ b: Var?, stride: Int = 1, padding: Int = 0) throws -> Var {
        let g = try ConvGeometry(input: x.shape, weight: w.shape, stride: stride, pad: padding, op: "depthwise_conv2d")
        guard w.shape[0] == g.c, w.shape[1] == 1 else {
            throw SparseWireError.shape("depthwise_conv2d: weight must be [\(g.c), 1, kh, kw] for \(g.c) channels, got \(w.shape)")
        }
        if let b, b.shape != [g.c] {
            throw SparseWireError.shape("depthwise_conv2d: bias shape \(b.shape) should be [\(g.c)]")
        }
        return depthwiseLanes(x, w, b, g)
    }
}
