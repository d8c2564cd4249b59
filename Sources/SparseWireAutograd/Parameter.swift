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
    /// The accumulated gradient, same shape as `value`; nil before a backward pass or after `zeroGrad()`.
    public var grad: Tensor? { variable.grad }
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
}
