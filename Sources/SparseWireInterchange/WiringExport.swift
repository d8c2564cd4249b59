import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
import SparseWireConfig
import SparseWireTraining

/// Graphviz DOT of a network's wiring: RandWire stages (one cluster per stage, with the unique
/// input and output nodes) and DNW channel graphs (the kept edges of the current masks, channels
/// grouped by block).
public enum WiringExport {
    /// The DOT text of `net`'s wiring, labelled `title` (default: the network's name); DNW
    /// edges get a pen width that grows with |weight|.
    /// Errors: `.unsupported` when the network has neither RandWire stages nor a DNW graph.
    public static func dot(_ net: Network, title: String? = nil) throws -> String {
        var out = "digraph wiring {\n  graph [rankdir=LR, fontname=\"Helvetica\", label=\"\(escape(title ?? net.name))\", labelloc=t];\n"
        out += "  node [shape=circle, style=filled, fillcolor=\"#dbe9f6\", fontname=\"Helvetica\", fontsize=9, width=0.3, fixedsize=true];\n"
        out += "  edge [arrowsize=0.4, color=\"#55555588\"];\n"
        let stages = net.randWireStages
        if !stages.isEmpty {
            for (i, s) in stages.enumerated() {
                let p = "s\(i + 1)_"
                out += "  subgraph cluster_\(i + 1) {\n    label=\"\(escape(s.name)): \(s.graph.nodeCount) nodes, \(s.activeEdges.count) edges, \(s.channels) channels\";\n"
                out += "    \(p)in [label=\"in\", shape=box, fillcolor=\"#f6e3db\", fixedsize=false];\n"
                out += "    \(p)out [label=\"out\", shape=box, fillcolor=\"#f6e3db\", fixedsize=false];\n"
                for v in 0..<s.graph.nodeCount where !s.disabledNodes.contains(v) { out += "    \(p)\(v) [label=\"\(v)\"];\n" }
                for v in s.inputNodes where !s.disabledNodes.contains(v) { out += "    \(p)in -> \(p)\(v);\n" }
                for e in s.activeEdges { out += "    \(p)\(e.from) -> \(p)\(e.to);\n" }
                for v in s.outputNodes where !s.disabledNodes.contains(v) { out += "    \(p)\(v) -> \(p)out;\n" }
                out += "  }\n"
                if i > 0 { out += "  s\(i)_out -> \(p)in [style=dashed];\n" }
            }
            return out + "}\n"
        }
        if let g = net.dnwGraph {
            let edges = g.edges()
            let used = Set(edges.flatMap { [$0.from, $0.to] })
            var start = 0
            for (b, size) in g.spec.blocks.enumerated() {
                let isStatic = g.spec.setting == .staticGraph
                if isStatic {
                    out += "  subgraph cluster_b\(b) {\n    label=\"block \(b)\(b == 0 ? " (stem)" : "")\";\n"
                }
                for c in start..<(start + size) where used.contains(c) {
                    let readout = c >= g.spec.nodes - g.spec.readout
                    out += "    c\(c) [label=\"\(c)\"\(readout ? ", fillcolor=\"#dff6db\"" : "")];\n"
                }
                if isStatic { out += "  }\n" }
                start += size
            }
            let maxW = edges.map { abs($0.weight) }.max() ?? 1
            for e in edges {
                let pen = 0.3 + 2.0 * Double(abs(e.weight) / max(maxW, 1e-12))
                out += "  c\(e.from) -> c\(e.to) [penwidth=\(String(format: "%.2f", pen))];\n"
            }
            return out + "}\n"
        }
        throw SparseWireError(.unsupported, "network '\(net.name)' has no wiring graph to export (use model.name randwire or dnw; "
            + "mobilenetv1-dnw writes one graph per stage: WiringExport.stageDots)")
    }

    /// One DOT text per MobileNetV1-DNW stage (empty for other networks): the stage input's
    /// channels and each group's channels as clusters, the kept edges with a pen width that
    /// grows with |weight|; channels without an edge are left out.
    public static func stageDots(_ net: Network, title: String? = nil) -> [String] {
        net.dnwMobileStages.enumerated().map { s, st in
            let edges = st.edges()
            let used = Set(edges.flatMap { [$0.from, $0.to] })
            var out = "digraph stage\(s + 1) {\n  graph [rankdir=LR, fontname=\"Helvetica\", label=\"\(escape(title ?? net.name)) stage \(s + 1): "
                + "\(st.inputs) inputs, groups of \(st.groupWidths.map(String.init).joined(separator: ", ")) channels, \(edges.count) edges\", labelloc=t];\n"
            out += "  node [shape=circle, style=filled, fillcolor=\"#dbe9f6\", fontname=\"Helvetica\", fontsize=9, width=0.3, fixedsize=true];\n"
            out += "  edge [arrowsize=0.4, color=\"#55555588\"];\n"
            var first = st.inputs
            let groups = [(label: "input", range: 0..<st.inputs)] + st.groupWidths.enumerated().map { j, w in
                defer { first += w }
                return (label: "group \(j)", range: first..<(first + w))
            }
            for (g, group) in groups.enumerated() {
                out += "  subgraph cluster_\(g) {\n    label=\"\(group.label)\";\n"
                for v in group.range where used.contains(v) { out += "    n\(v) [label=\"\(v - group.range.lowerBound)\"];\n" }
                out += "  }\n"
            }
            let maxW = edges.map { abs($0.weight) }.max() ?? 1
            for e in edges {
                out += "  n\(e.from) -> n\(e.to) [penwidth=\(String(format: "%.2f", 0.3 + 2.0 * Double(abs(e.weight) / max(maxW, 1e-12))))];\n"
            }
            return out + "}\n"
        }
    }

    package static func escape(_ s: String) -> String { s.replacingOccurrences(of: "\"", with: "\\\"") }

    /// Writes DOT, or renders SVG/PNG/PDF with Graphviz `dot` (chosen by the file extension).
    /// `layout` names the Graphviz program, looked for in /usr/bin and /usr/local/bin.
    /// Errors: `.config` for another extension, `.unsupported` when the program is missing,
    /// `.io` when writing or rendering fails (Foundation's error when the program cannot start).
    public static func write(_ dotText: String, to path: String, layout: String = "dot") throws {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        if ext == "dot" || ext == "gv" {
            do { try dotText.write(toFile: path, atomically: true, encoding: .utf8) } catch {
                throw SparseWireError(.io, "cannot write \(path): \(error.localizedDescription)")
            }
            return
        }
        guard ["svg", "png", "pdf"].contains(ext) else {
            throw SparseWireError.config("graph output \(path): use .dot, .gv, .svg, .png or .pdf")
        }
        let candidates = ["/usr/bin/\(layout)", "/usr/local/bin/\(layout)"]
        guard let exe = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SparseWireError(.unsupported, "rendering \(ext) needs Graphviz (`apt-get install graphviz`); write a .dot file instead")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["-T\(ext)", "-o", path]
        let pipe = Pipe(), err = Pipe()
        p.standardInput = pipe
        p.standardError = err
        try p.run()
        pipe.fileHandleForWriting.write(Data(dotText.utf8))
        try pipe.fileHandleForWriting.close()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let msg = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw SparseWireError(.io, "\(layout) failed (exit \(p.terminationStatus)): \(msg.prefix(300))")
        }
    }
}
