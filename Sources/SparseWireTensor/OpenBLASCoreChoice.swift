import Foundation

/// A faster OpenBLAS core than the one the environment set, verified before use (issue 19).
///
/// Some machines pre-set `OPENBLAS_CORETYPE=Haswell` on AVX-512 CPUs, where `SkylakeX` runs
/// sgemm about 1.6× faster. A user's setting is honoured; `sparsewire info` and the benchmarks
/// report the faster core and the result of a self-test of it (a small GEMM against a double
/// precision reference, run in a child process started with that core), and
/// `SPARSEWIRE_BLAS_CORE=auto` makes the CLI re-execute itself with the faster core when the
/// self-test passes.
public enum OpenBLASCoreChoice {
    /// What a self-test of one core measured.
    public struct SelfTest: Sendable, Equatable {
        /// The core OpenBLAS reported while running it (`openblas_get_corename`).
        public var core: String
        /// Whether the product matched the reference within `tolerance`.
        public var passed: Bool
        /// The largest |C − C_ref| / (1 + |C_ref|) seen.
        public var maxError: Double
        /// The rate of a 512³ sgemm on one thread, GFLOP/s.
        public var gflops: Double

        /// A result as measured (nothing checked).
        public init(core: String, passed: Bool, maxError: Double, gflops: Double) {
            self.core = core; self.passed = passed; self.maxError = maxError; self.gflops = gflops
        }
    }

    /// The relative error a float32 product of this size stays within (k = 384 terms).
    public static let tolerance = 1e-4

    /// How fast a core family runs sgemm on x86-64, by rank (3: AVX-512 kernels, 2: AVX2+FMA,
    /// 1: anything else or unknown).
    public static func rank(_ core: String) -> Int {
        switch core.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return 3
        case "haswell", "zen", "skylake": return 2
        default: return 1
        }
    }

    /// The faster core this CPU can run when the environment set a slower one; nil when
    /// `OPENBLAS_CORETYPE` is unset (the CLI picks the best itself), already the best, or the CPU
    /// offers nothing faster.
    public static func fasterCore(environment: [String: String], features: CPUFeatures) -> String? {
        guard let current = environment["OPENBLAS_CORETYPE"], let best = features.recommendedOpenBLASCore else { return nil }
        return rank(best) > rank(current) ? best : nil
    }

    /// Runs the self-test in this process, on whatever core OpenBLAS loaded: C = A·B with
    /// A [96, 384], B [384, 80] of a fixed pseudo-random fill against a double-precision product,
    /// then the rate of one 512³ product.
    public static func selfTest() -> SelfTest {
        let m = 96, n = 80, k = 384
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Float { state = state &* 6364136223846793005 &+ 1442695040888963407; return Float(Int64(state >> 40) - (1 << 23)) / Float(1 << 23) }
        let a = (0..<(m * k)).map { _ in next() }, b = (0..<(k * n)).map { _ in next() }
        var c = [Float](repeating: 0, count: m * n)
        BLAS.gemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n)
        var worst = 0.0
        for i in 0..<m { for j in 0..<n {
            var ref = 0.0
            for l in 0..<k { ref += Double(a[i * k + l]) * Double(b[l * n + j]) }
            worst = max(worst, abs(Double(c[i * n + j]) - ref) / (1 + abs(ref)))
        } }
        let s = 512
        let x = [Float](repeating: 0.5, count: s * s)
        var y = [Float](repeating: 0, count: s * s)
        BLAS.gemm(m: s, n: s, k: s, a: x, lda: s, b: x, ldb: s, c: &y, ldc: s)  // warm-up
        let t0 = DispatchTime.now().uptimeNanoseconds
        BLAS.gemm(m: s, n: s, k: s, a: x, lda: s, b: x, ldb: s, c: &y, ldc: s)
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return SelfTest(core: BLAS.coreName, passed: worst <= tolerance && worst.isFinite, maxError: worst, gflops: 2 * Double(s * s * s) / dt / 1e9)
    }

    /// The self-test of `core`, run by `executable` (the CLI: `sparsewire info --blas-selftest`)
    /// in a child process started with `OPENBLAS_CORETYPE=core`; nil when the child cannot run or
    /// prints no result.
    public static func selfTest(core: String, executable: String = "/proc/self/exe") -> SelfTest? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = ["info", "--blas-selftest"]
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_CORETYPE"] = core
        env["SPARSEWIRE_NO_REEXEC"] = "1"
        env.removeValue(forKey: "SPARSEWIRE_BLAS_CORE")
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let name = obj["core"] as? String, let passed = obj["passed"] as? Bool,
              let err = obj["max_error"] as? Double, let rate = obj["gflops"] as? Double else { return nil }
        return SelfTest(core: name, passed: passed, maxError: err, gflops: rate)
    }

    /// `SPARSEWIRE_BLAS_CORE`: unset or `env` keeps `OPENBLAS_CORETYPE` as it is; `auto` switches
    /// to `fasterCore` when its self-test passes (and OpenBLAS then reports that core). Returns
    /// the core to re-execute with, or nil; `note` hears what was decided. Errors: `.config` for
    /// any other value.
    public static func autoChoice(environment env: [String: String], features: CPUFeatures,
                                  test: (String) -> SelfTest?, note: (String) -> Void) throws -> String? {
        let mode = env["SPARSEWIRE_BLAS_CORE"] ?? "env"
        guard mode == "env" || mode == "auto" else {
            throw SparseWireError.config("SPARSEWIRE_BLAS_CORE must be auto or env (or unset), got '\(mode)'")
        }
        guard mode == "auto", env["SPARSEWIRE_BLAS_CORE_CHOSEN"] == nil,
              let current = env["OPENBLAS_CORETYPE"], let faster = fasterCore(environment: env, features: features) else { return nil }
        guard let t = test(faster) else {
            note("sparsewire: SPARSEWIRE_BLAS_CORE=auto: the self-test of OpenBLAS core \(faster) did not run; keeping \(current)")
            return nil
        }
        guard t.passed, rank(t.core) >= rank(faster) else {
            note("sparsewire: SPARSEWIRE_BLAS_CORE=auto: OpenBLAS core \(faster) failed its self-test (ran as \(t.core), max error "
                 + "\(t.maxError)); keeping \(current)")
            return nil
        }
        note("sparsewire: SPARSEWIRE_BLAS_CORE=auto: using OpenBLAS core \(faster) instead of the environment's \(current) "
             + "(self-test passed: max error \(String(format: "%.1e", t.maxError)), \(String(format: "%.0f", t.gflops)) GFLOP/s on one thread)")
        return faster
    }
}
