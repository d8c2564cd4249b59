import Foundation
import SparseWireTensor
import SparseWireMasking

/// The state of a stand-alone (mask-only) policy as safetensors bytes, so that a host's own
/// checkpoint (e.g. `sparsewire.torch`'s `state_dict`) resumes it exactly.
///
/// What is saved: per declared layer its mask (`mask/<layer>`) and the policy's per-layer state
/// tensors (`policy/<layer>/<key>`), the policy's own state bytes (`policy_state`, U8), the
/// policy's RNG and whether it has started. Weights, scores and gradients are the host's and are
/// not saved here (the host saves them with its model).
extension StandaloneMasking {
    /// The metadata `format` value of these files.
    public static let stateFormat = "sparsewire-policy-state"

    /// The declared layers as the `layers` metadata names them: "name:RxC,…".
    private var layerLayout: String {
        parameters.map { "\($0.name):\($0.shape.map(String.init).joined(separator: "x"))" }.joined(separator: ",")
    }

    /// The policy's state as safetensors bytes (see the type's documentation).
    /// Errors: whatever the policy's `saveState` throws.
    public func stateBytes() throws -> Data {
        typealias Key = CheckpointFile.Key
        var t: [String: Tensor] = [:]
        var dtypes: [String: SafeTensors.DType] = [:]
        for l in layers {
            t[Key.mask(l.name)] = l.mask
            dtypes[Key.mask(l.name)] = .bool
            for (k, v) in l.state { t[Key.policyState(l.name) + k] = v }
        }
        if prepared, let bytes = try policy.saveState() {
            let blob = Tensor(shape: [bytes.count])
            for (i, b) in bytes.enumerated() { blob.data[i] = Float(b) }
            t[Key.policyBlob] = blob
            dtypes[Key.policyBlob] = .u8
        }
        let meta = ["format": Self.stateFormat, "policy": descriptor.name, "started": prepared ? "1" : "0",
                    "layers": layerLayout,
                    "policy_rng": context.rng.state.map { String($0) }.joined(separator: ",")]
        return try SafeTensors.encode(t, metadata: meta, dtypes: dtypes)
    }

    /// Restores state saved by `stateBytes` into a policy of the same name with the same layers
    /// declared (names and shapes, in order). A started state starts this policy (its `prepare`
    /// runs, then masks, per-layer state, the policy's bytes and the RNG are overwritten), so the
    /// next step call continues exactly where the saved one stopped. Everything is checked
    /// before anything changes.
    /// Errors: `.data` for bytes that are not such a state or miss a tensor; `.state` for another
    /// policy, other layers, or a policy that has already started; `.shape` for a tensor of
    /// another shape.
    public func loadState(_ data: Data, source: String = "policy state") throws {
        typealias Key = CheckpointFile.Key
        let (tensors, meta) = try SafeTensors.decode(data, source: source)
        guard meta["format"] == Self.stateFormat else {
            throw SparseWireError(.data, "\(source): not a stand-alone policy state (format '\(meta["format"] ?? "none")', expected '\(Self.stateFormat)')")
        }
        let name = meta["policy"] ?? "?"
        guard name == descriptor.name else {
            throw SparseWireError(.state, "\(source) was saved by policy '\(name)', this policy is '\(descriptor.name)'")
        }
        guard meta["layers"] == layerLayout else {
            throw SparseWireError(.state, "\(source) declares layers [\(meta["layers"] ?? "")], this policy [\(layerLayout)]; declare the same layers in the same order")
        }
        guard !prepared else { throw SparseWireError(.state, "load the state before the policy's first step call") }
        let words = (meta["policy_rng"] ?? "").split(separator: ",").compactMap { UInt64($0) }
        guard words.count == 4 else { throw SparseWireError(.data, "\(source): missing or bad policy_rng metadata") }
        guard meta["started"] == "1" else {
            guard tensors.isEmpty else { throw SparseWireError(.data, "\(source): a state that has not started holds no tensors") }
            context.rng.state = words
            return
        }
        // Check everything against the layers a start would bind, then start and overwrite.
        let shapes = Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.shape) })
        var blob: [UInt8]?
        for (k, v) in tensors {
            if k == Key.policyBlob {
                guard v.shape.count == 1, (0..<v.count).allSatisfy({ v.data[$0] >= 0 && v.data[$0] <= 255 && v.data[$0].rounded() == v.data[$0] }) else {
                    throw SparseWireError(.data, "\(source): '\(k)' must be a vector of bytes (U8), got shape \(v.shape)")
                }
                blob = (0..<v.count).map { UInt8(v.data[$0]) }
            } else if k.hasPrefix("mask/") {
                let layer = String(k.dropFirst("mask/".count))
                guard let s = shapes[layer] else { throw SparseWireError(.data, "\(source): '\(k)' names no declared layer") }
                guard v.shape == s else { throw SparseWireError.shape("\(source): '\(k)' has shape \(v.shape), the layer \(s)") }
            } else if !parameters.contains(where: { k.hasPrefix(Key.policyState($0.name)) }) {
                throw SparseWireError(.data, "\(source): tensor '\(k)' has no place in this policy")
            }
        }
        for p in parameters where tensors[Key.mask(p.name)] == nil {
            throw SparseWireError(.data, "\(source): tensor '\(Key.mask(p.name))' is missing")
        }
        if blob == nil, policy.savesState {
            throw SparseWireError(.data, "\(source): policy '\(name)' keeps state of its own, but the state holds no '\(Key.policyBlob)'")
        }
        try prepareIfNeeded()
        if let blob { try policy.loadState(blob) }
        for l in layers {
            let m = tensors[Key.mask(l.name)]!
            l.mask.data.update(from: m.data, count: l.count)
            l.state = [:]
            for (k, v) in tensors where k.hasPrefix(Key.policyState(l.name)) {
                l.state[String(k.dropFirst(Key.policyState(l.name).count))] = v
            }
        }
        context.rng.state = words
    }
}
