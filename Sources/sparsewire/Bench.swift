import ArgumentParser
import Foundation
import SparseWireCore

/// Times training steps on synthetic data (no dataset needed): the median of `repeats` timed
/// steps after `warmup` untimed ones.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure ms per training step of a model on random data.")

    @Option(name: .shortAndLong, help: "Config file for the model/optimizer (defaults apply otherwise).") var config: String?
    @Option(name: .customLong("set"), help: "Override a config key (repeatable).") var overrides: [String] = []
    @Option(help: "Model name (mlp, conv2, conv4, conv6, conv8).") var model: String?
    @Option(name: .customLong("batch-size"), help: "Batch size.") var batchSize = 128
    @Option(help: "Engine threads.") var threads = 2
    @Option(help: "Untimed warm-up steps.") var warmup = 3
    @Option(help: "Timed steps.") var repeats = 10

    func run() throws {
        BLAS.setThreads(threads)
        let result: [String: Any] = try reportingErrors {
            var cfg = try config.map { try Config.load(path: $0) } ?? Config()
            for a in overrides { try cfg.apply(assignment: a) }
            if let model { try cfg.set("model.name", value: .string(model), source: "--model") }
            try cfg.set("batch_size", value: .int(batchSize), source: "--batch-size")
            guard warmup >= 0, repeats >= 1 else { throw SparseWireError(.config, "--warmup must be ≥ 0 and --repeats ≥ 1") }
            let n = batchSize
            var rng = RNG(seed: 1)
            let x = Tensor(shape: [n, 1, 28, 28])
            for i in 0..<x.count { x[i] = rng.normal() }
            let labels = (0..<n).map { _ in Int32(rng.int(below: 10)) }
            let data = try x.data.withMemoryRebound(to: Float.self, capacity: x.count) { p in
                try labels.withUnsafeBufferPointer { try Dataset(name: "random", features: p, shape: x.shape, labels: $0.baseAddress!, classes: 10) }
            }
            let trainer = try Trainer(config: cfg, train: data, test: data)
            for _ in 0..<warmup { try trainer.step(images: x, labels: labels) }
            var times: [Double] = []
            for _ in 0..<repeats {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try trainer.step(images: x, labels: labels)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            times.sort()
            return ["model": trainer.network.name, "batch_size": n, "threads": BLAS.threads, "blas_core": BLAS.coreName,
                    "ms_per_step_median": times[times.count / 2], "ms_per_step_min": times[0], "repeats": repeats,
                    "params": trainer.parameterCount]
        }
        print(jsonLine(result))
    }
}
