import ArgumentParser
import Foundation
import SparseWireCore

/// `sparsewire fast-eval`: DNW's fast evaluation of a MobileNetV1-DNW checkpoint — the
/// channels nothing reads removed, the parameters and multiply-accumulates that remain.
struct FastEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fast-eval",
        abstract: "Remove a MobileNetV1-DNW checkpoint's unread channels; print the parameters and MACs that remain.",
        discussion: """
        As allenai/dnw's --fast_eval: walking the stages backwards, a channel stays when a kept channel \
        downstream has a non-zero edge from it. Per stage: input channels, group widths and graph edges \
        before → after; then parameters and multiply-accumulates per example (graph layers by their \
        non-zero edges, norms free), and the largest |logit difference| between the checkpoint's network \
        and the compact copy on --probe random inputs (float rounding only).
        """)

    @Option(help: "A checkpoint of model.name mobilenetv1-dnw written by `sparsewire train --save-checkpoint`.") var checkpoint: String
    @Option(help: "Random inputs for the logits check.") var probe = 64

    func run() throws {
        try reportingErrors {
            let trainer = try trainerFromCheckpoint(checkpoint)
            guard probe >= 1 else { throw SparseWireError.config("--probe must be ≥ 1, got \(probe)") }
            let (r, diff) = try trainer.fastEval(probe: probe)
            print("stage  inputs         groups                                   edges")
            for (i, s) in r.stages.enumerated() {
                let groups = s.groups.map { "\($0.before)→\($0.after)" }.joined(separator: " ")
                print("\(i + 1)      " + "\(s.inputs.before)→\(s.inputs.after)".padding(toLength: 15, withPad: " ", startingAt: 0)
                      + groups.padding(toLength: max(41, groups.count + 1), withPad: " ", startingAt: 0) + "\(s.edges.before)→\(s.edges.after)")
            }
            print(String(format: "parameters %d → %d (%.1f %%)", r.parameters.before, r.parameters.after,
                         100 * Double(r.parameters.after) / Double(max(r.parameters.before, 1))))
            print(String(format: "non-zero parameters %d → %d (%.1f %%)", r.nonZeroParameters.before, r.nonZeroParameters.after,
                         100 * Double(r.nonZeroParameters.after) / Double(max(r.nonZeroParameters.before, 1))))
            print(String(format: "MACs per example %.0f → %.0f (%.1f %%)", r.macs.before, r.macs.after, 100 * r.macs.after / max(r.macs.before, 1)))
            print(String(format: "largest |logit difference| on %d random inputs: %.3g", probe, diff))
        }
    }
}
