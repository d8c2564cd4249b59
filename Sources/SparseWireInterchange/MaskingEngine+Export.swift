import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
import SparseWireConfig
import SparseWireTraining

extension MaskingEngine {
    /// Writes the current masks. A path ending in `.safetensors` gets torch.nn.utils.prune's
    /// layout: `<layer>_orig` (the dense weights, F32) and `<layer>_mask` (F32 0/1, the dtype of
    /// prune's `weight_mask` buffer), e.g. `conv1.weight_orig` / `conv1.weight_mask`; any other
    /// path gets JSON {policy, structure, layers: {name: {shape, kept, density, mask: base64 of one
    /// byte per weight}}}. The masks stay plain masks; `masking.structure` is named in the metadata
    /// ("unstructured", "2:4", "block 1x8", "channel", "fanin"). Both are written atomically.
    /// Errors: `.io` when the file cannot be written.
    public func exportMasks(to path: String) throws {
        if path.hasSuffix(".safetensors") {
            var t: [String: Tensor] = [:]
            for l in layers { t[l.name + "_orig"] = l.parameter.value; t[l.name + "_mask"] = l.mask }
            try SafeTensors.write(t, metadata: ["format": "torch-prune", "policy": descriptor.name,
                                                "structure": spec.structure.description], to: path)
            return
        }
        var obj: [String: Any] = [:]
        for l in layers {
            let bytes = (0..<l.count).map { UInt8(l.mask[$0] != 0 ? 1 : 0) }
            obj[l.name] = ["shape": l.parameter.shape, "kept": bytes.reduce(0) { $0 + Int($1) },
                           "density": l.density, "mask": Data(bytes).base64EncodedString()]
        }
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: ["policy": descriptor.name, "structure": spec.structure.description,
                                                                        "layers": obj], options: [.sortedKeys]), to: path)
    }
}
