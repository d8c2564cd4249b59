public enum SparseWireVersion {
    public static let string = "0.1.0"
}
