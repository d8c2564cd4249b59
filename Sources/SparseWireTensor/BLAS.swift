import COpenBLAS
import Foundation

/// Thin, typed wrappers over OpenBLAS. All matrices are row-major.
public enum BLAS {
    /// C[m,n] = alpha * op(A)[m,k] · op(B)[k,n] + beta * C
    @inline(__always)
    public static func gemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y += alpha * x
    @inline(__always)
    public static func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(Int32(n), alpha, x, 1, y, 1)
    }

    /// Makes `n` the calling thread's thread count for loops run outside any engine (kernels
    /// called directly, tests), on a process-wide runtime of that size; engines use their own
    /// (`EngineRuntime`). OpenBLAS itself runs on one thread: each worker calls a
    /// single-threaded sgemm, and OpenBLAS's idle workers would otherwise spin against ours.
    public static func setThreads(_ n: Int) {
        openblas_set_num_threads(1)
        EngineRuntime.shared(threads: n).makeCurrent()
    }

    /// The calling thread's thread count (see `Parallel.threads`).
    public static var threads: Int { Parallel.threads }

    /// OpenBLAS's own thread count (1 once `setThreads` has run).
    public static var openBLASThreads: Int { Int(openblas_get_num_threads()) }

    /// The kernel family OpenBLAS selected at load time (e.g. "Haswell", "SkylakeX", "Prescott").
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// The value of OPENBLAS_CORETYPE this process started with, if any.
    public static var coreTypeEnvironment: String? {
        ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
    }
}

/// OpenBLAS 0.3.21 mis-detects some CPUs (this project's machines among them) and falls back to a
/// slow generic kernel unless `OPENBLAS_CORETYPE` is set *before the library loads*. A process
/// that links OpenBLAS can only fix this by re-executing itself with the variable set.
public enum OpenBLASCoreType {
    /// The core type to ask for on this CPU, or nil when the CPU lacks AVX2 (leave detection alone).
    public static func recommended() -> String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") {
            return "SkylakeX"
        }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// If OPENBLAS_CORETYPE is unset (and SPARSEWIRE_NO_REEXEC is not set), set it and `execv`
    /// this same executable with the same arguments. Returns only when no re-exec happened
    /// (or the exec failed); `note` is called with a human-readable line first.
    public static func reexecIfNeeded(note: (String) -> Void) {
        let env = ProcessInfo.processInfo.environment
        if env["OPENBLAS_CORETYPE"] != nil || env["SPARSEWIRE_NO_REEXEC"] != nil { return }
        guard let core = recommended() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("SPARSEWIRE_REEXECED", "1", 1)
        note("sparsewire: OPENBLAS_CORETYPE was unset; re-executing with OPENBLAS_CORETYPE=\(core) "
             + "(OpenBLAS 0.3.21 mis-detects this CPU; set the variable yourself to silence this)")
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // exec failed: carry on with the slow detection rather than die.
        note("sparsewire: re-exec failed (errno \(errno)); continuing with OpenBLAS's own detection")
    }
}
