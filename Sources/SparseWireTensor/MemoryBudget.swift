import Foundation

/// The memory an engine may plan to use, and the preflight check against it: sizes that reach
/// the engine from a config, a checkpoint, a C call or a Python call are estimated and refused
/// with an error naming the key before anything is allocated, never an allocation abort.
public enum MemoryBudget {
    /// Physical memory of this machine, in bytes.
    public static var physicalBytes: Double { Double(ProcessInfo.processInfo.physicalMemory) }

    /// The default limit: 80 % of physical memory (`runtime.max_memory: 0`).
    public static var defaultLimit: Double { 0.8 * physicalBytes }

    /// The limit a `runtime.max_memory` setting in GiB means: itself, or `defaultLimit` for 0.
    public static func limit(gibibytes: Double) -> Double {
        gibibytes > 0 ? gibibytes * 1_073_741_824 : defaultLimit
    }

    /// Throws `.config` when `bytes` (an estimate) exceeds `limit` (both in bytes), naming `what`
    /// (the offending keys and values, e.g. "model.hidden [100000000, 10]") and `detail` (how the
    /// estimate is made up, e.g. "7.8e10 parameters").
    public static func check(_ bytes: Double, limit: Double, what: String, detail: String) throws {
        guard bytes.isFinite, bytes <= limit else {
            throw SparseWireError.config("\(what) needs about \(format(bytes)) (\(detail)), more than the memory limit of "
                + "\(format(limit)) (runtime.max_memory; default 80 % of physical memory)")
        }
    }

    /// "1.5 GiB", "312.0 MiB", "4.0 KiB": bytes in binary units, one decimal.
    public static func format(_ bytes: Double) -> String {
        guard bytes.isFinite else { return "an unbounded amount" }
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var v = bytes, i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(Int(v)) bytes" : String(format: "%.1f %@", v, units[i])
    }
}
