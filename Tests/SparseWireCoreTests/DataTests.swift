import CZlib
import Foundation
import XCTest
import SparseWireCore

final class DataTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "sw-data-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func idx(dims: [Int], payload: [UInt8], magicType: UInt8 = 0x08) -> [UInt8] {
        var b: [UInt8] = [0, 0, magicType, UInt8(dims.count)]
        for d in dims { b += [UInt8(d >> 24 & 0xff), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)] }
        return b + payload
    }

    func writeGz(_ name: String, _ bytes: [UInt8]) -> String {
        let path = dir + "/" + name
        let f = gzopen(path, "wb")!
        _ = bytes.withUnsafeBytes { gzwrite(f, $0.baseAddress, UInt32($0.count)) }
        gzclose(f)
        return path
    }

    func writePlain(_ name: String, _ bytes: [UInt8]) -> String {
        let path = dir + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    func assertDataError(_ body: () throws -> Any, mentions: [String], line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { e in
            let msg = "\(e)"
            for m in mentions { XCTAssertTrue(msg.contains(m), "'\(msg)' should mention '\(m)'", line: line) }
        }
    }

    func testValidGzipPair() throws {
        let pixels: [UInt8] = (0..<(3 * 2 * 2)).map { UInt8($0 * 20) }
        let img = writeGz("train-images-idx3-ubyte.gz", idx(dims: [3, 2, 2], payload: pixels))
        let lab = writeGz("train-labels-idx1-ubyte.gz", idx(dims: [3], payload: [7, 0, 9]))
        let d = try IDXReader.loadPair(images: img, labels: lab, name: "t")
        XCTAssertEqual(d.images.shape, [3, 1, 2, 2])
        XCTAssertEqual(d.labels, [7, 0, 9])
        XCTAssertEqual(d.images[5], Float(100) / 255, accuracy: 1e-6)
        // The directory layout loader finds the same files.
        let d2 = try IDXReader.loadMNISTLayout(directory: dir, train: true, name: "t")
        XCTAssertEqual(d2.labels, [7, 0, 9])
    }

    func testPlainFileIsReadToo() throws {
        let path = writePlain("plain-idx", idx(dims: [2], payload: [1, 2]))
        let (dims, bytes) = try IDXReader.read(path)
        XCTAssertEqual(dims, [2]); XCTAssertEqual(bytes, [1, 2])
    }

    func testTruncatedPayload() {
        let path = writeGz("trunc.gz", idx(dims: [4, 2, 2], payload: [UInt8](repeating: 1, count: 10)))
        assertDataError({ try IDXReader.read(path) }, mentions: [path, "truncated", "16"])
    }

    func testTruncatedGzipStream() throws {
        let good = writeGz("full.gz", idx(dims: [1000], payload: (0..<1000).map { UInt8($0 % 251) }))
        let bytes = [UInt8](FileManager.default.contents(atPath: good)!)
        let cut = writePlain("cut.gz", Array(bytes.prefix(bytes.count / 2)))
        assertDataError({ try IDXReader.read(cut) }, mentions: [cut])
    }

    func testWrongMagic() {
        let p1 = writeGz("magic.gz", [1, 2, 8, 1, 0, 0, 0, 1, 5])
        assertDataError({ try IDXReader.read(p1) }, mentions: [p1, "magic"])
        let p2 = writeGz("type.gz", idx(dims: [1], payload: [0, 0, 0, 0], magicType: 0x0D))
        assertDataError({ try IDXReader.read(p2) }, mentions: [p2, "0xd"])
    }

    func testMissingFileAndMismatchedCounts() {
        assertDataError({ try IDXReader.read(self.dir + "/nope.gz") }, mentions: ["nope.gz", "no such file"])
        assertDataError({ try IDXReader.loadMNISTLayout(directory: self.dir, train: false, name: "x") },
                        mentions: ["t10k-images-idx3-ubyte"])
        let img = writeGz("i.gz", idx(dims: [2, 1, 1], payload: [1, 2]))
        let lab = writeGz("l.gz", idx(dims: [3], payload: [1, 2, 3]))
        assertDataError({ try IDXReader.loadPair(images: img, labels: lab, name: "x") }, mentions: ["2 images", "3 labels"])
        let badLabel = writeGz("bl.gz", idx(dims: [2], payload: [1, 12]))
        assertDataError({ try IDXReader.loadPair(images: img, labels: badLabel, name: "x") }, mentions: ["label 12"])
    }

    func testCIFARBatch() throws {
        var rec = [UInt8](repeating: 0, count: 2 * 3073)
        rec[0] = 3; rec[3073] = 9; rec[1] = 255
        let p = writePlain("b.bin", rec)
        let (images, labels) = try CIFAR10Reader.readBatch(p)
        XCTAssertEqual(labels, [3, 9]); XCTAssertEqual(images.count, 2 * 3072); XCTAssertEqual(images[0], 255)
        let bad = writePlain("bad.bin", Array(rec.prefix(3000)))
        assertDataError({ try CIFAR10Reader.readBatch(bad) }, mentions: [bad, "3073"])
        rec[0] = 10
        let badLabel = writePlain("bl.bin", rec)
        assertDataError({ try CIFAR10Reader.readBatch(badLabel) }, mentions: ["label 10"])
    }

    func testInMemoryDatasetAndBatches() throws {
        let feats: [Float] = (0..<20).map(Float.init)
        let labels: [Int32] = [0, 1, 2, 3, 4]
        let d = try feats.withUnsafeBufferPointer { f in try labels.withUnsafeBufferPointer {
            try Dataset(name: "m", features: f.baseAddress!, shape: [5, 4], labels: $0.baseAddress!, classes: 5) } }
        XCTAssertEqual(d.images.shape, [5, 1, 1, 4])
        var rng = RNG(seed: 3)
        var seen: [Int32] = []
        for (x, y) in BatchIterator(d, batchSize: 2, shuffle: true, rng: &rng) {
            XCTAssertLessThanOrEqual(y.count, 2)
            for (r, l) in y.enumerated() { XCTAssertEqual(x[r * 4], Float(l) * 4) }  // rows follow their labels
            seen += y
        }
        XCTAssertEqual(seen.sorted(), labels)
        XCTAssertNotEqual(seen, labels, "seeded shuffle should reorder 5 items")
        let bad: [Int32] = [0, 1, 7, 0, 0]
        XCTAssertThrowsError(try feats.withUnsafeBufferPointer { f in try bad.withUnsafeBufferPointer {
            try Dataset(name: "m", features: f.baseAddress!, shape: [5, 4], labels: $0.baseAddress!, classes: 5) } })
    }

    func testNormalizationGivesZeroMeanUnitStd() throws {
        var rng = RNG(seed: 4)
        let feats: [Float] = (0..<200).map { _ in rng.uniform(2, 5) }
        let labels = [Int32](repeating: 1, count: 50)
        let d = try feats.withUnsafeBufferPointer { f in try labels.withUnsafeBufferPointer {
            try Dataset(name: "m", features: f.baseAddress!, shape: [50, 1, 2, 2], labels: $0.baseAddress!, classes: 2) } }
        let (m, s) = d.channelStats()
        try d.normalize(mean: m, std: s)
        let (m2, s2) = d.channelStats()
        XCTAssertEqual(m2[0], 0, accuracy: 1e-4); XCTAssertEqual(s2[0], 1, accuracy: 1e-3)
    }
}
