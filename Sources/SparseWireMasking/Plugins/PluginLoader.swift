import CSparseWire
import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks

/// Loads policy plugins (shared libraries exporting `sw_plugin_entry`) and registers their
/// policies. dlopen(RTLD_NOW | RTLD_LOCAL); a library is never unloaded (it may contain Swift).
public enum PluginLoader {
    /// What a loaded plugin declared.
    public struct Plugin: Sendable {
        /// The resolved (symlink-free) path of the shared library.
        public let path: String
        /// The plugin's name, as its `sw_plugin` declares it.
        public let name: String
        /// The plugin's version string.
        public let version: String
        /// Names of the policies it registered, in table order.
        public let policies: [String]
    }

    /// Plugin log levels: the SW_LOG_* values of Include/sparsewire_plugin.h.
    public enum LogLevel: Int32, Sendable { case debug = 0, info = 1, warning = 2 }

    /// Plugin log lines at or above this level go to stderr (default: warnings).
    public static var logLevel: LogLevel {
        get { LogLevel(rawValue: EngineLog.level.rawValue) ?? .warning }
        set { EngineLog.level = EngineLog.Level(rawValue: newValue.rawValue) ?? .warning }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var loaded: [String: Plugin] = [:]

    /// Plugins loaded so far, by resolved path.
    public static var plugins: [Plugin] {
        lock.lock(); defer { lock.unlock() }
        return loaded.values.sorted { $0.path < $1.path }
    }

    /// Loads `path` and registers all of its policies, or none (any error leaves the registry
    /// unchanged). The same file loaded again returns its record and `isNew` false.
    /// Errors: `.io` when no file is at `path`; `.plugin` for an empty path, a directory, a dlopen
    /// failure, no `sw_plugin_entry`, an ABI mismatch, a bad table or a policy name already taken.
    @discardableResult
    public static func load(path: String) throws -> (plugin: Plugin, isNew: Bool) {
        lock.lock(); defer { lock.unlock() }
        guard !path.isEmpty else { throw SparseWireError(.plugin, "plugin path is empty") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw SparseWireError(.io, "plugin file \(path): no such file")
        }
        guard !isDir.boolValue else { throw SparseWireError(.plugin, "plugin \(path) is a directory, not a shared library") }
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        if let p = loaded[resolved] { return (p, false) }
        let origin = "plugin \(path)"
        guard let handle = dlopen(resolved, RTLD_NOW | RTLD_LOCAL) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown reason"
            throw SparseWireError(.plugin, "cannot load \(origin): \(why)")
        }
        // Never dlclose: a plugin may hold Swift metadata, and policies keep its function pointers.
        _ = dlerror()
        guard let sym = dlsym(handle, SW_PLUGIN_ENTRY_SYMBOL) else {
            throw SparseWireError(.plugin, "\(origin) does not export '\(SW_PLUGIN_ENTRY_SYMBOL)' (not a SparseWire plugin?)")
        }
        let entry = unsafeBitCast(sym, to: sw_plugin_entry_fn.self)
        guard let desc = entry() else { throw SparseWireError(.plugin, "\(origin): sw_plugin_entry returned NULL") }
        let size = Int(desc.pointee.struct_size)
        let least = MemoryLayout<sw_plugin>.offset(of: \sw_plugin.abi_minor)!  // a 1.0 descriptor
        guard size >= least else {
            throw SparseWireError(.plugin, "\(origin): sw_plugin.struct_size is \(size), expected ≥ \(least)")
        }
        // Copy only the fields the plugin's struct holds whole (a 1.0 descriptor has no abi_minor: 0).
        var d = sw_plugin()
        let whole = CStructPrefix.wholeFields(size, fieldEnds: [least, least + MemoryLayout<UInt32>.size])
        withUnsafeMutableBytes(of: &d) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(desc), count: whole))
        }
        guard d.abi_version == SW_PLUGIN_ABI_VERSION else {
            throw SparseWireError(.plugin, "\(origin) was built for plugin ABI \(d.abi_version).\(d.abi_minor); this host speaks \(SW_PLUGIN_ABI_VERSION).\(SW_PLUGIN_ABI_MINOR) and loads only major version \(SW_PLUGIN_ABI_VERSION) (rebuild it against Include/sparsewire_plugin.h)")
        }
        guard d.abi_minor <= SW_PLUGIN_ABI_MINOR else {
            throw SparseWireError(.plugin, "\(origin) was built for plugin ABI \(d.abi_version).\(d.abi_minor), newer than this host's \(SW_PLUGIN_ABI_VERSION).\(SW_PLUGIN_ABI_MINOR) (update SparseWire, or rebuild the plugin against this header)")
        }
        let name = try CString.read(d.name, what: "plugin name", origin: origin)
        let version = try CString.read(d.version, what: "plugin version", origin: origin)
        guard d.policy_count >= 1, d.policy_count <= 1024 else {
            throw SparseWireError(.plugin, "\(origin) declares \(d.policy_count) policies (1…1024 allowed)")
        }
        guard let table = d.policies else { throw SparseWireError(.plugin, "\(origin): policies table is NULL") }
        let defs = try (0..<Int(d.policy_count)).map { try CPolicyDefinition(table[$0], origin: origin) }
        do { try PolicyRegistry.register(contentsOf: defs.map(\.descriptor)) } catch let e as SparseWireError {
            throw SparseWireError(.plugin, "\(origin): \(e.message)")
        }
        let plugin = Plugin(path: resolved, name: name, version: version, policies: defs.map(\.name))
        loaded[resolved] = plugin
        return (plugin, true)
    }

    /// Removes a policy registered from host callbacks; instances still running keep working,
    /// and its `destroy_user_data` runs when the last one is gone.
    /// Errors: `.config` for an unknown name; `.plugin` for a built-in or plugin policy.
    public static func unregister(name: String) throws {
        do { try PolicyRegistry.unregister(name) } catch let e as SparseWireError where e.kind == .state {
            throw SparseWireError(.plugin, e.message)
        }
    }

    /// Registers one policy defined by host callbacks (the struct is copied); returns its name.
    /// Errors: `.plugin` for a bad table (as `CPolicyDefinition`) or a name already taken.
    public static func register(definition: UnsafePointer<sw_policy_def>?) throws -> String {
        let def = try CPolicyDefinition(definition, origin: CPolicyDefinition.hostCallbacks)
        do { try PolicyRegistry.register(contentsOf: [def.descriptor]) } catch let e as SparseWireError {
            throw SparseWireError(.plugin, "host callbacks: \(e.message)")
        }
        return def.name
    }
}
