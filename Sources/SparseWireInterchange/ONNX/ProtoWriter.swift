import Foundation

/// A protocol-buffers encoder for the few ONNX messages the exporter writes (wire types 0, 2, 5:
/// varints, length-delimited bytes and 32-bit floats). Fields are written in the order called;
/// nested messages are encoded first and written as bytes. No reflection, no generated code
/// (why: docs/ONNX.md).
struct ProtoWriter {
    /// The encoded message so far.
    private(set) var data = Data()

    private mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { data.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        data.append(UInt8(v))
    }

    private mutating func key(_ field: Int, _ wire: UInt64) { varint(UInt64(field) << 3 | wire) }

    /// An int32 / int64 / enum field (negative values as 10-byte two's complement, as protobuf does).
    mutating func int(_ field: Int, _ v: Int64) { key(field, 0); varint(UInt64(bitPattern: v)) }

    /// A float field (wire type 5, little-endian IEEE 754).
    mutating func float(_ field: Int, _ v: Float) {
        key(field, 5)
        withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }

    /// A bytes field.
    mutating func bytes(_ field: Int, _ b: Data) { key(field, 2); varint(UInt64(b.count)); data.append(b) }

    /// A string field (UTF-8).
    mutating func string(_ field: Int, _ s: String) { bytes(field, Data(s.utf8)) }

    /// An embedded message field.
    mutating func message(_ field: Int, _ m: ProtoWriter) { bytes(field, m.data) }

    /// An embedded message built by `body`.
    mutating func message(_ field: Int, _ body: (inout ProtoWriter) -> Void) {
        var m = ProtoWriter()
        body(&m)
        message(field, m)
    }
}
