import Foundation
import SparseWireTensor
import SparseWireAutograd
import SparseWireNetworks
import SparseWireData
import SparseWireMasking
import SparseWireOptim
import SparseWireConfig
import SparseWireTraining

/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
/// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {k: v}},
/// then the raw little-endian data. Offsets are relative to the data start; tensors tile the
/// data without holes or overlaps. SparseWire writes F32 tensors, and masks as BOOL or U8 (one
/// byte per weight); it reads F32, BOOL (bytes 0 or 1 only) and U8 into Float tensors.
public enum SafeTensors {
    /// Largest header accepted (the reference implementation's limit is 100 MB).
    package static let maxHeader = 100_000_000

    /// Element types SparseWire reads and writes.
    public enum DType: String, Sendable {
        case f32 = "F32", u8 = "U8", bool = "BOOL"
        package var size: Int { self == .f32 ? 4 : 1 }
    }

    /// Serialises tensors (sorted by name) and string metadata. `dtypes` names the tensors stored
    /// as BOOL (any non-zero value becomes 1) or U8 (bytes: whole values 0…255); the others are F32.
    /// Errors: `.io` for an empty tensor name or one named `__metadata__`; `.data` for a U8
    /// tensor holding a value that is not a byte.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String], dtypes: [String: DType] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            guard name != "__metadata__", !name.isEmpty else { throw SparseWireError(.io, "safetensors: bad tensor name '\(name)'") }
            let t = tensors[name]!, dt = dtypes[name] ?? .f32
            header[name] = ["dtype": dt.rawValue, "shape": t.shape, "data_offsets": [offset, offset + dt.size * t.count]]
            offset += dt.size * t.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces to align the data
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            let t = tensors[name]!
            switch dtypes[name] ?? .f32 {
            case .f32: out.append(Data(bytes: t.data, count: 4 * t.count))  // Float32 is little-endian here
            case .bool: out.append(contentsOf: (0..<t.count).map { t.data[$0] != 0 ? UInt8(1) : 0 })
            case .u8:
                for i in 0..<t.count {
                    let x = t.data[i]
                    guard x >= 0, x <= 255, x.rounded() == x else {
                        throw SparseWireError(.data, "safetensors: U8 tensor '\(name)' holds \(x) at element \(i), not a byte")
                    }
                    out.append(UInt8(x))
                }
            }
        }
        return out
    }

    /// Parses a safetensors file image; every length, offset and dtype is checked.
    /// `source` names the file in messages. Errors: `.data` for a malformed header, entry,
    /// offset layout or BOOL byte; `.unsupported` for a dtype other than F32, BOOL and U8.
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
            guard let dt = DType(rawValue: dtype) else {
                throw SparseWireError(.unsupported, "\(source): tensor '\(name)' has dtype \(dtype); SparseWire reads F32, BOOL and U8")
            }
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
            guard offs[1] - offs[0] == dt.size * count else {
                throw bad("tensor '\(name)' holds \(offs[1] - offs[0]) bytes, shape \(shape) needs \(dt.size * count)")
            }
            let t = Tensor(shape: shape)
            if count > 0 {
                try data.withUnsafeBytes { raw in
                    let src = raw.baseAddress! + (body - data.startIndex) + offs[0]
                    if dt == .f32 { UnsafeMutableRawPointer(t.data).copyMemory(from: src, byteCount: 4 * count); return }
                    let bytes = src.assumingMemoryBound(to: UInt8.self)
                    for i in 0..<count {
                        if dt == .bool, bytes[i] > 1 { throw bad("BOOL tensor '\(name)' holds byte \(bytes[i]) at element \(i)") }
                        t.data[i] = Float(bytes[i])
                    }
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

    /// Writes atomically: a temporary file in the same directory, fsync, rename over `path`,
    /// fsync of the directory. A crash at any point leaves either the old file or the new one.
    /// Errors: as `encode`, and `.io` when the file cannot be written.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String], dtypes: [String: DType] = [:], to path: String) throws {
        try AtomicFile.write(try encode(tensors, metadata: metadata, dtypes: dtypes), to: path)
    }

    /// Reads the whole file at `path` into memory and decodes it.
    /// Errors: `.io` when it is missing or unreadable; else as `decode`.
    public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard FileManager.default.fileExists(atPath: path) else { throw SparseWireError(.io, "checkpoint \(path): no such file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw SparseWireError(.io, "checkpoint \(path): unreadable") }
        return try decode(data, source: path)
    }
}
