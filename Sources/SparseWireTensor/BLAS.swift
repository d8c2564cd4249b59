import COpenBLAS
import Foundation

/// Thin, typed wrappers over OpenBLAS. All matrices are row-major.
public enum BLAS {
    /// Float32 matrix multiply, row-major: C[m,n] = alpha * op(A)[m,k] · op(B)[k,n] + beta * C,
    /// op transposing when `transA`/`transB`; `lda`/`ldb`/`ldc` are row strides in elements.
    /// Does nothing when m or n is 0.
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

    /// Float32 `y += alpha * x` over `n` contiguous elements.
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
