import Foundation

/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
/// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {k: v}},
/// then the raw little-endian data. Offsets are relative to the data start; tensors tile the
/// data without holes or overlaps. SparseWire reads and writes F32 tensors.
public enum SafeTensors {
    /// Largest header accepted (the reference implementation's limit is 100 MB).
    static let maxHeader = 100_000_000

    /// Serialises tensors (sorted by name) and string metadata.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            guard name != "__metadata__", !name.isEmpty else { throw SparseWireError(.io, "safetensors: bad tensor name '\(name)'") }
            let t = tensors[name]!
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.count]]
            offset += 4 * t.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces to align the data
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            let t = tensors[name]!
            out.append(Data(bytes: t.data, count: 4 * t.count))  // Float32 is little-endian here
        }
        return out
    }

    /// Parses a safetensors file image; every length, offset and dtype is checked.
    public static func decode(_ data: Data, source: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        func bad(_ m: String) -> SparseWireError { SparseWireError(.data, "\(source): not a valid safetensors file: \(m)") }
        guard data.count >= 8 else { throw bad("\(data.count) bytes, shorter than the 8-byte header length") }
        let n64 = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n64 <= UInt64(maxHeader), Int(n64) <= data.count - 8 else { throw bad("header length \(n64) exceeds the file (\(data.count) bytes)") }
        let n = Int(n64)
        let headerData = data.subdata(in: data.startIndex + 8 ..< data.startIndex + 8 + n)
        guard let obj = try? JSONSerialization.jsonObject(with: headerData), let header = obj as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let body = data.startIndex + 8 + n
        let bodyCount = data.count - 8 - n
        var metadata: [String: String] = [:]
        var tensors: [String: Tensor] = [:]
        var spans: [(Int, Int, String)] = []
        for (name, v) in header {
            if name == "__metadata__" {
                guard let m = v as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, x) in m {
                    guard let s = x as? String else { throw bad("metadata '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let e = v as? [String: Any], let dtype = e["dtype"] as? String,
                  let shapeAny = e["shape"] as? [Any], let offAny = e["data_offsets"] as? [Any], offAny.count == 2 else {
                throw bad("entry '\(name)' needs dtype, shape and two data_offsets")
            }
            guard dtype == "F32" else { throw SparseWireError(.unsupported, "\(source): tensor '\(name)' has dtype \(dtype); only F32 is supported") }
            let shape = try shapeAny.map { x -> Int in
                guard let i = x as? Int, i >= 0, i < (1 << 40) else { throw bad("tensor '\(name)' has a bad dimension \(x)") }
                return i
            }
            let offs = try offAny.map { x -> Int in
                guard let i = x as? Int, i >= 0 else { throw bad("tensor '\(name)' has a bad offset \(x)") }
                return i
            }
            var count = 1
            for d in shape {
                let (c, o) = count.multipliedReportingOverflow(by: d)
                guard !o, c < (1 << 40) else { throw bad("tensor '\(name)' shape \(shape) is too large") }
                count = c
            }
            guard offs[0] <= offs[1], offs[1] <= bodyCount else {
                throw bad("tensor '\(name)' data_offsets \(offs) outside the \(bodyCount)-byte data section")
            }
            guard offs[1] - offs[0] == 4 * count else {
                throw bad("tensor '\(name)' holds \(offs[1] - offs[0]) bytes, shape \(shape) needs \(4 * count)")
            }
            let t = Tensor(shape: shape)
            if count > 0 {
                data.withUnsafeBytes { raw in
                    UnsafeMutableRawPointer(t.data).copyMemory(from: raw.baseAddress! + (body - data.startIndex) + offs[0], byteCount: 4 * count)
                }
            }
            tensors[name] = t
            spans.append((offs[0], offs[1], name))
        }
        spans.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var end = 0
        for (b, e, name) in spans {
            guard b == end else { throw bad(b < end ? "tensor '\(name)' overlaps another" : "a hole before tensor '\(name)'") }
            end = e
        }
        guard end == bodyCount else { throw bad("\(bodyCount - end) trailing bytes after the last tensor") }
        return (tensors, metadata)
    }

    /// Writes atomically (temporary file in the same directory, then rename).
    public static func write(_ tensors: [String: Tensor], metadata: [String: String], to path: String) throws {
        let data = try encode(tensors, metadata: metadata)
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw SparseWireError(.io, "cannot write \(path): \(error.localizedDescription)")
        }
    }

    public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard FileManager.default.fileExists(atPath: path) else { throw SparseWireError(.io, "checkpoint \(path): no such file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw SparseWireError(.io, "checkpoint \(path): unreadable") }
        return try decode(data, source: path)
    }
}
