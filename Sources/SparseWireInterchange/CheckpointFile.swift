import Foundation
import SparseWireTensor
import SparseWireConfig
import SparseWireTraining

/// A trainer checkpoint on disk, read once and checked: the one place that knows the format.
///
/// Layout (safetensors): tensors `param/<name>`, `buffer/<name>` (BN running statistics),
/// `mask/<layer>` (BOOL), `scores/<layer>`, `policy/<layer>/<key>` (policy state),
/// `policy_state` (U8: the bytes of `MaskPolicy.saveState`, for plugin and Python policies),
/// `optim/<slot>/<name>`; string metadata `format`, `format_version`, `sparsewire_version`,
/// `policy`, `density`, `global_step`, `epochs_done`, `rng`, `policy_rng`, `skipped_steps` and
/// `config` (the resolved config as JSON). `Trainer.save(to:)` writes it, `Trainer.load(_:)`
/// restores a trainer from it, `Trainer.networkFromCheckpoint` builds just the network.
public struct CheckpointFile {
    /// The `format` metadata value that marks a SparseWire checkpoint.
    public static let format = "sparsewire-checkpoint"

    /// Tensor names by role.
    public enum Key {
        /// A parameter's values (F32).
        public static func parameter(_ name: String) -> String { "param/" + name }
        /// A non-trainable buffer, e.g. batch-norm running statistics (F32).
        public static func buffer(_ name: String) -> String { "buffer/" + name }
        /// A masked layer's 0/1 mask (BOOL on disk).
        public static func mask(_ layer: String) -> String { "mask/" + layer }
        /// A masked layer's learned scores (edge-popup, supermask; F32).
        public static func scores(_ layer: String) -> String { "scores/" + layer }
        /// Prefix of a layer's policy-state tensors (`policy/<layer>/<key>`).
        public static func policyState(_ layer: String) -> String { "policy/\(layer)/" }
        /// Prefix of the optimizer's state tensors (`optim/<slot>/<name>`).
        public static let optimizer = "optim/"
        /// The policy's own state bytes (`MaskPolicy.saveState`), as a U8 vector.
        public static let policyBlob = "policy_state"
    }

    /// Where the file was read from (error messages name it).
    public let path: String
    /// Every tensor of the file by name.
    public let tensors: [String: Tensor]
    /// The string metadata.
    public let metadata: [String: String]

    /// Reads `path` and checks it is a SparseWire checkpoint.
    /// Errors: as `SafeTensors.read`; `.data` when the metadata's `format` is another.
    public init(path: String) throws {
        let (tensors, meta) = try SafeTensors.read(path)
        guard meta["format"] == CheckpointFile.format else {
            throw SparseWireError(.data, "\(path): not a SparseWire checkpoint (metadata format is '\(meta["format"] ?? "missing")')")
        }
        self.path = path; self.tensors = tensors; metadata = meta
    }

    /// The config the run was trained with. Errors: `.data` when the metadata holds none,
    /// `.config` when it does not parse.
    public func config() throws -> Config {
        guard let text = metadata["config"] else { throw SparseWireError(.data, "\(path): the checkpoint holds no config") }
        return try Config(yaml: text, source: "\(path) metadata")
    }

    /// A non-negative integer of the metadata. Errors: `.data` when missing or bad.
    public func count(_ key: String) throws -> Int {
        guard let v = metadata[key].flatMap(Int.init), v >= 0 else { throw SparseWireError(.data, "\(path): missing or bad \(key) metadata") }
        return v
    }

    /// The metadata of an epoch left open by a stop: `epoch_open` ("steps,loss-sum bits,correct,
    /// seen") and `epoch_shuffle_rng`.
    public static func metadata(of open: EpochProgress) -> [String: String] {
        ["epoch_open": "\(open.steps),\(open.lossSum.bitPattern),\(open.correct),\(open.seen)",
         "epoch_shuffle_rng": open.shuffleState.map { String($0) }.joined(separator: ",")]
    }

    /// The epoch a stop left open, nil when the checkpoint was written between epochs.
    /// Errors: `.data` when the metadata is present but malformed.
    public func openEpoch() throws -> EpochProgress? {
        guard let text = metadata["epoch_open"] else { return nil }
        let parts = text.split(separator: ",").map(String.init)
        guard parts.count == 4, let steps = Int(parts[0]), let bits = UInt64(parts[1]), let correct = Int(parts[2]),
              let seen = Int(parts[3]), steps >= 0, correct >= 0, seen >= 0, let shuffle = try rngState("epoch_shuffle_rng") else {
            throw SparseWireError(.data, "\(path): bad epoch_open / epoch_shuffle_rng metadata")
        }
        return EpochProgress(shuffleState: shuffle, steps: steps, lossSum: Double(bitPattern: bits), correct: correct, seen: seen)
    }

    /// An RNG state of the metadata (four comma-separated words), nil when absent.
    /// Errors: `.data` when present but not four words.
    public func rngState(_ key: String) throws -> [UInt64]? {
        guard let text = metadata[key] else { return nil }
        let words = text.split(separator: ",").compactMap { UInt64($0) }
        guard words.count == 4 else { throw SparseWireError(.data, "\(path): missing or bad \(key) metadata") }
        return words
    }
}
