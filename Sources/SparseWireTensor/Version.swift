/// The engine's version.
public enum SparseWireVersion {
    /// Semantic version of this build (written into checkpoints as `sparsewire_version`).
    public static let string = "0.1.0"
}
