import SparseWireTensor
/// A labelled image dataset held in memory: images [N, C, H, W] as Float32, labels in 0..<classes.
public struct Dataset: Sendable {
    /// The dataset's name (e.g. "fashion-mnist").
    public let name: String
    /// The examples, [N, C, H, W] Float32 (host [N, features] data is stored as [N, 1, 1, features]).
    public var images: Tensor
    /// N class labels, each in 0..<spec.classes.
    public let labels: [Int32]
    /// Input geometry (C, H, W) and class count.
    public let spec: InputSpec

    /// Number of examples N.
    public var count: Int { labels.count }

    /// Builds a dataset from host buffers (copied). `shape` is [N, C, H, W] or [N, features].
    /// Errors: `.shape` for another rank or a non-positive size; `.data` for fewer than 2 classes
    /// or a label outside 0..<classes.
    public init(name: String, features: UnsafePointer<Float>, shape: [Int], labels: UnsafePointer<Int32>, classes: Int) throws {
        guard shape.count == 4 || shape.count == 2, shape.allSatisfy({ $0 > 0 }) else {
            throw SparseWireError.shape("dataset '\(name)': shape must be [N, C, H, W] or [N, features] with positive sizes, got \(shape)")
        }
        guard classes >= 2 else { throw SparseWireError.data("dataset '\(name)': needs at least 2 classes, got \(classes)") }
        let n = shape[0]
        let full = shape.count == 4 ? shape : [shape[0], 1, 1, shape[1]]
        let t = Tensor(shape: full)
        t.data.update(from: features, count: t.count)
        var labs = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let l = labels[i]
            guard l >= 0 && Int(l) < classes else {
                throw SparseWireError.data("dataset '\(name)': label \(l) at index \(i) outside 0..<\(classes)")
            }
            labs[i] = l
        }
        self.init(name: name, images: t, labels: labs, classes: classes)
    }

    package init(name: String, images: Tensor, labels: [Int32], classes: Int) {
        self.name = name
        self.images = images
        self.labels = labels
        spec = InputSpec(channels: images.shape[1], height: images.shape[2], width: images.shape[3], classes: classes)
    }

    /// The first `n` examples (a view of the same storage is not possible for a prefix of
    /// labels, so this copies).
    public func prefix(_ n: Int) -> Dataset {
        if n <= 0 || n >= count { return self }
        let per = spec.features
        let t = Tensor(shape: [n] + Array(images.shape.dropFirst()))
        t.data.update(from: images.data, count: n * per)
        return Dataset(name: name, images: t, labels: Array(labels.prefix(n)), classes: spec.classes)
    }

    /// Per-channel mean and standard deviation over the whole set.
    public func channelStats() -> (mean: [Float], std: [Float]) {
        let c = spec.channels, hw = spec.height * spec.width
        var mean = [Float](), std = [Float]()
        for ch in 0..<c {
            var s: Double = 0, ss: Double = 0
            for i in 0..<count {
                let p = images.data + (i * c + ch) * hw
                for j in 0..<hw { let v = Double(p[j]); s += v; ss += v * v }
            }
            let m = Double(count * hw)
            let mu = s / m
            mean.append(Float(mu))
            std.append(Float(Swift.max(ss / m - mu * mu, 1e-12).squareRoot()))
        }
        return (mean, std)
    }

    /// x ← (x − mean_c) / std_c in place. Errors: `.config` unless there are C means and C
    /// positive stds.
    public func normalize(mean: [Float], std: [Float]) throws {
        let c = spec.channels, hw = spec.height * spec.width
        guard mean.count == c, std.count == c, std.allSatisfy({ $0 > 0 }) else {
            throw SparseWireError.config("normalisation needs \(c) means and \(c) positive stds, got \(mean) / \(std)")
        }
        for i in 0..<count { for ch in 0..<c {
            let p = images.data + (i * c + ch) * hw
            let m = mean[ch], inv = 1 / std[ch]
            for j in 0..<hw { p[j] = (p[j] - m) * inv }
        } }
    }
}

/// Mini-batches over a dataset, reshuffled each epoch from a seeded generator.
public struct BatchIterator: Sequence, IteratorProtocol {
    package let dataset: Dataset
    package let batchSize: Int
    package let order: [Int]
    package var position = 0

    /// Batches of `batchSize` (at least 1) examples, in a permutation drawn from `rng` when
    /// `shuffle`, else in order; the last batch may be smaller.
    public init(_ dataset: Dataset, batchSize: Int, shuffle: Bool, rng: inout RNG) {
        self.dataset = dataset
        self.batchSize = Swift.max(1, batchSize)
        var idx = Array(0..<dataset.count)
        if shuffle { rng.shuffle(&idx) }
        order = idx
    }

    /// Batches in one pass over n examples: ⌈n / batchSize⌉.
    public static func batchCount(_ n: Int, batchSize: Int) -> Int { (n + batchSize - 1) / Swift.max(batchSize, 1) }

    /// The next batch, images [B, C, H, W] and B labels; nil after the last.
    public mutating func next() -> (images: Tensor, labels: [Int32])? {
        guard position < order.count else { return nil }
        let end = Swift.min(position + batchSize, order.count)
        let per = dataset.spec.features
        let x = Tensor(shape: [end - position] + Array(dataset.images.shape.dropFirst()))
        var labels = [Int32]()
        labels.reserveCapacity(end - position)
        for (row, i) in order[position..<end].enumerated() {
            (x.data + row * per).update(from: dataset.images.data + i * per, count: per)
            labels.append(dataset.labels[i])
        }
        position = end
        return (x, labels)
    }
}

extension Dataset {
    /// x ← (x − mean_c) / std_c on both sets, with the per-channel statistics of `train`
    /// (the one normalisation every data path uses: files, host buffers).
    /// Errors: `.config` from `normalize` (e.g. `test` with another channel count than `train`).
    public static func standardize(train: Dataset, test: Dataset) throws {
        let (m, s) = train.channelStats()
        try train.normalize(mean: m, std: s)
        try test.normalize(mean: m, std: s)
    }
}
