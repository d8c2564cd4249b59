import XCTest
import SparseWireCore

/// A trainer over one random batch of `n` 1×28×28 images (standard normal, seeded; labels
/// i mod 10), for tests that take a few training steps: the trainer, the images and the labels.
func randomBatchTrainer(_ cfg: Config, batch n: Int, seed: UInt64) throws -> (trainer: Trainer, images: Tensor, labels: [Int32]) {
    var rng = RNG(seed: seed)
    let x = Tensor(shape: [n, 1, 28, 28])
    for i in 0..<x.count { x[i] = rng.normal() }
    let labels = (0..<n).map { Int32($0 % 10) }
    let data = try x.data.withMemoryRebound(to: Float.self, capacity: x.count) { p in
        try labels.withUnsafeBufferPointer { try Dataset(name: "random", features: p, shape: x.shape, labels: $0.baseAddress!, classes: 10) }
    }
    return (try Trainer(config: cfg, train: data, test: data), x, labels)
}
