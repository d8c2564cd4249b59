import Foundation

/// The process-wide log of engine and plugin messages. Lines at or above `level` go to the
/// installed sink (the C ABI's `sw_set_log_callback`), or to stderr when none is installed.
/// Thread-safe; the sink is called on the thread that logs.
public enum EngineLog {
    /// Message levels: the SW_LOG_* values of Include/sparsewire_plugin.h.
    public enum Level: Int32, Sendable, Comparable {
        /// Detail for debugging a policy.
        case debug = 0
        /// Normal progress notes.
        case info = 1
        /// Something the user should look at.
        case warning = 2

        /// Orders by severity.
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        /// The word printed on stderr ("debug", "info", "warning").
        public var word: String { self == .warning ? "warning" : self == .info ? "info" : "debug" }
    }

    /// Receives one line: its level, its source (e.g. "policy gmp") and the message.
    public typealias Sink = @Sendable (Level, String, String) -> Void

    private static let lock = NSLock()
    nonisolated(unsafe) private static var sink: Sink?
    nonisolated(unsafe) private static var threshold: Level = .warning

    /// Lines below this level are dropped (default `.warning`; the CLI's -v lowers it).
    public static var level: Level {
        get { lock.lock(); defer { lock.unlock() }; return threshold }
        set { lock.lock(); threshold = newValue; lock.unlock() }
    }

    /// Installs `sink` (nil: back to stderr) and the level from which lines reach it.
    public static func install(_ sink: Sink?, level: Level) {
        lock.lock(); defer { lock.unlock() }
        self.sink = sink
        threshold = level
    }

    /// Logs one line from `source`.
    public static func write(_ level: Level, source: String, _ message: String) {
        lock.lock()
        let (s, t) = (sink, threshold)
        lock.unlock()
        guard level >= t else { return }
        if let s { s(level, source, message); return }
        FileHandle.standardError.write(Data("[\(source)] \(level.word): \(message)\n".utf8))
    }
}
