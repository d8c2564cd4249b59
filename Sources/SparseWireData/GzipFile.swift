import CZlib
import Foundation
import SparseWireTensor

/// Reads a whole file, inflating it when it is gzip-compressed (zlib reads plain files as they are).
package enum GzipFile {
    package static func read(_ path: String) throws -> [UInt8] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw SparseWireError(.io, "\(path): no such file")
        }
        guard !isDir.boolValue else { throw SparseWireError(.io, "\(path): is a directory, expected a file") }
        guard let f = gzopen(path, "rb") else { throw SparseWireError(.io, "\(path): cannot open (errno \(errno))") }
        defer { gzclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(f, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw SparseWireError(.data, "\(path): corrupt compressed data (\(gzErrorText(f)))") }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
        }
        var errnum: Int32 = 0
        _ = gzerror(f, &errnum)
        if errnum != Z_OK && errnum != Z_STREAM_END {
            throw SparseWireError(.data, "\(path): truncated or corrupt gzip stream (\(gzErrorText(f)))")
        }
        return out
    }

    private static func gzErrorText(_ f: gzFile) -> String {
        var e: Int32 = 0
        guard let p = gzerror(f, &e) else { return "zlib error \(e)" }
        let s = String(cString: p)
        return s.isEmpty ? "zlib error \(e)" : s
    }
}
