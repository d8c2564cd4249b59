import ArgumentParser
import COpenBLAS
import Foundation
import SparseWireCore

/// Timings on synthetic data (no dataset needed): the median of `repeats` timed runs after
/// `warmup` untimed ones. One JSON line on stdout. benchmarks/run.py drives it.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model on random data: ms per training step, inference latency, or GEMM rate.",
        discussion: """
        --mode train   ms per training step (forward + backward + update) with the config's policy
        --mode infer   ms per forward pass in evaluation mode at --density, with --kernels dense|sparse|auto
        --mode gemm    GFLOP/s of each conv/linear layer's forward product against OpenBLAS sgemm on the same shape
        """)

    @Option(name: .shortAndLong, help: "Config file for the model/optimizer (defaults apply otherwise).") var config: String?
    @Option(name: .customLong("set"), help: "Override a config key (repeatable).") var overrides: [String] = []
    @Option(help: "Model name (any `model.name`: mlp, conv2–8, randwire, dnw, resnet18, resnet20…110, wrn, mobilenetv1); --set model.* for its size.") var model: String?
    @Option(help: "train, infer or gemm.") var mode = "train"
    @Option(name: .customLong("batch-size"), help: "Batch size.") var batchSize = 128
    @Option(help: "Engine threads.") var threads = 2
    @Option(help: "Untimed warm-up runs.") var warmup = 3
    @Option(help: "Keep warming up until this many seconds have passed (OpenBLAS's idle threads spin for about 0.1 s after the library loads, competing with the engine's).")
    var warmupSeconds = 0.25
    @Option(help: "Timed runs.") var repeats = 10
    @Option(help: "infer: kept fraction of the masked layers (1 = dense model).") var density = 1.0
    @Option(help: "infer: dense, sparse or auto kernels for masked layers.") var kernels = "auto"

    func run() throws {
        let result: [String: Any] = try reportingErrors {
            guard warmup >= 0, repeats >= 1, warmupSeconds >= 0, warmupSeconds <= 600 else {
                throw SparseWireError(.config, "--warmup must be ≥ 0, --repeats ≥ 1 and --warmup-seconds in [0, 600] (got \(warmup), \(repeats), \(warmupSeconds))")
            }
            guard batchSize >= 1 else { throw SparseWireError(.config, "--batch-size must be ≥ 1, got \(batchSize)") }
            guard threads >= 1 else { throw SparseWireError(.config, "--threads must be ≥ 1, got \(threads)") }
            var cfg = try config.map { try Config.load(path: $0) } ?? Config()
            for a in overrides { try cfg.apply(assignment: a) }
            if let model { try cfg.set("model.name", value: .string(model), source: "--model") }
            try cfg.set("batch_size", value: .int(batchSize), source: "--batch-size")
            try cfg.set("threads", value: .int(threads), source: "--threads")
            switch mode {
            case "train": return try trainRun(cfg)
            case "infer": return try inferRun(cfg)
            case "gemm": return try gemmRun(cfg)
            default: throw SparseWireError(.config, "--mode must be train, infer or gemm, got '\(mode)'")
            }
        }
        print(jsonLine(result))
    }

    /// Random N(0, 1) images and labels, and a trainer over them.
    func makeTrainer(_ cfg: Config) throws -> (Trainer, Tensor, [Int32]) {
        var rng = RNG(seed: 1)
        let x = Tensor(shape: [batchSize, 1, 28, 28])
        for i in 0..<x.count { x[i] = rng.normal() }
        let labels = (0..<batchSize).map { _ in Int32(rng.int(below: 10)) }
        let data = try x.data.withMemoryRebound(to: Float.self, capacity: x.count) { p in
            try labels.withUnsafeBufferPointer { try Dataset(name: "random", features: p, shape: x.shape, labels: $0.baseAddress!, classes: 10) }
        }
        return (try Trainer(config: cfg, train: data, test: data), x, labels)
    }

    func time(_ body: () throws -> Void) rethrows -> [Double] {
        let start = DispatchTime.now().uptimeNanoseconds
        var done = 0
        while done < warmup || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < warmupSeconds {
            try body()
            done += 1
        }
        var times: [Double] = []
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        return times.sorted()
    }

    func common(_ t: Trainer) -> [String: Any] {
        var r: [String: Any] = ["model": t.network.name, "batch_size": batchSize, "threads": t.runtime.threads, "blas_core": BLAS.coreName,
                                "params": t.parameterCount, "repeats": repeats, "peak_rss_mb": peakRSSMegabytes()]
        // RandWire: the wiring, so that a reference implementation can build the same network.
        let stages = t.network.randWireStages
        if !stages.isEmpty {
            r["randwire"] = ["channels": t.spec.model.randWire.channels, "head": t.spec.model.randWire.head,
                             "stages": stages.map { ["in": $0.inChannels, "channels": $0.channels, "preds": $0.nodes.map(\.predecessors)] }]
        }
        return r
    }

    func trainRun(_ cfg: Config) throws -> [String: Any] {
        let (trainer, x, labels) = try makeTrainer(cfg)
        let times = try time { _ = try trainer.step(images: x, labels: labels) }
        var r = common(trainer)
        r["mode"] = "train"; r["policy"] = trainer.masking.descriptor.name; r["density"] = cfg.double("density")
        r["ms_per_step_median"] = times[times.count / 2]; r["ms_per_step_min"] = times[0]
        r["peak_rss_mb"] = peakRSSMegabytes()
        // Of the masked layers' training forward passes (warm-up included), the share that ran
        // on the sparse kernels (0 with training.kernels dense).
        let counts = trainer.masking.sparseTrainingCounts
        r["sparse_layer_share"] = counts.layers > 0 ? Double(counts.sparse) / Double(counts.layers) : 0.0
        return r
    }

    func inferRun(_ cfg: Config) throws -> [String: Any] {
        guard density > 0 && density <= 1 else { throw SparseWireError(.config, "--density must be in (0, 1], got \(density)") }
        var cfg = cfg
        if density < 1 {
            // Masks by magnitude of the (random) initial weights: the kernels only see a pattern.
            if cfg.string("policy") == "dense" { try cfg.set("policy", value: .string("dnw"), source: "--density") }
            try cfg.set("density", value: .double(density), source: "--density")
        }
        try cfg.set("inference.kernels", value: .string(kernels), source: "--kernels")
        let (trainer, x, _) = try makeTrainer(cfg)
        let session = try trainer.inferenceSession()
        let times = try time { _ = try session.predict(x) }
        var r = common(trainer)
        let median = times[times.count / 2]
        r["mode"] = "infer"; r["density"] = density; r["kernels"] = kernels
        r["ms_per_batch_median"] = median; r["ms_per_batch_min"] = times[0]
        r["samples_per_s"] = Double(batchSize) / (median / 1000)
        r["peak_rss_mb"] = peakRSSMegabytes()
        return r
    }

    /// Each conv/linear layer's forward product timed through the engine (one layer, its own
    /// input shape) against one OpenBLAS sgemm call of the same M×N×K with OpenBLAS's own threads.
    func gemmRun(_ cfg: Config) throws -> [String: Any] {
        let (trainer, x, _) = try makeTrainer(cfg)
        // All of ours first, then every sgemm with OpenBLAS's own threads: its workers spin for a
        // while after each call and would slow the engine's threads if the two were interleaved.
        let (probes, ours) = try trainer.runtime.run { () throws -> ([LayerProbe], [Double]) in
            let probes = try LayerProbe.probes(trainer.network, input: x)
            let ours = try probes.map { probe -> Double in
                let ctx = Context(training: false)
                let input = Var(Tensor(shape: probe.inputShape, repeating: 0.5))
                let t = try time { _ = try probe.run(ctx, input) }
                return t[t.count / 2]
            }
            return (probes, ours)
        }
        openblas_set_num_threads(Int32(threads))
        defer { openblas_set_num_threads(1) }
        var rows: [[String: Any]] = []
        for (probe, oursMs) in zip(probes, ours) {
            let (m, n, k) = probe.gemmShape
            let a = Tensor(shape: [m * k], repeating: 0.01), b = Tensor(shape: [k * n], repeating: 0.01), c = Tensor(shape: [m * n])
            let blas = time { BLAS.gemm(m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: n, c: c.data, ldc: n) }
            let flops = 2.0 * Double(m) * Double(n) * Double(k)
            let oursRate = flops / (oursMs / 1000) / 1e9, blasRate = flops / (blas[blas.count / 2] / 1000) / 1e9
            rows.append(["layer": probe.name, "m": m, "n": n, "k": k, "ours_gflops": oursRate, "sgemm_gflops": blasRate,
                         "ratio": oursRate / blasRate, "ours_ms": oursMs, "sgemm_ms": blas[blas.count / 2],
                         "gemm_bound": m >= 64 && n >= 64 && k >= 64, "path": probe.path])
        }
        var r = common(trainer)
        r["mode"] = "gemm"; r["layers"] = rows
        return r
    }
}

/// Peak resident set size of this process so far, in MiB (VmHWM).
func peakRSSMegabytes() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

/// One conv or linear layer of a network, replayable on its own input shape.
struct LayerProbe {
    let name: String
    let inputShape: [Int]
    /// The forward product as one GEMM: M × N × K.
    let gemmShape: (Int, Int, Int)
    /// How the engine computes it: "gemm" (linear, 1×1 stride-1 conv), "im2col+gemm" or "winograd" (whose rate is
    /// the direct product's FLOPs over its time, so it can exceed sgemm's).
    let path: String
    let run: (Context, Var) throws -> Var

    /// Runs the network once and records every conv/linear layer it passes through.
    static func probes(_ network: Network, input: Tensor) throws -> [LayerProbe] {
        var found: [LayerProbe] = []
        let ctx = Context(training: false)
        ctx.layerObserver = { module, x in
            if let c = module as? Conv2d {
                let s = c.weight.shape, n = x.shape[0]
                let oh = (x.shape[2] + 2 * c.padding - s[2]) / c.stride + 1, ow = (x.shape[3] + 2 * c.padding - s[3]) / c.stride + 1
                let wino = Context.winogradApplies(kernel: s[2], stride: c.stride, padding: c.padding, inChannels: s[1], outChannels: s[0])
                    && s[2] == s[3]
                found.append(LayerProbe(name: c.weight.name, inputShape: x.shape, gemmShape: (s[0], n * oh * ow, s[1] * s[2] * s[3]),
                                        path: wino ? "winograd" : (s[2] == 1 && s[3] == 1 && c.stride == 1 && c.padding == 0 ? "gemm" : "im2col+gemm"), run: { ctx, v in try ctx.conv2d(v, c.weight.variable, c.bias?.variable, stride: c.stride, padding: c.padding) }))
            } else if let l = module as? Linear {
                let s = l.weight.shape
                found.append(LayerProbe(name: l.weight.name, inputShape: x.shape, gemmShape: (x.shape[0], s[0], s[1]), path: "gemm",
                                        run: { ctx, v in try ctx.linear(v, l.weight.variable, l.bias?.variable) }))
            }
        }
        _ = try network.forward(Var(input), ctx)
        return found
    }
}
