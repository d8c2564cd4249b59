import SparseWireCore
import Foundation

func stderrWrite(_ s: String) {
    FileHandle.standardError.write(s.data(using: .utf8)!)
}

var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

/// JSON text with sorted keys (one line).
func jsonLine(_ object: Any) -> String {
    guard JSONSerialization.isValidJSONObject(object),
          let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
          let s = String(data: data, encoding: .utf8) else { return "{}" }
    return s
}

/// Renders training progress: a redrawn bar on a terminal, plain lines otherwise.
final class ProgressPrinter {
    let totalEpochs: Int
    let every: Int
    let terminal: Bool
    let quiet: Bool
    private var lastDraw = Date.distantPast
    private var epochStart = Date()

    init(totalEpochs: Int, every: Int, terminal: Bool, quiet: Bool) {
        self.totalEpochs = totalEpochs; self.every = max(every, 1); self.terminal = terminal; self.quiet = quiet
    }

    func handle(_ e: TrainEvent) {
        if quiet { return }
        switch e {
        case let .step(epoch, step, of, loss, acc, lr):
            if step == 1 { epochStart = Date() }
            let ms = Date().timeIntervalSince(epochStart) * 1000 / Double(step)
            let stats = String(format: "loss %.4f  acc %5.2f%%  lr %.4g  %.1f ms/step", loss, acc * 100, lr, ms)
            if terminal {
                guard Date().timeIntervalSince(lastDraw) > 0.1 || step == of else { return }
                lastDraw = Date()
                let width = 30
                let filled = width * step / max(of, 1)
                let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
                stderrWrite("\r\u{1B}[2Kepoch \(epoch)/\(totalEpochs) \(bar) \(step)/\(of)  \(stats)")
            } else if step % every == 0 || step == of {
                stderrWrite("epoch \(epoch)/\(totalEpochs) step \(step)/\(of)  \(stats)\n")
            }
        case let .epochEnd(m):
            if terminal { stderrWrite("\n") }
            stderrWrite(String(format: "epoch %d/%d done: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | %.1f s, %.1f ms/step\n",
                               m.epoch, totalEpochs, m.trainLoss, m.trainAccuracy * 100, m.testLoss, m.testAccuracy * 100,
                               m.seconds, m.msPerStep))
        }
    }
}
