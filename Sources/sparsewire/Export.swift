import ArgumentParser
import Foundation
import SparseWireCore

/// `sparsewire export`: a trained checkpoint as an ONNX file (masks baked in), with a report of
/// the zeros it holds.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's network as ONNX (opset 17, evaluation mode, pruned weights as exact zeros).",
        discussion: """
        The policy's evaluation masks are applied as `sparsewire train` evaluates; batch norms are \
        BatchNormalization nodes with their running statistics; input `input` [N, C, H, W], output \
        `logits` [N, classes], N dynamic. Models: mlp, conv2–8, randwire, and the DNW graphs (discrete and \
        continuous unrolled). --report prints each weight's density and the zeros the file holds.
        """)

    @Option(help: "A checkpoint written by `sparsewire train --save-checkpoint`.") var checkpoint: String
    @Option(name: .shortAndLong, help: "The ONNX file to write.") var output: String
    @Flag(help: "Print per weight: entries, zeros in the file, density.") var report = false

    func run() throws {
        try reportingErrors {
            let trainer = try trainerFromCheckpoint(checkpoint)
            let layers = try trainer.exportONNX(to: output)
            let count = layers.reduce(0) { $0 + $1.count }, zeros = layers.reduce(0) { $0 + $1.zeros }
            if report {
                func row(_ name: String, _ n: Int, _ z: Int) -> String {
                    name.padding(toLength: max(28, name.count), withPad: " ", startingAt: 0)
                        + String(format: " %10d %10d   %.4f", n, z, 1 - Double(z) / Double(max(n, 1)))
                }
                print(row("weight", 0, 0).prefix(28) + "    entries      zeros  density")
                for l in layers { print(row(l.name, l.count, l.zeros)) }
                print(row("total", count, zeros))
            }
            stderrWrite("sparsewire: wrote \(output): \(trainer.network.name), \(layers.count) weights, \(zeros) of \(count) entries are zeros\n")
        }
    }
}
