import CSparseWire
import Foundation
import SparseWireCore

/// The `plugin` target: policy tables as a plugin could hand them over, built from fuzzed bytes
/// (struct sizes — this header's, a 1.0 table's, any —, names and summaries of any bytes, routing
/// and flag values including the 1.1 density-contract and soft-mask bits, untyped and typed
/// (1.1) option tables with NULL or odd names, types and struct sizes, NULL or present callbacks
/// — save/load_state too — whose results are fuzzed). Each table goes
/// through the same validation a loaded plugin's does (`CPolicyDefinition`); a table that passes
/// is registered under its (unique) name and run as a mask-only policy over two small layers.
/// The tables are memory-valid (counts match the arrays): a C host cannot check array lengths,
/// so what is fuzzed is everything the host can and must check.
enum PluginTables {
    /// Reads the input front to back; past its end it yields zeros.
    struct Cursor {
        let bytes: [UInt8]
        var i = 0
        mutating func byte() -> UInt8 { defer { i += 1 }; return i < bytes.count ? bytes[i] : 0 }
        mutating func u32() -> UInt32 {
            var v: UInt32 = 0
            for _ in 0..<4 { v = v << 8 | UInt32(byte()) }
            return v
        }
        /// A NUL-terminated string of up to `max` bytes (any bytes but NUL), or nil.
        mutating func cString(max: Int) -> [CChar]? {
            let n = Int(byte())
            if n == 255 { return nil }
            return (0..<min(n, max)).map { _ in let b = byte(); return CChar(bitPattern: b == 0 ? 0x61 : b) } + [0]
        }
    }

    /// What the fuzzed callbacks return this round (0 = success), read by the C thunks below.
    nonisolated(unsafe) static var results: [Int32] = Array(repeating: 0, count: 8)

    static let create: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sw_host>?, UnsafePointer<CChar>?, Double,
                                       UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 = { _, _, _, _, state in
        state?.pointee = nil
        return PluginTables.results[0]
    }
    static let updateMasks: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UnsafeMutablePointer<sw_layer>?>?, UInt32,
                                            UnsafePointer<sw_step_info>?) -> Int32 = { _, _, _, _ in PluginTables.results[1] }
    static let prepare: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UnsafeMutablePointer<sw_layer>?>?, UInt32) -> Int32 = { _, _, _ in
        PluginTables.results[2]
    }
    static let afterStep: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UnsafeMutablePointer<sw_layer>?>?, UInt32,
                                          UnsafePointer<sw_step_info>?) -> Int32 = { _, _, _, _ in PluginTables.results[3] }

    /// What save_state reports as the byte count on its first and second call.
    nonisolated(unsafe) static var stateSizes: (UInt64, UInt64) = (0, 0)

    static let saveState: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt8>?, UInt64,
                                          UnsafeMutablePointer<UInt64>?) -> Int32 = { _, buf, capacity, needed in
        let n = buf == nil ? PluginTables.stateSizes.0 : PluginTables.stateSizes.1
        needed?.pointee = n
        if let buf, capacity >= n { for i in 0..<Int(n) { buf[i] = UInt8(truncatingIfNeeded: i) } }
        return PluginTables.results[4]
    }
    static let loadState: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, UInt64) -> Int32 = { _, _, _ in
        PluginTables.results[5]
    }

    nonisolated(unsafe) static var round = 0

    /// One table from `input`; true when it was accepted and ran.
    static func feed(_ input: [UInt8]) throws -> Bool {
        var c = Cursor(bytes: input)
        round += 1
        let sizeChoice = c.byte()
        let structSize = sizeChoice < 150 ? UInt32(MemoryLayout<sw_policy_def>.size)
            : sizeChoice < 200 ? UInt32(CPolicyDefinition.version1Size) : c.u32()
        // Mostly a valid, fresh name (so the table gets past validation and registration); else fuzzed bytes or NULL.
        let name: [CChar]? = c.byte() < 180 ? Array("fz-\(round)".utf8CString) : c.cString(max: 80)
        let summary = c.cString(max: 40)
        let routing = UInt32(c.byte() % 8)
        let flags = c.byte() < 200 ? UInt32(c.byte() & 63) : c.u32()
        let optionCount = Int(c.byte() % 6)
        let declaredCount = c.byte() < 230 ? UInt32(optionCount) : c.u32()
        var optionNames: [[CChar]?] = [], optionHelps: [[CChar]?] = []
        for _ in 0..<optionCount { optionNames.append(c.cString(max: 20)); optionHelps.append(c.cString(max: 20)) }
        let typed = c.byte() >= 160           // 1.1 option_infos instead of the 1.0 options table
        let infoSizes = (0..<optionCount).map { _ in c.byte() < 220 ? UInt32(MemoryLayout<sw_option_info>.size) : c.u32() }
        let infoTypes = (0..<optionCount).map { _ in c.byte() < 220 ? UInt32(c.byte() % 3) : c.u32() }
        let callbacks = c.byte(), moreCallbacks = c.byte()
        for k in 0..<results.count { results[k] = c.byte() < 220 ? 0 : Int32(bitPattern: c.u32()) }
        let sizeByte = c.byte()
        // small states, or sizes beyond the 16 GiB the host accepts (refused before allocating)
        let stateSize = sizeByte < 200 ? UInt64(sizeByte % 64) : UInt64(1) << UInt64(35 + sizeByte % 28)
        stateSizes = (stateSize, c.byte() < 230 ? stateSize : stateSize + 1)
        let optionsJSON = c.byte() < 128 ? "" : [#"{"a": 1}"#, #"{"a": "x"}"#, #"{"a": 2.5}"#][Int(c.byte() % 3)]

        return try withStrings(name, summary, optionNames, optionHelps) { namePtr, summaryPtr, optionPtrs in
            var def = sw_policy_def()
            def.struct_size = structSize
            def.name = namePtr; def.summary = summaryPtr
            def.routing = routing; def.flags = flags
            def.option_count = declaredCount
            if callbacks & 1 == 0 { def.create = create }
            if callbacks & 2 == 0 { def.update_masks = updateMasks }
            if callbacks & 4 == 0 { def.prepare = prepare }
            if callbacks & 8 == 0 { def.after_step = afterStep }
            if moreCallbacks & 1 == 0 { def.save_state = saveState }
            if moreCallbacks & 2 == 0 { def.load_state = loadState }
            // 1.1 typed options: pointers to sw_option_info (their names are the same strings)
            var infos = zip(optionPtrs, zip(infoSizes, infoTypes)).map { o, st in
                sw_option_info(struct_size: st.0, type: st.1, name: o.name, help: o.help)
            }
            return try infos.withUnsafeMutableBufferPointer { infoBuffer in
            let infoPointers: [UnsafePointer<sw_option_info>?] = (0..<infoBuffer.count).map { i in
                moreCallbacks & 4 != 0 && i == 0 ? nil : UnsafePointer(infoBuffer.baseAddress! + i)
            }
            return try infoPointers.withUnsafeBufferPointer { infoTable in
            return try optionPtrs.withUnsafeBufferPointer { opts in
                if typed {
                    def.option_infos = infoTable.isEmpty || callbacks & 16 != 0 ? nil : infoTable.baseAddress
                    def.option_info_count = declaredCount
                    def.option_count = moreCallbacks & 8 != 0 ? declaredCount : 0
                } else {
                    def.options = opts.isEmpty || callbacks & 16 != 0 ? nil : opts.baseAddress
                }
                let definition = try withUnsafePointer(to: &def) { try CPolicyDefinition($0, origin: "fuzz") }
                try PolicyRegistry.register(definition.descriptor)
                let options = optionsJSON.isEmpty ? [:] : try Config.parseOptions(optionsJSON)
                let policy = try StandaloneMasking(spec: MaskingSpec(policy: definition.name, options: options, density: 0.5), seed: 1)
                try policy.addLayer(name: "w1", shape: [4, 3])
                try policy.addLayer(name: "w2", shape: [2, 4])
                try policy.prepareIfNeeded()
                for t in 0..<3 {
                    let s = policy.step(t, of: 3)
                    try policy.beforeForward(s)
                    _ = try policy.afterBackward(s, grads: [nil, nil])
                    try policy.afterStep(s)
                }
                if let bytes = try policy.policy.saveState() { try policy.policy.loadState(bytes) }
                return true
            }
            }
            }
        }
    }

    /// Runs `body` with the strings as C pointers that live for the call.
    static func withStrings<T>(_ name: [CChar]?, _ summary: [CChar]?, _ optionNames: [[CChar]?], _ optionHelps: [[CChar]?],
                               _ body: (UnsafePointer<CChar>?, UnsafePointer<CChar>?, [sw_option]) throws -> T) rethrows -> T {
        var owned: [UnsafeMutablePointer<CChar>] = []
        defer { owned.forEach { $0.deallocate() } }
        func dup(_ s: [CChar]?) -> UnsafePointer<CChar>? {
            guard let s else { return nil }
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: s.count)
            p.initialize(from: s, count: s.count)
            owned.append(p)   // freed with deallocate() below
            return UnsafePointer(p)
        }
        let options = zip(optionNames, optionHelps).map { n, h in sw_option(name: dup(n), help: dup(h)) }
        return try body(dup(name), dup(summary), options)
    }
}
