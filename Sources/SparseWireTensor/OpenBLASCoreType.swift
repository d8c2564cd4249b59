import Foundation

/// OpenBLAS 0.3.21 mis-detects some CPUs (this project's machines among them) and falls back to a
/// slow generic kernel unless `OPENBLAS_CORETYPE` is set *before the library loads*. A process
/// that links OpenBLAS can only fix this by re-executing itself with the variable set.
public enum OpenBLASCoreType {
    /// The core type to ask for on this CPU, or nil when the CPU lacks AVX2 (leave detection alone).
    public static func recommended() -> String? { CPUFeatures.current.recommendedOpenBLASCore }

    /// If OPENBLAS_CORETYPE is unset (and SPARSEWIRE_NO_REEXEC is not set), set it and `execv`
    /// this same executable with the same arguments. Returns only when no re-exec happened
    /// (or the exec failed); `note` is called with a human-readable line first.
    /// With `SPARSEWIRE_BLAS_CORE=auto` and a slower core set, re-executes with the faster one
    /// once its self-test passed (`OpenBLASCoreChoice.autoChoice`); a bad value of
    /// `SPARSEWIRE_BLAS_CORE` is reported through `note` and the process exits with status 2.
    public static func reexecIfNeeded(note: (String) -> Void) {
        let env = ProcessInfo.processInfo.environment
        if env["SPARSEWIRE_NO_REEXEC"] != nil { return }
        do {
            if let core = try OpenBLASCoreChoice.autoChoice(environment: env, features: .current,
                                                            test: { OpenBLASCoreChoice.selfTest(core: $0) }, note: note) {
                setenv("OPENBLAS_CORETYPE", core, 1)
                setenv("SPARSEWIRE_BLAS_CORE_CHOSEN", "1", 1)
                exec(note: note)
                return
            }
        } catch {
            note("sparsewire: \(error)")
            exit(2)
        }
        if env["OPENBLAS_CORETYPE"] != nil { return }
        guard let core = recommended() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("SPARSEWIRE_REEXECED", "1", 1)
        note("sparsewire: OPENBLAS_CORETYPE was unset; re-executing with OPENBLAS_CORETYPE=\(core) "
             + "(OpenBLAS 0.3.21 mis-detects this CPU; set the variable yourself to silence this)")
        exec(note: note)
    }

    /// `execv` of this executable with the same arguments (the environment as set); returns only
    /// when the exec failed, after saying so.
    private static func exec(note: (String) -> Void) {
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // exec failed: carry on with the slow detection rather than die.
        note("sparsewire: re-exec failed (errno \(errno)); continuing with OpenBLAS's own detection")
    }
}
