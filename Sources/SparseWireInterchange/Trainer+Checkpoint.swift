import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
import SparseWireConfig
import SparseWireTraining

/// Trainer checkpoints as safetensors: `param/<name>`, `buffer/<name>` (BN running stats), `mask/<layer>` (BOOL), `scores/<layer>`,
/// `policy/<layer>/<key>` (policy state), `optim/<slot>/<name>`; metadata holds the format,
/// the policy, density, step counters, the RNG state and the resolved config as JSON.
extension Trainer {
    /// The `format` metadata value that marks a SparseWire checkpoint.
    public static let checkpointFormat = "sparsewire-checkpoint"

    /// The checkpoint as named tensors and string metadata, writing nothing. Parameter, buffer,
    /// mask, score and policy-state tensors share storage with the live engine (no copies).
    public func checkpointTensors() -> (tensors: [String: Tensor], metadata: [String: String]) {
        var t: [String: Tensor] = [:]
        for p in network.parameters { t["param/" + p.name] = p.value }
        for (name, b) in network.buffers { t["buffer/" + name] = b }
        for l in masking.layers {
            t["mask/" + l.name] = l.mask
            if let s = l.scores { t["scores/" + l.name] = s.value }
            for (k, v) in l.state { t["policy/\(l.name)/\(k)"] = v }
        }
        for (k, v) in optimizer.stateTensors() { t["optim/" + k] = v }
        let cfg = (try? JSONSerialization.data(withJSONObject: config.resolved.mapValues(\.jsonObject), options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let meta = ["format": Trainer.checkpointFormat, "format_version": "1", "sparsewire_version": SparseWireVersion.string,
                    "policy": masking.descriptor.name, "density": String(spec.masking.density),
                    "global_step": String(globalStep), "epochs_done": String(epochsDone),
                    "rng": rng.state.map { String($0) }.joined(separator: ","),
                    "policy_rng": masking.context.rng.state.map { String($0) }.joined(separator: ","),
                    "skipped_steps": String(skippedSteps), "config": cfg]
        return (t, meta)
    }

    /// Writes a checkpoint to `path` atomically (masks as BOOL, the other tensors F32).
    /// Errors: `.io` when the file cannot be written.
    public func save(to path: String) throws {
        let (t, m) = checkpointTensors()
        // Masks are 0/1: one byte each (BOOL), a quarter of F32's size.
        let dtypes = Dictionary(uniqueKeysWithValues: masking.layers.map { ("mask/" + $0.name, SafeTensors.DType.bool) })
        try SafeTensors.write(t, metadata: m, dtypes: dtypes, to: path)
    }

    /// Restores a checkpoint of the same network and policy. Everything is checked before
    /// anything changes.
    /// Errors: as `SafeTensors.read`; `.data` for another format, bad metadata or a missing or
    /// unplaced tensor; `.state` for another policy; `.shape` for a tensor of another shape.
    public func load(from path: String) throws {
        let (tensors, meta) = try SafeTensors.read(path)
        guard meta["format"] == Trainer.checkpointFormat else {
            throw SparseWireError(.data, "\(path): not a SparseWire checkpoint (metadata format is '\(meta["format"] ?? "missing")')")
        }
        let policy = meta["policy"] ?? "?"
        guard policy == masking.descriptor.name else {
            throw SparseWireError(.state, "\(path) was saved with policy '\(policy)', the engine uses '\(masking.descriptor.name)'; switch policy first")
        }
        guard let step = meta["global_step"].flatMap(Int.init), let epochs = meta["epochs_done"].flatMap(Int.init), step >= 0, epochs >= 0 else {
            throw SparseWireError(.data, "\(path): missing or bad global_step / epochs_done metadata")
        }
        let rngWords = (meta["rng"] ?? "").split(separator: ",").compactMap { UInt64($0) }
        guard rngWords.count == 4 else { throw SparseWireError(.data, "\(path): missing or bad rng metadata") }
        // policy_rng is absent from checkpoints older than exact resume; present, it must be whole.
        let policyRNG = meta["policy_rng"].map { $0.split(separator: ",").compactMap { UInt64($0) } }
        if let policyRNG, policyRNG.count != 4 { throw SparseWireError(.data, "\(path): bad policy_rng metadata") }
        var targets: [(Tensor, Tensor)] = []
        var expected = Set<String>()
        func want(_ key: String, _ dst: Tensor) throws {
            expected.insert(key)
            guard let src = tensors[key] else { throw SparseWireError(.data, "\(path): tensor '\(key)' is missing") }
            guard src.shape == dst.shape else { throw SparseWireError.shape("\(path): tensor '\(key)' has shape \(src.shape), the network has \(dst.shape)") }
            targets.append((src, dst))
        }
        for p in network.parameters { try want("param/" + p.name, p.value) }
        for (name, b) in network.buffers { try want("buffer/" + name, b) }
        for l in masking.layers {
            try want("mask/" + l.name, l.mask)
            if let s = l.scores { try want("scores/" + l.name, s.value) }
        }
        var policyState: [(MaskedLayer, String, Tensor)] = []
        var optim: [String: Tensor] = [:]
        for (k, v) in tensors where !expected.contains(k) {
            if k.hasPrefix("optim/") { optim[String(k.dropFirst(6))] = v; continue }
            if k.hasPrefix("policy/"), let l = masking.layers.first(where: { k.hasPrefix("policy/\($0.name)/") }) {
                policyState.append((l, String(k.dropFirst("policy/\(l.name)/".count)), v)); continue
            }
            throw SparseWireError(.data, "\(path): tensor '\(k)' has no place in this network")
        }
        try optimizer.loadState(optim)
        for (src, dst) in targets { dst.data.update(from: src.data, count: dst.count) }
        for (l, k, v) in policyState { l.state[k] = v }
        globalStep = step; epochsDone = epochs
        rng.state = rngWords
        if let policyRNG { masking.context.rng.state = policyRNG }
        skippedSteps = meta["skipped_steps"].flatMap(Int.init) ?? 0
        history = []
    }
}
