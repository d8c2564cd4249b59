import Foundation
import SparseWireTensor

/// Reader for the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed).
public enum IDXReader {
    /// Parses an IDX file of unsigned bytes (gzip or plain): returns its dimensions and payload.
    /// Errors: `.io` when the file cannot be opened; `.data` for a corrupt gzip stream, a bad header
    /// (magic, element type, rank 1…4, sizes) or a payload that does not match it.
    public static func read(_ path: String) throws -> (dims: [Int], bytes: [UInt8]) {
        let raw = try GzipFile.read(path)
        return try parse(raw, path: path)
    }

    package static func parse(_ raw: [UInt8], path: String) throws -> (dims: [Int], bytes: [UInt8]) {
        guard raw.count >= 4 else { throw SparseWireError.data("\(path): \(raw.count) bytes is too short for an IDX header") }
        guard raw[0] == 0, raw[1] == 0 else {
            throw SparseWireError.data("\(path): wrong magic number (first bytes \(raw[0]), \(raw[1]); an IDX file starts with 0, 0)")
        }
        guard raw[2] == 0x08 else {
            throw SparseWireError.data("\(path): element type 0x\(String(raw[2], radix: 16)) is not unsigned byte (0x08)")
        }
        let rank = Int(raw[3])
        guard (1...4).contains(rank) else { throw SparseWireError.data("\(path): unsupported IDX rank \(rank)") }
        let headerSize = 4 + 4 * rank
        guard raw.count >= headerSize else {
            throw SparseWireError.data("\(path): truncated header (\(raw.count) bytes, need \(headerSize))")
        }
        var dims = [Int]()
        for d in 0..<rank {
            let o = 4 + 4 * d
            dims.append(Int(raw[o]) << 24 | Int(raw[o + 1]) << 16 | Int(raw[o + 2]) << 8 | Int(raw[o + 3]))
        }
        var expected = 1
        for d in dims {
            let (c, o) = expected.multipliedReportingOverflow(by: d)
            guard !o, c <= Int(UInt32.max) * 16 else { throw SparseWireError.data("\(path): header dimensions \(dims) are too large") }
            expected = c
        }
        let have = raw.count - headerSize
        guard have == expected else {
            throw SparseWireError.data("\(path): header says \(dims) = \(expected) bytes of data, file has \(have)"
                + (have < expected ? " (truncated)" : " (trailing bytes)"))
        }
        return (dims, Array(raw[headerSize...]))
    }

    /// Loads an images file [N, H, W] and a labels file [N] into a dataset [N, 1, H, W] with
    /// pixels in [0, 1]. Errors: as `read`; `.data` for wrong ranks, differing N or a label ≥ `classes`.
    public static func loadPair(images: String, labels: String, name: String, classes: Int = 10) throws -> Dataset {
        let (idims, ibytes) = try read(images)
        let (ldims, lbytes) = try read(labels)
        guard idims.count == 3 else { throw SparseWireError.data("\(images): expected a rank-3 image file [N, H, W], got dims \(idims)") }
        guard ldims.count == 1 else { throw SparseWireError.data("\(labels): expected a rank-1 label file [N], got dims \(ldims)") }
        guard idims[0] == ldims[0] else {
            throw SparseWireError.data("\(images) has \(idims[0]) images but \(labels) has \(ldims[0]) labels")
        }
        let n = idims[0], h = idims[1], w = idims[2]
        let t = Tensor(shape: [n, 1, h, w])
        let p = t.data
        for i in 0..<ibytes.count { p[i] = Float(ibytes[i]) * (1 / 255) }
        var labs = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            guard Int(lbytes[i]) < classes else { throw SparseWireError.data("\(labels): label \(lbytes[i]) at index \(i) outside 0..<\(classes)") }
            labs[i] = Int32(lbytes[i])
        }
        return Dataset(name: name, images: t, labels: labs, classes: classes)
    }

    /// Loads the standard MNIST-layout directory (train-images-idx3-ubyte[.gz] …), the `.gz` file
    /// first. Errors: `.io` when neither file exists; otherwise as `loadPair`.
    public static func loadMNISTLayout(directory: String, train: Bool, name: String) throws -> Dataset {
        let prefix = train ? "train" : "t10k"
        func find(_ base: String) throws -> String {
            for candidate in ["\(base).gz", base] {
                let p = (directory as NSString).appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: p) { return p }
            }
            throw SparseWireError(.io, "\(directory): neither \(base).gz nor \(base) exists (dataset '\(name)')")
        }
        return try loadPair(images: find("\(prefix)-images-idx3-ubyte"), labels: find("\(prefix)-labels-idx1-ubyte"), name: name)
    }
}
