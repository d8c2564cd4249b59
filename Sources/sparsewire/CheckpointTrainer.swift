import Foundation
import SparseWireCore

/// A trainer holding a checkpoint's network, policy state and weights, for commands that read
/// no data (`export`, `fast-eval`): one zero example of the network's input shape stands in for
/// the datasets. Errors: the checkpoint's (file, config, shapes).
func trainerFromCheckpoint(_ path: String) throws -> Trainer {
    let file = try CheckpointFile(path: path)
    let cfg = try file.config()
    let input = try DataSpec(config: cfg).inputSpec
    let x = [Float](repeating: 0, count: input.features), y: [Int32] = [0]
    let data = try x.withUnsafeBufferPointer { xp in
        try y.withUnsafeBufferPointer { yp in
            try Dataset(name: "checkpoint", features: xp.baseAddress!, shape: [1, input.channels, input.height, input.width],
                        labels: yp.baseAddress!, classes: input.classes)
        }
    }
    let trainer = try Trainer(config: cfg, train: data, test: data)
    try trainer.load(file)
    return trainer
}
