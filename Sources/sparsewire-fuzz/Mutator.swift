import SparseWireCore

/// A seeded byte-level mutator in the style of libFuzzer's: bit flips, byte sets to interesting
/// values, inserts, deletes, duplicated and swapped chunks, truncation, splices with another seed,
/// and overwrites of 2/4/8-byte fields with boundary integers (little- and big-endian, since the
/// IDX header is big-endian and safetensors' is little-endian).
struct Mutator {
    var rng: RNG
    let seeds: [[UInt8]]
    let dictionary: [[UInt8]]

    init(seed: UInt64, seeds: [[UInt8]], dictionary: [String] = []) {
        rng = RNG(seed: seed)
        self.seeds = seeds
        self.dictionary = dictionary.map { Array($0.utf8) }
    }

    mutating func pick<T>(_ a: [T]) -> T { a[rng.int(below: a.count)] }

    static let interesting: [UInt64] = [0, 1, 2, 3, 7, 8, 10, 16, 127, 128, 255, 256, 1023, 1024, 4096, 32767, 32768, 65535,
                                        65536, 1 << 31 - 1, 1 << 31, 1 << 32 - 1, 1 << 32, 1 << 40, 1 << 62, UInt64.max, UInt64.max - 1]

    /// A fresh input: a seed with 1…8 mutations (sometimes none, so the seed corpus itself runs).
    mutating func next() -> [UInt8] {
        var b = pick(seeds)
        if rng.int(below: 50) == 0 { return b }
        for _ in 0...rng.int(below: 8) { mutate(&b) }
        return b
    }

    mutating func mutate(_ b: inout [UInt8]) {
        let pos = b.isEmpty ? 0 : rng.int(below: b.count)
        switch rng.int(below: 11) {
        case 0 where !b.isEmpty: b[pos] ^= UInt8(1) << UInt8(rng.int(below: 8))
        case 1 where !b.isEmpty: b[pos] = UInt8(truncatingIfNeeded: rng.next())
        case 2 where !b.isEmpty: b[pos] = pick([0, 1, 0x7f, 0x80, 0xff, 0x20, 0x0a, 0x22, 0x2c, 0x3a, 0x5b, 0x5d, 0x7b, 0x7d, 0x2d, 0x30, 0x39])
        case 3: b.insert(contentsOf: (0..<(1 + rng.int(below: 8))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: pos)
        case 4 where !b.isEmpty: b.removeSubrange(pos..<min(b.count, pos + 1 + rng.int(below: 16)))
        case 5 where !b.isEmpty:  // duplicate a chunk
            let end = min(b.count, pos + 1 + rng.int(below: 64))
            b.insert(contentsOf: Array(b[pos..<end]), at: rng.int(below: b.count + 1))
        case 6: b = Array(b.prefix(rng.int(below: b.count + 1)))  // truncate
        case 7:  // splice with another seed
            let other = pick(seeds)
            let cut = other.isEmpty ? 0 : rng.int(below: other.count)
            b = Array(b.prefix(pos)) + Array(other[cut...])
        case 8 where b.count >= 8:  // boundary integer into a field
            let width = pick([2, 4, 8]), at = rng.int(below: b.count - width + 1)
            let v = pick(Mutator.interesting) &+ UInt64(bitPattern: Int64(rng.int(below: 3) - 1))
            let bigEndian = rng.int(below: 2) == 0
            for i in 0..<width {
                let shift = UInt64(8 * (bigEndian ? width - 1 - i : i))
                b[at + i] = UInt8(truncatingIfNeeded: v >> shift)
            }
        case 9 where !dictionary.isEmpty: b.insert(contentsOf: pick(dictionary), at: pos)
        case 10 where !dictionary.isEmpty && !b.isEmpty:  // replace a token-sized run with a dictionary word
            let end = min(b.count, pos + 1 + rng.int(below: 8))
            b.replaceSubrange(pos..<end, with: pick(dictionary))
        default: if !b.isEmpty { b[pos] = b[pos] &+ 1 }
        }
        if b.count > 1 << 20 { b = Array(b.prefix(1 << 20)) }
    }
}
