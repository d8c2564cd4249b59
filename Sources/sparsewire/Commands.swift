import ArgumentParser
import CKernels
import Foundation
import SparseWireCore

struct SparseWireCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sparsewire",
        abstract: "Train neural networks that learn which connections exist.",
        version: SparseWireVersion.string,
        subcommands: [Train.self, Policies.self, Keys.self, Info.self, Bench.self, GraphCommand.self, DamageCommand.self, ExportCommand.self, FastEvalCommand.self]
    )
}

/// Runs `body`, turning engine errors into one clear line on stderr and exit code 2.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as SparseWireError {
        stderrWrite("sparsewire: \(e.description)\n")
        throw ExitCode(2)
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a network from a config file.")

    @Option(name: .shortAndLong, help: "YAML or JSON config file (keys: see docs/CONFIG.md).")
    var config: String?
    @Option(name: .customLong("set"), help: "Override a config key: --set optimizer.lr=0.05 (repeatable).")
    var overrides: [String] = []
    @Option(help: "Mask policy (same as --set policy=NAME).") var policy: String?
    @Option(help: "Fraction of weights kept (same as --set density=K).") var density: Double?
    @Option(help: "Training epochs.") var epochs: Int?
    @Option(help: "Random seed.") var seed: Int?
    @Option(help: "Engine threads (0 = all cores).") var threads: Int?
    @Option(name: .customLong("batch-size"), help: "Training batch size.") var batchSize: Int?
    @Option(help: "Base learning rate.") var lr: Double?
    @Option(help: "Write JSON-lines metrics (one object per epoch) to this file.") var metrics: String?
    @Option(name: .customLong("save-masks"), help: "Write the learned masks after training: .safetensors gives torch-prune <layer>_orig/<layer>_mask pairs, any other name JSON.") var saveMasks: String?
    @Option(name: .customLong("save-checkpoint"), help: "Write a safetensors checkpoint (weights, masks, optimizer, config) after training.")
    var saveCheckpoint: String?
    @Option(help: "Resume from a checkpoint of the same config and train until --epochs (exact: same threads ⇒ bit-identical to an uninterrupted run).")
    var resume: String?
    @Option(name: .customLong("stop-after"), help: "Stop after this many epochs in total (the LR schedule still spans --epochs); save with --save-checkpoint and continue later with --resume.")
    var stopAfter: Int?
    @Option(name: .customLong("checkpoint-on-stop"), help: "On SIGTERM or SIGINT, finish the current step, write a resumable checkpoint here and exit with status 75 (default: the --save-checkpoint path).")
    var checkpointOnStop: String?
    @Option(name: .customLong("plugin"), help: "Load a policy plugin (shared library) before resolving the policy (repeatable).")
    var plugins: [String] = []
    @Flag(name: .shortAndLong, help: "Print the resolved config and the BLAS set-up.") var verbose = false
    @Flag(name: .shortAndLong, help: "No progress output.") var quiet = false

    func run() throws {
        // Preemption handlers first: a SIGTERM / SIGINT that arrives while the config, data or
        // checkpoint load is recorded and stops the run after its first step (saved, exit 75).
        if swk_install_stop_signals() != 0 { stderrWrite("sparsewire: cannot install the SIGTERM/SIGINT handlers; a signal ends the run unsaved\n") }
        if verbose { PluginLoader.logLevel = .info }
        try loadPlugins(plugins, verbose: verbose)
        let cfg = try reportingErrors { try resolvedConfig() }
        let spec = try reportingErrors { try RunSpec(config: cfg) }
        let threads = EngineRuntime.resolve(threads: spec.runtime.threads)
        if verbose {
            stderrWrite("sparsewire \(SparseWireVersion.string): OpenBLAS core \(BLAS.coreName) "
                + "(OPENBLAS_CORETYPE=\(BLAS.coreTypeEnvironment ?? "unset")), \(threads) thread(s)\n")
            stderrWrite(cfg.description.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n")
        }
        let start = Date()
        let (trainer, metricsFile) = try reportingErrors { () throws -> (Trainer, FileHandle?) in
            let (train, test) = try spec.data.load()
            let t = try Trainer(spec: spec, config: cfg, train: train, test: test)
            if let resume {
                try t.load(from: resume)
                if !quiet { stderrWrite("resumed from \(resume) at epoch \(t.epochsDone), step \(t.globalStep)\n") }
            }
            var handle: FileHandle?
            let path = metrics ?? spec.log.metrics
            if !path.isEmpty {
                guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
                    throw SparseWireError(.io, "cannot write metrics file \(path)")
                }
                handle = h
            }
            return (t, handle)
        }
        if !quiet {
            stderrWrite("training \(trainer.network.name) (\(trainer.parameterCount) parameters) on \(trainer.train.name): "
                + "\(trainer.train.count) train / \(trainer.test.count) test, \(spec.training.epochs) epoch(s), "
                + "batch \(trainer.batchSize)"
                + (trainer.batchSize < spec.training.batchSize ? " (batch_size \(spec.training.batchSize) is more than the training set: one step per epoch)" : "")
                + ", policy \(spec.masking.policy), density \(spec.masking.density)\n")
        }
        // Preemption: SIGTERM / SIGINT finish the step in progress, save, exit 75 (EX_TEMPFAIL).
        let stopPath = checkpointOnStop ?? saveCheckpoint
        let printer = ProgressPrinter(totalEpochs: spec.training.epochs, every: spec.log.every, terminal: stderrIsTerminal, quiet: quiet)
        try reportingErrors {
            do {
                try trainer.fit(until: stopAfter) { event in
                    printer.handle(event)
                    if case let .epochEnd(m) = event, let metricsFile {
                        metricsFile.write((jsonLine(m.json) + "\n").data(using: .utf8)!)
                    }
                    if swk_stop_signal() != 0 { trainer.requestStop() }
                    return true
                }
            } catch let stop as TrainingPreempted {
                try? metricsFile?.close()
                let signal = swk_stop_signal() == SIGINT ? "SIGINT" : "SIGTERM"
                guard let stopPath else {
                    stderrWrite("sparsewire: \(signal): \(stop); no --checkpoint-on-stop or --save-checkpoint path, so the progress is not saved\n")
                    throw ExitCode(75)
                }
                try trainer.save(to: stopPath)
                stderrWrite("sparsewire: \(signal): \(stop) (global step \(trainer.globalStep)); checkpoint written to \(stopPath); "
                    + "continue with --resume \(stopPath)\n")
                throw ExitCode(75)
            }
        }
        try? metricsFile?.close()
        let masksPath = spec.log.masks
        if !masksPath.isEmpty {
            try reportingErrors { try trainer.masking.exportMasks(to: masksPath) }
            if !quiet { stderrWrite("masks written to \(masksPath)\n") }
        }
        if let saveCheckpoint {
            try reportingErrors { try trainer.save(to: saveCheckpoint) }
            if !quiet { stderrWrite("checkpoint written to \(saveCheckpoint)\n") }
        }
        if verbose {
            for r in trainer.masking.report {
                stderrWrite(String(format: "  %-16@ kept %9d / %9d  (%.4f)\n", r.name as NSString, r.kept, r.count, r.density))
            }
        }
        let last = trainer.history.last
        var (testLoss, testAcc) = (last?.testLoss ?? .nan, last?.testAccuracy ?? .nan)
        if last == nil { (testLoss, testAcc) = try reportingErrors { try trainer.evaluate() } }
        let result: [String: Any] = [
            "test_accuracy": testAcc, "test_loss": testLoss,
            "train_loss": last?.trainLoss ?? Double.nan as Any, "train_accuracy": last?.trainAccuracy ?? 0,
            "epochs": trainer.epochsDone, "policy": spec.masking.policy, "density": spec.masking.density,
            "params_total": trainer.parameterCount, "params_kept": trainer.keptCount,
            "seconds": Date().timeIntervalSince(start), "model": trainer.network.name, "dataset": trainer.train.name,
            "seed": spec.training.seed, "threads": trainer.runtime.threads, "blas_core": BLAS.coreName,
            "ms_per_step": trainer.history.isEmpty ? 0 : trainer.history.map(\.msPerStep).reduce(0, +) / Double(trainer.history.count),
        ]
        print(jsonLine(result.mapValues { v -> Any in
            if let d = v as? Double, !d.isFinite { return NSNull() }
            return v
        }))
    }

    func resolvedConfig() throws -> Config {
        var cfg = try config.map { try Config.load(path: $0) } ?? Config()
        for a in overrides { try cfg.apply(assignment: a) }
        if let policy { try cfg.set("policy", value: .string(policy), source: "--policy") }
        if let density { try cfg.set("density", value: .double(density), source: "--density") }
        if let epochs { try cfg.set("epochs", value: .int(epochs), source: "--epochs") }
        if let seed { try cfg.set("seed", value: .int(seed), source: "--seed") }
        if let threads { try cfg.set("threads", value: .int(threads), source: "--threads") }
        if let batchSize { try cfg.set("batch_size", value: .int(batchSize), source: "--batch-size") }
        if let lr { try cfg.set("optimizer.lr", value: .double(lr), source: "--lr") }
        if let saveMasks { try cfg.set("masking.save", value: .string(saveMasks), source: "--save-masks") }
        return cfg
    }
}

struct Policies: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the mask policies and their options.")
    @Flag(name: .shortAndLong, help: "Also list each policy's options.") var verbose = false
    @Option(name: .customLong("plugin"), help: "Load a policy plugin (shared library) first (repeatable).")
    var plugins: [String] = []

    func run() throws {
        try loadPlugins(plugins, verbose: verbose)
        let all = PolicyRegistry.all
        let width = all.map(\.name.count).max() ?? 0
        for e in all {
            print(e.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + e.summary)
            if verbose {
                for o in e.options { print(String(repeating: " ", count: width + 4) + "\(o.name): \(o.help)") }
            }
        }
    }
}

/// Loads each plugin and says what it registered (on stderr, so stdout stays machine-readable).
func loadPlugins(_ paths: [String], verbose: Bool) throws {
    for path in paths {
        let (p, isNew) = try reportingErrors { try PluginLoader.load(path: path) }
        if verbose || isNew {
            stderrWrite("sparsewire: plugin \(p.name) \(p.version) (\(p.path)): \(p.policies.joined(separator: ", "))\n")
        }
    }
}

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every config key with its type, default and meaning (docs/CONFIG.md).")
    @Flag(help: "Print docs/CONFIG.md's key table (markdown) instead of one key per line.") var markdown = false

    func run() throws {
        if markdown { print(ConfigSchema.markdownTable(), terminator: ""); return }
        for k in ConfigSchema.keys {
            print("\(k.path)  (\(k.type.rawValue), default \(k.defaultValue.map { "\($0)" } ?? "-"))  \(k.help)")
        }
        print("\(ConfigSchema.policyOptionsPrefix).*  (any)  options of the selected policy")
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the version, the CPU features and the BLAS set-up.")
    @Flag(name: .customLong("blas-coretype"), help: "Print only the OPENBLAS_CORETYPE this CPU should use (an empty line when none; for scripts).")
    var blasCoretypeOnly = false
    @Flag(name: .customLong("blas-selftest"), help: "Run the BLAS self-test on the loaded OpenBLAS core and print its JSON (used by SPARSEWIRE_BLAS_CORE=auto).")
    var blasSelfTest = false

    func run() throws {
        let cpu = CPUFeatures.current
        if blasCoretypeOnly {
            print(cpu.recommendedOpenBLASCore ?? "")
            return
        }
        if blasSelfTest {
            let t = OpenBLASCoreChoice.selfTest()
            print(jsonLine(["core": t.core, "passed": t.passed, "max_error": t.maxError, "gflops": t.gflops] as [String: Any]))
            return
        }
        var info: [String: Any] = [
            "version": SparseWireVersion.string, "blas_core": BLAS.coreName,
            "openblas_coretype": BLAS.coreTypeEnvironment ?? NSNull(),
            "cpu_features": cpu.names, "recommended_openblas_coretype": cpu.recommendedOpenBLASCore ?? NSNull(),
            "cores": ProcessInfo.processInfo.activeProcessorCount, "default_threads": ProcessInfo.processInfo.activeProcessorCount,
            "faster_openblas_coretype": NSNull(),
        ]
        // A faster core than the environment's: say so, with its self-test (SPARSEWIRE_BLAS_CORE=auto uses it).
        if let faster = OpenBLASCoreChoice.fasterCore(environment: ProcessInfo.processInfo.environment, features: cpu) {
            info["faster_openblas_coretype"] = faster
            if let t = OpenBLASCoreChoice.selfTest(core: faster) {
                info["faster_core_selftest"] = ["core": t.core, "passed": t.passed, "max_error": t.maxError, "gflops": t.gflops] as [String: Any]
            }
        }
        print(jsonLine(info))
    }
}
