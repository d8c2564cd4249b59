import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
import SparseWireConfig
import SparseWireTraining

/// Trainer checkpoints (the format: `CheckpointFile`).
extension Trainer {
    /// The `format` metadata value that marks a SparseWire checkpoint (`CheckpointFile.format`).
    public static let checkpointFormat = CheckpointFile.format

    /// The checkpoint as named tensors and string metadata, writing nothing. Parameter, buffer,
    /// mask, score and policy-state tensors share storage with the live engine (no copies); the
    /// policy's own state bytes (`MaskPolicy.saveState`) are a U8 vector `policy_state`.
    /// Errors: whatever the policy's `saveState` throws.
    public func checkpointTensors() throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        var t: [String: Tensor] = [:]
        typealias Key = CheckpointFile.Key
        for p in network.parameters { t[Key.parameter(p.name)] = p.value }
        for (name, b) in network.buffers { t[Key.buffer(name)] = b }
        for l in masking.layers {
            t[Key.mask(l.name)] = l.mask
            if let s = l.scores { t[Key.scores(l.name)] = s.value }
            for (k, v) in l.state { t[Key.policyState(l.name) + k] = v }
        }
        for (k, v) in optimizer.stateTensors() { t[Key.optimizer + k] = v }
        if let bytes = try masking.policy.saveState() {
            let blob = Tensor(shape: [bytes.count])
            for (i, b) in bytes.enumerated() { blob.data[i] = Float(b) }
            t[Key.policyBlob] = blob
        }
        let cfg = (try? JSONSerialization.data(withJSONObject: config.resolved.mapValues(\.jsonObject), options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let meta = ["format": Trainer.checkpointFormat, "format_version": "1", "sparsewire_version": SparseWireVersion.string,
                    "policy": masking.descriptor.name, "density": String(spec.masking.density),
                    "global_step": String(globalStep), "epochs_done": String(epochsDone),
                    "rng": rng.state.map { String($0) }.joined(separator: ","),
                    "policy_rng": masking.context.rng.state.map { String($0) }.joined(separator: ","),
                    "skipped_steps": String(skippedSteps), "config": cfg]
            .merging(openEpoch.map(CheckpointFile.metadata(of:)) ?? [:]) { a, _ in a }
            .merging(stepPassMetadata) { a, _ in a }
        return (t, meta)
    }

    /// Writes a checkpoint to `path` atomically (masks as BOOL, the other tensors F32).
    /// Errors: `.io` when the file cannot be written.
    public func save(to path: String) throws {
        let (t, m) = try checkpointTensors()
        // Masks are 0/1: one byte each (BOOL), a quarter of F32's size; policy state is bytes.
        var dtypes = Dictionary(uniqueKeysWithValues: masking.layers.map { (CheckpointFile.Key.mask($0.name), SafeTensors.DType.bool) })
        dtypes[CheckpointFile.Key.policyBlob] = .u8
        try SafeTensors.write(t, metadata: m, dtypes: dtypes, to: path)
    }

    /// Restores a checkpoint of the same network and policy (reads `path`, then `load(_:)`).
    /// Errors: as `CheckpointFile(path:)` and `load(_:)`.
    public func load(from path: String) throws { try load(CheckpointFile(path: path)) }

    /// Restores a checkpoint of the same network and policy. Everything is checked before
    /// anything changes.
    /// Errors: `.data` for bad metadata or a missing or unplaced tensor; `.state` for another
    /// policy; `.shape` for a tensor of another shape.
    public func load(_ file: CheckpointFile) throws {
        typealias Key = CheckpointFile.Key
        let path = file.path, tensors = file.tensors
        let policy = file.metadata["policy"] ?? "?"
        guard policy == masking.descriptor.name else {
            throw SparseWireError(.state, "\(path) was saved with policy '\(policy)', the engine uses '\(masking.descriptor.name)'; switch policy first")
        }
        let step = try file.count("global_step"), epochs = try file.count("epochs_done")
        guard let rngWords = try file.rngState("rng") else { throw SparseWireError(.data, "\(path): missing or bad rng metadata") }
        // policy_rng is absent from checkpoints older than exact resume; present, it must be whole.
        let policyRNG = try file.rngState("policy_rng")
        let openEpochState = try file.openEpoch()
        let stepPass = try stepPass(file)
        var targets: [(Tensor, Tensor)] = []
        var expected = Set<String>()
        func want(_ key: String, _ dst: Tensor) throws {
            expected.insert(key)
            guard let src = tensors[key] else { throw SparseWireError(.data, "\(path): tensor '\(key)' is missing") }
            guard src.shape == dst.shape else { throw SparseWireError.shape("\(path): tensor '\(key)' has shape \(src.shape), the network has \(dst.shape)") }
            targets.append((src, dst))
        }
        for p in network.parameters { try want(Key.parameter(p.name), p.value) }
        for (name, b) in network.buffers { try want(Key.buffer(name), b) }
        for l in masking.layers {
            try want(Key.mask(l.name), l.mask)
            if let s = l.scores { try want(Key.scores(l.name), s.value) }
        }
        var policyState: [(MaskedLayer, String, Tensor)] = []
        var optim: [String: Tensor] = [:]
        var blob: [UInt8]?
        for (k, v) in tensors where !expected.contains(k) {
            if k == Key.policyBlob {
                guard v.shape.count == 1, (0..<v.count).allSatisfy({ v.data[$0] >= 0 && v.data[$0] <= 255 && v.data[$0].rounded() == v.data[$0] }) else {
                    throw SparseWireError(.data, "\(path): tensor '\(k)' must be a vector of bytes (U8), got shape \(v.shape)")
                }
                blob = (0..<v.count).map { UInt8(v.data[$0]) }
                continue
            }
            if k.hasPrefix(Key.optimizer) { optim[String(k.dropFirst(Key.optimizer.count))] = v; continue }
            if let l = masking.layers.first(where: { k.hasPrefix(Key.policyState($0.name)) }) {
                policyState.append((l, String(k.dropFirst(Key.policyState(l.name).count)), v)); continue
            }
            throw SparseWireError(.data, "\(path): tensor '\(k)' has no place in this network")
        }
        if blob == nil, masking.policy.savesState {
            throw SparseWireError(.data, "\(path): policy '\(policy)' keeps state of its own, but the checkpoint holds no '\(Key.policyBlob)' (saved before the policy kept state?)")
        }
        try optimizer.loadState(optim)
        if let blob { try masking.policy.loadState(blob) }
        for (src, dst) in targets { dst.data.update(from: src.data, count: dst.count) }
        for (l, k, v) in policyState { l.state[k] = v }
        masking.masksChanged()
        globalStep = step; epochsDone = epochs
        rng.state = rngWords
        if let policyRNG { masking.context.rng.state = policyRNG }
        skippedSteps = file.metadata["skipped_steps"].flatMap(Int.init) ?? 0
        openEpoch = openEpochState
        (stepBatches, stepPassShuffle) = stepPass ?? (nil, nil)
        history = []
    }

    /// Where `nextStep()` is in its shuffled pass: `step_pass` = "position,shuffle RNG words".
    private var stepPassMetadata: [String: String] {
        guard let it = stepBatches, let s = stepPassShuffle else { return [:] }
        return ["step_pass": ([String(it.position)] + s.map { String($0) }).joined(separator: ",")]
    }

    /// The `nextStep()` pass a checkpoint recorded, rebuilt (nil when it recorded none).
    /// Errors: `.data` for malformed metadata or a position past the pass.
    private func stepPass(_ file: CheckpointFile) throws -> (BatchIterator, [UInt64])? {
        guard let text = file.metadata["step_pass"] else { return nil }
        let parts = text.split(separator: ",").compactMap { UInt64($0) }
        guard parts.count == 5, parts[0] <= UInt64(train.count) else {
            throw SparseWireError(.data, "\(file.path): bad step_pass metadata '\(text)' (position ≤ \(train.count), then 4 RNG words)")
        }
        var rng = RNG(seed: 0)
        rng.state = Array(parts[1...])
        var it = BatchIterator(train, batchSize: batchSize, shuffle: true, rng: &rng)
        it.position = Int(parts[0])
        return (it, Array(parts[1...]))
    }

    /// A network built from a checkpoint's config with its parameters, buffers and masks, without
    /// loading any data (for export). The input shape comes from the dataset name.
    /// Errors: as `CheckpointFile(path:)`; `.data` for a missing or misshapen parameter;
    /// `.config` when the stored config names no known dataset or model.
    public static func networkFromCheckpoint(_ path: String) throws -> (Network, Config) {
        typealias Key = CheckpointFile.Key
        let file = try CheckpointFile(path: path)
        let config = try file.config()
        let net = try Models.build(ModelSpec(config: config), input: DataSpec(config: config).inputSpec)
        for p in net.parameters {
            guard let t = file.tensors[Key.parameter(p.name)], t.shape == p.shape else {
                throw SparseWireError(.data, "\(path): parameter '\(p.name)' missing or of another shape")
            }
            p.value.data.update(from: t.data, count: p.count)
            if let m = file.tensors[Key.mask(p.name)], m.shape == p.shape { p.mask = m }
        }
        for (name, b) in net.buffers {
            if let t = file.tensors[Key.buffer(name)], t.shape == b.shape { b.data.update(from: t.data, count: b.count) }
        }
        return (net, config)
    }
}
