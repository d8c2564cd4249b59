import CZlib
import Foundation
import SparseWireCore

/// Random-input harness for SparseWire's parsers (docs/FUZZING.md). Each target mutates a small
/// corpus of valid inputs and feeds every result to the real entry point; an input may be
/// accepted or refused with an error, anything else (a trap, a crash, a hang) is a bug. Run from
/// fuzz/run.sh; deterministic for a given --seed, so a failure replays with the same arguments.
///
///   sparsewire-fuzz TARGET [--count N] [--seed S]      TARGET: config | idx | cifar | safetensors | plugin

func usage() -> Never {
    FileHandle.standardError.write("usage: sparsewire-fuzz config|idx|cifar|safetensors|plugin [--count N] [--seed S]\n".data(using: .utf8)!)
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
guard let target = args.first else { usage() }
args.removeFirst()
var count = 100_000, seed: UInt64 = 1
while !args.isEmpty {
    let flag = args.removeFirst()
    guard let v = args.first else { usage() }
    args.removeFirst()
    switch flag {
    case "--count": guard let n = Int(v), n > 0 else { usage() }; count = n
    case "--seed": guard let s = UInt64(v) else { usage() }; seed = s
    default: usage()
    }
}

let scratch = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()) + "/sparsewire-fuzz-\(getpid())"
try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: scratch) }

func writeFile(_ bytes: [UInt8], _ name: String) -> String {
    let path = scratch + "/" + name
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
        // A scratch file that cannot be written would leave its input untested: stop instead.
        FileHandle.standardError.write(Data("sparsewire-fuzz: cannot write \(path)\n".utf8))
        exit(2)
    }
    return path
}

/// gzip-compresses through zlib, so the readers' inflate path is fuzzed too.
func gzip(_ bytes: [UInt8]) -> [UInt8] {
    let path = scratch + "/seed.gz"
    guard let f = gzopen(path, "wb") else { return bytes }
    _ = bytes.withUnsafeBytes { gzwrite(f, $0.baseAddress, UInt32($0.count)) }
    gzclose(f)
    return Array(FileManager.default.contents(atPath: path) ?? Data())
}

func idx(_ dims: [Int], fill: (Int) -> UInt8) -> [UInt8] {
    var b: [UInt8] = [0, 0, 8, UInt8(dims.count)]
    for d in dims { b += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
    return b + (0..<dims.reduce(1, *)).map(fill)
}

func corpus() throws -> (seeds: [[UInt8]], dictionary: [String]) {
    switch target {
    case "config":
        var seeds = try FileManager.default.contentsOfDirectory(atPath: "configs").sorted()
            .compactMap { FileManager.default.contents(atPath: "configs/" + $0).map { Array($0) } }
        seeds.append(Array(#"{"model": {"name": "conv4", "width": 0.5}, "policy": "rigl", "density": 0.1, "policy_options": {"delta_t": 50}}"#.utf8))
        seeds.append(Array("policy: edge-popup\ndensity: 0.5\nmasking: {scope: global, first_layer_dense: true}\nschedule: {name: multistep, milestones: [1, 2]}\n".utf8))
        let words = ["model:", "name:", "policy:", "density:", "optimizer:", "lr:", "epochs:", "[", "]", "{", "}", ": ", "\n  ", "- ",
                     "&a ", "*a", "!!float ", "!!binary ", "null", "~", "true", "1e400", "-1", "0x10", ".nan", ".inf", "'", "\"",
                     "<<: *a", "---\n", "...\n", "%YAML 1.2\n", "? ", "|\n", ">\n", "\t", "conv8", "randwire", "dnw", "ws", "er", "ba",
                     "graph: {model: ba, n: 2, m: 5}", "model.hidden", "[[[[[[[[", "{{{{{{{{", "99999999999999999999"]
        return (seeds, words)
    case "idx":
        let images = idx([3, 4, 5]) { UInt8($0 * 7 & 255) }, labels = idx([3]) { UInt8($0 % 10) }
        return ([images, labels, idx([2, 1, 1, 2]) { UInt8($0) }, gzip(images), gzip(labels)], [])
    case "cifar":
        let record = [UInt8(3)] + (0..<3072).map { UInt8($0 & 255) }
        return ([record, record + record, gzip(record + record)], [])
    case "safetensors":
        let a = try Tensor(shape: [2, 3], values: [1, -2, 3.5, 0, 5, -6]), m = try Tensor(shape: [2, 3], values: [1, 0, 1, 0, 0, 1])
        let s1 = try SafeTensors.encode(["param/w": a, "mask/w": m], metadata: ["format": "sparsewire-checkpoint", "rng": "1,2,3,4"], dtypes: ["mask/w": .bool])
        let s2 = try SafeTensors.encode(["x": Tensor(shape: [0]), "y": Tensor(shape: [1, 1, 1])], metadata: [:], dtypes: ["y": .u8])
        let words = [#""dtype""#, #""F32""#, #""BOOL""#, #""U8""#, #""F16""#, #""shape""#, #""data_offsets""#, #""__metadata__""#,
                     "[0,", "18446744073709551615", "-1", "1e30", "null", "{}", "[]", ",", ":"]
        return ([Array(s1), Array(s2)], words)
    case "plugin":
        // Cursor bytes (PluginTables): all zeros is a valid table with every callback; 255s pick NULLs and raw values.
        return ([[], Array(repeating: 0, count: 48), Array(repeating: 255, count: 48), (0..<64).map { UInt8($0 * 37 & 255) }], [])
    default: usage()
    }
}

/// A valid 3-label IDX file, the partner of every fuzzed image file in `loadPair`.
let labelsPath = writeFile(idx([3]) { UInt8($0) }, "labels.idx")

/// Feeds one input to the target; true when it was accepted.
func feed(_ input: [UInt8]) throws -> Bool {
    switch target {
    case "config":
        let cfg = try Config(yaml: String(decoding: input, as: UTF8.self), source: "fuzz")
        _ = try Config.parseOptions(String(decoding: input.prefix(200), as: UTF8.self))
        _ = cfg.resolved.count
        return true
    case "idx":
        // as the image file of a pair (loadPair reads it with IDXReader.read, then checks the pair)
        _ = try IDXReader.loadPair(images: writeFile(input, "input.idx"), labels: labelsPath, name: "fuzz")
        return true
    case "cifar":
        _ = try CIFAR10Reader.readBatch(writeFile(input, "batch.bin"))
        return true
    case "safetensors":
        let (tensors, _) = try SafeTensors.decode(Data(input), source: "fuzz")
        _ = tensors.count
        return true
    case "plugin":
        return try PluginTables.feed(input)
    default: usage()
    }
}

let (seeds, dictionary) = try corpus()
var mutator = Mutator(seed: seed, seeds: seeds, dictionary: dictionary)
var accepted = 0, refused = 0
var reasons: [String: Int] = [:]
let start = Date()
for _ in 0..<count {
    do { if try feed(mutator.next()) { accepted += 1 } } catch {
        refused += 1
        let text = "\(error)"
        // group refusals by the first few words of the message, for the summary
        let key = text.split(separator: " ").prefix(4).joined(separator: " ").prefix(60)
        reasons[String(key), default: 0] += 1
    }
}
let secs = Date().timeIntervalSince(start)
print("fuzz \(target): \(count) inputs (seed \(seed)) in \(String(format: "%.1f", secs)) s: \(accepted) accepted, \(refused) refused with an error, 0 crashes")
for (k, v) in reasons.sorted(by: { $0.value > $1.value }).prefix(5) { print("  \(v)× \(k)…") }
