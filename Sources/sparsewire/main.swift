import SparseWireCore

// OpenBLAS reads OPENBLAS_CORETYPE when it loads, before any Swift code runs, so the only fix
// for its mis-detection is to re-execute with the variable set. Done before argument parsing.
OpenBLASCoreType.reexecIfNeeded { line in stderrWrite(line + "\n") }
SparseWireCommand.main()
