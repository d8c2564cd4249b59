import ArgumentParser
import Foundation
import SparseWireCore

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Export a network's wiring (RandWire stages, DNW graph with its mask, MobileNetV1-DNW stages) as DOT, SVG, PNG or PDF.",
        discussion: "From a config (the graph as generated) or a checkpoint (the trained weights and learned masks). mobilenetv1-dnw writes one file per stage, <out>-stage<i>.<ext>. Rendering needs Graphviz (`dot`).")
    @Option(name: .shortAndLong, help: "Config file (YAML/JSON).") var config: String?
    @Option(name: .customLong("set"), help: "Override a config key (repeatable).") var overrides: [String] = []
    @Option(help: "Checkpoint written by `train --save-checkpoint` (its config and masks).") var checkpoint: String?
    @Option(name: .shortAndLong, help: "Output file: .dot/.gv, .svg, .png or .pdf.") var out: String
    @Option(help: "Graphviz layout program (dot, neato, sfdp, circo).") var layout: String = "dot"

    func run() throws {
        try reportingErrors {
            let net: Network
            var title: String
            if let checkpoint {
                guard config == nil, overrides.isEmpty else { throw SparseWireError.config("give either --checkpoint or --config/--set, not both") }
                let (n, cfg) = try Trainer.networkFromCheckpoint(checkpoint)
                net = n
                title = "\(n.name) (\(cfg.string("policy")), density \(cfg.double("density"))) from \(URL(fileURLWithPath: checkpoint).lastPathComponent)"
            } else {
                var cfg = try config.map { try Config.load(path: $0) } ?? Config()
                for o in overrides { try cfg.apply(assignment: o) }
                net = try Models.build(ModelSpec(config: cfg), input: DataSpec(config: cfg).inputSpec)
                title = net.name
                if cfg.string("model.name") == "randwire" {
                    title += " \(cfg.string("graph.model"))(n=\(cfg.int("graph.n"))) seed \(cfg.int("graph.seed"))"
                }
            }
            let stages = WiringExport.stageDots(net, title: title)
            guard stages.isEmpty else {  // MobileNetV1-DNW: one file per stage, <out>-stage<i>.<ext>
                let url = URL(fileURLWithPath: out), ext = url.pathExtension
                let base = url.deletingPathExtension().path
                for (i, text) in stages.enumerated() {
                    let path = "\(base)-stage\(i + 1)" + (ext.isEmpty ? "" : ".\(ext)")
                    try WiringExport.write(text, to: path, layout: layout)
                    stderrWrite("wiring of stage \(i + 1) written to \(path)\n")
                }
                return
            }
            let text = try WiringExport.dot(net, title: title)
            try WiringExport.write(text, to: out, layout: layout)
            stderrWrite("wiring written to \(out)\n")
        }
    }
}

struct DamageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "damage",
        abstract: "Graph damage ablation: remove each node (or edge) of each RandWire stage and measure the accuracy drop.")
    @Option(help: "Checkpoint written by `train --save-checkpoint`.") var checkpoint: String
    @Option(help: "What to remove: node or edge.") var remove: String = "node"
    @Option(name: .customLong("test-limit"), help: "Evaluate on the first N test images (0 = all).") var testLimit: Int = 0
    @Option(name: .shortAndLong, help: "Write the table as CSV (.csv) or JSON (.json).") var out: String?
    @Option(help: "Engine threads (0 = all cores).") var threads: Int = 0

    func run() throws {
        try reportingErrors {
            guard let target = DamageAblation.Target(rawValue: remove) else {
                throw SparseWireError.config("--remove must be node or edge, got '\(remove)'")
            }
            let file = try CheckpointFile(path: checkpoint)
            var cfg = try file.config()
            try cfg.set("threads", value: .int(threads))
            if testLimit > 0 { try cfg.set("data.test_limit", value: .int(testLimit)) }
            let (train, test) = try Trainer.loadData(cfg)
            let trainer = try Trainer(config: cfg, train: train.prefix(1), test: test)
            try trainer.load(file)
            let isTTY = isatty(2) != 0
            let (baseline, rows) = try DamageAblation.run(trainer, remove: target) { done, total in
                if isTTY || done == total || done % 10 == 0 { stderrWrite("\(isTTY ? "\r" : "")damage: \(done)/\(total)\(isTTY ? "" : "\n")") }
            }
            if isTTY { stderrWrite("\n") }
            print(String(format: "intact network: test accuracy %.4f on %d images", baseline, test.count))
            print(target == .node ? "stage  node  in  out  accuracy   drop" : "stage  edge      in  out  accuracy   drop")
            for r in rows.sorted(by: { $0.drop > $1.drop }) {
                let what = r.node.map { String(format: "%4d", $0) } ?? String(format: "%-8@", "\(r.edge!)" as NSString)
                print(String(format: "%5d  %@  %2d  %3d   %.4f  %+.4f", r.stage, what, r.inDegree, r.outDegree, r.accuracy, r.drop))
            }
            if let out {
                let ext = URL(fileURLWithPath: out).pathExtension.lowercased()
                let data: Data
                if ext == "json" {
                    let objs: [[String: Any]] = rows.map { r in
                        var o: [String: Any] = ["stage": r.stage, "in_degree": r.inDegree, "out_degree": r.outDegree,
                                                "accuracy": r.accuracy, "drop": r.drop]
                        if let n = r.node { o["node"] = n }
                        if let e = r.edge { o["edge"] = [e.from, e.to] }
                        return o
                    }
                    data = try JSONSerialization.data(withJSONObject: ["baseline": baseline, "remove": remove, "rows": objs], options: [.sortedKeys])
                } else {
                    var csv = target == .node ? "stage,node,in_degree,out_degree,accuracy,drop\n" : "stage,from,to,in_degree,out_degree,accuracy,drop\n"
                    for r in rows {
                        let what = r.node.map(String.init) ?? "\(r.edge!.from),\(r.edge!.to)"
                        csv += "\(r.stage),\(what),\(r.inDegree),\(r.outDegree),\(r.accuracy),\(r.drop)\n"
                    }
                    data = Data(csv.utf8)
                }
                do { try data.write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                    throw SparseWireError(.io, "cannot write \(out): \(error.localizedDescription)")
                }
                stderrWrite("table written to \(out)\n")
            }
        }
    }
}
