import Foundation
import XCTest
import SparseWireCore

/// Real data: skipped (with the reason) where Debian's dataset-fashion-mnist is not installed.
final class FashionMNISTTests: XCTestCase {
    static let dir = "/usr/share/datasets/fashion-mnist"

    func testLoadsTheRealFiles() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.dir), "dataset-fashion-mnist not installed")
        let test = try IDXReader.loadMNISTLayout(directory: Self.dir, train: false, name: "fashion-mnist")
        XCTAssertEqual(test.images.shape, [10000, 1, 28, 28])
        XCTAssertEqual(test.spec.classes, 10)
        XCTAssertEqual(Set(test.labels).count, 10)
        XCTAssertTrue(test.images.array.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    func testFCTrainsOnASliceOfFashionMNIST() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.dir), "dataset-fashion-mnist not installed")
        let cfg = try Config(yaml: """
        model: {name: mlp, hidden: [300, 100]}
        data: {train_limit: 12000, test_limit: 2000}
        optimizer: {lr: 0.05}
        epochs: 2
        threads: 2
        """)
        BLAS.setThreads(2)
        let (train, test) = try Trainer.loadData(cfg)
        let t = try Trainer(config: cfg, train: train, test: test)
        try t.fit()
        let acc = try t.evaluate().accuracy
        XCTAssertGreaterThan(acc, 0.80, "FC 300-100 on 12k Fashion-MNIST examples, 2 epochs: \(acc)")
    }
}
