import Foundation
import SparseWireTensor
#if canImport(Glibc)
import Glibc
#endif

/// Crash-safe file replacement: write `<path>.tmp-<pid>` in the same directory, fsync it, rename
/// it over `path` (atomic on POSIX file systems), fsync the directory so the rename is durable.
/// On any error the temporary file is removed and `path` is untouched.
public enum AtomicFile {
    /// Fault injection for tests: with `SPARSEWIRE_FAULT_KILL_AFTER_BYTES=N` in the environment the
    /// process kills itself with SIGKILL once N bytes of the temporary file are written, the way a
    /// crash or `kill -9` mid-write would.
    package static let killAfter: Int? = ProcessInfo.processInfo.environment["SPARSEWIRE_FAULT_KILL_AFTER_BYTES"].flatMap(Int.init)
    /// Fault injection for tests of a full or failing disk: `SPARSEWIRE_FAULT_ENOSPC_AFTER_BYTES=N`
    /// makes the write that would pass byte N fail with ENOSPC (N = 0: the first write), and
    /// `SPARSEWIRE_FAULT_FSYNC_EIO=1` makes the fsync fail with EIO.
    package static let enospcAfter: Int? = ProcessInfo.processInfo.environment["SPARSEWIRE_FAULT_ENOSPC_AFTER_BYTES"].flatMap(Int.init)
    package static let fsyncEIO = ProcessInfo.processInfo.environment["SPARSEWIRE_FAULT_FSYNC_EIO"] == "1"

    /// Replaces `path` with `data` crash-safely as described above, writing 1 MiB at a time.
    /// Concurrent writes of one path from one process share the temporary file: serialise them.
    /// Errors: `.io` when the temporary file cannot be created, written, fsynced or closed, or
    /// the rename fails.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        func fail(_ what: String) -> SparseWireError {
            SparseWireError(.io, "cannot write \(path): \(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("cannot create \(tmp)") }
        var ok = false
        defer { if !ok { close(fd); unlink(tmp) } }
        let chunk = 1 << 20
        try data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                var n = min(chunk, raw.count - done)
                if let k = killAfter, done + n > k { n = max(0, k - done) }
                if let k = enospcAfter, done + n > k { errno = ENOSPC; throw fail("write") }
                let w = n == 0 ? 0 : Glibc.write(fd, raw.baseAddress! + done, n)
                if w < 0 { if errno == EINTR { continue }; throw fail("write") }
                done += w
                if let k = killAfter, done >= k { kill(getpid(), SIGKILL) }
            }
        }
        if fsyncEIO { errno = EIO; throw fail("fsync") }
        guard fsync(fd) == 0 else { throw fail("fsync") }
        guard close(fd) == 0 else { ok = true; unlink(tmp); throw fail("close") }
        guard rename(tmp, path) == 0 else { ok = true; unlink(tmp); throw fail("rename \(tmp)") }
        ok = true
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }
}
