import SparseWireTensor
/// A trainable (or frozen) tensor of a network, with room for the mask machinery:
/// a `scores` tensor and a `mask` tensor of the same shape, filled by a mask policy.
public final class Parameter {
    /// What the tensor is in its layer; `Models.initialize` fills parameters by role.
    public enum Role: String, Sendable { case weight, bias, normWeight, normBias, other }

    /// Dotted name such as `conv1.weight`; keys the parameter in optimizer state and exports.
    public let name: String
    /// What the tensor is in its layer (weight, bias, norm scale or shift, other).
    public let role: Role
    /// The leaf node used in every forward pass; its `grad` accumulates until `zeroGrad()`.
    public let variable: Var
    /// Whether a mask policy may mask this tensor (conv and linear weights).
    public let maskable: Bool
    /// Frozen tensors are never changed by the optimizer.
    public var trainable: Bool = true
    /// Learned scores (edge-popup) or logits (supermask); nil when the policy uses none.
    public var scores: Tensor?
    /// The binary (or sampled) forward mask; nil means dense.
    public var mask: Tensor?
    /// The number of weights a mask policy keeps in this tensor when the model prescribes it
    /// (MobileNetV1-DNW's edge budget per graph block); nil: the run's density allocates it.
    public var keepBudget: Int?
    /// The structure the mask policy guarantees for this weight's mask ("2:4", "block 1x8",
    /// "channel", "fanin"; `MaskStructure.description`), set when a policy binds it; nil:
    /// unstructured. Inference picks the structured (lane) kernels by it.
    public var maskStructure: String?

    /// A zero-filled tensor of `shape` (fill it with an `Initializer`), trainable, without scores or mask.
    public init(name: String, shape: [Int], role: Role, maskable: Bool) {
        self.name = name
        self.role = role
        self.maskable = maskable
        variable = Var(Tensor(shape: shape), requiresGrad: true)
    }

    /// The current values (`variable.value`, same storage).
    public var value: Tensor { variable.value }
    /// The accumulated dense gradient, same shape as `value`; nil before a backward pass, after
    /// `zeroGrad()`, or when sparse training delivered only `activeGradient`.
    public var grad: Tensor? { variable.grad }
    /// The gradient at the kept entries only, when sparse training computed no more (see
    /// `ActiveGradient`); nil otherwise. Optimizers update just these entries.
    public internal(set) var activeGradient: ActiveGradient?
    /// The shape, e.g. [out, in] for a linear weight or [out, in, kh, kw] for a conv weight.
    public var shape: [Int] { variable.value.shape }
    /// The number of elements, masked or not.
    public var count: Int { variable.value.count }

    /// Fan-in and fan-out as PyTorch computes them: [out, in, k...] → (in·Πk, out·Πk).
    public var fans: (fanIn: Int, fanOut: Int) {
        let s = shape
        if s.count < 2 { return (s.first ?? 1, s.first ?? 1) }
        let receptive = s.dropFirst(2).reduce(1, *)
        return (s[1] * receptive, s[0] * receptive)
    }

    /// The number of weights the forward pass uses (non-zero mask entries; all when dense).
    public var keptCount: Int {
        guard let mask else { return count }
        var k = 0
        for i in 0..<mask.count where mask[i] != 0 { k += 1 }
        return k
    }

    /// Clears both gradients (dense and active-entry) before the next backward pass.
    public func zeroGrad() { variable.zeroGrad(); activeGradient = nil }

    /// Adds dL/dw at `indices` (flat, ascending; the same array object each step of one mask).
    /// A second delivery with other indices, or one beside a dense gradient, is folded into the
    /// dense `grad` (exact, just slower).
    public func accumulateActive(indices: ActiveIndices, values: Tensor) {
        if variable.grad == nil, activeGradient == nil { activeGradient = ActiveGradient(indices: indices, values: values); return }
        if let a = activeGradient, a.indices === indices, variable.grad == nil {
            BLAS.axpy(values.count, 1, values.data, a.values.data)
            return
        }
        variable.accumulate(ActiveGradient(indices: indices, values: values).dense(shape: shape))
        if let a = activeGradient { activeGradient = nil; variable.accumulate(a.dense(shape: shape)) }
    }

    /// The gradient as one dense tensor: `grad`, with `activeGradient` scattered in; nil when
    /// neither exists. For readers of whole gradients (C ABI, L1 penalties, NaN reports).
    public func denseGradient() -> Tensor? {
        guard let a = activeGradient else { return grad }
        let d = a.dense(shape: shape)
        if let g = grad { BLAS.axpy(g.count, 1, g.data, d.data) }
        return d
    }
}

/// Flat indices (row-major, ascending) of a weight's kept entries, shared by reference so that
/// gradients of one mask can be recognised and added without comparing them.
public final class ActiveIndices {
    /// The indices, each in 0 ..< the weight's count.
    public let indices: [Int32]
    /// Wraps `indices` (not checked).
    public init(_ indices: [Int32]) { self.indices = indices }
    /// The number of entries.
    public var count: Int { indices.count }
}

/// dL/dw at a weight's kept entries: `values[j]` belongs to flat entry `indices.indices[j]`; the
/// gradient is zero everywhere else.
public struct ActiveGradient {
    /// Where the values go.
    public let indices: ActiveIndices
    /// One value per index.
    public let values: Tensor

    /// `values[j]` at flat entry `indices.indices[j]` (counts not checked).
    public init(indices: ActiveIndices, values: Tensor) { self.indices = indices; self.values = values }

    /// Zeros of `shape` with the values scattered in.
    public func dense(shape: [Int]) -> Tensor {
        let d = Tensor(shape: shape), dp = d.data, vp = values.data
        indices.indices.withUnsafeBufferPointer { ip in for j in 0..<ip.count { dp[Int(ip[j])] += vp[j] } }
        return d
    }
}
