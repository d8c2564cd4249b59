import Foundation
import SparseWireTensor

/// Reader for the CIFAR-10 binary format (cifar-10-batches-bin): records of 1 label byte and
/// 3·32·32 pixel bytes (channel-major).
public enum CIFAR10Reader {
    package static let recordSize = 1 + 3 * 32 * 32

    /// Reads one batch file (gzip or plain) of N records: N·3072 pixel bytes ([N, 3, 32, 32],
    /// channel-major) and N labels in 0..<10.
    /// Errors: `.io` / `.data` from reading the file; `.data` for a size that is not a positive
    /// multiple of 3073 or a label ≥ 10.
    public static func readBatch(_ path: String) throws -> (images: [UInt8], labels: [Int32]) {
        let raw = try GzipFile.read(path)
        guard !raw.isEmpty, raw.count % recordSize == 0 else {
            throw SparseWireError.data("\(path): size \(raw.count) is not a positive multiple of the CIFAR-10 record size \(recordSize)")
        }
        let n = raw.count / recordSize
        var images = [UInt8](), labels = [Int32]()
        images.reserveCapacity(n * (recordSize - 1))
        for i in 0..<n {
            let o = i * recordSize
            guard raw[o] < 10 else { throw SparseWireError.data("\(path): label \(raw[o]) of record \(i) outside 0..<10") }
            labels.append(Int32(raw[o]))
            images.append(contentsOf: raw[(o + 1)..<(o + recordSize)])
        }
        return (images, labels)
    }

    /// Loads data_batch_1…5.bin (train) or test_batch.bin from `directory`: images [N, 3, 32, 32]
    /// with pixels in [0, 1], 10 classes. Errors: as `readBatch`.
    public static func load(directory: String, train: Bool) throws -> Dataset {
        let files = train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        var images = [UInt8](), labels = [Int32]()
        for f in files {
            let (i, l) = try readBatch((directory as NSString).appendingPathComponent(f))
            images += i; labels += l
        }
        let t = Tensor(shape: [labels.count, 3, 32, 32])
        for i in 0..<images.count { t.data[i] = Float(images[i]) * (1 / 255) }
        return Dataset(name: "cifar10", images: t, labels: labels, classes: 10)
    }
}
