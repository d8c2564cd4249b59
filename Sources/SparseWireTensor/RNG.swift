import Foundation

/// A small, fast, seedable generator (xoshiro256**, seeded through SplitMix64).
/// Every random draw in the engine goes through one of these so a run is reproducible
/// from its seed alone.
public struct RNG: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose four state words are SplitMix64 outputs of `seed`: equal seeds give
    /// equal streams. A value type: each copy continues the stream on its own.
    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// The generator's four state words (for checkpoints).
    public var state: [UInt64] {
        get { [s.0, s.1, s.2, s.3] }
        set {
            precondition(newValue.count == 4)
            s = (newValue[0], newValue[1], newValue[2], newValue[3])
        }
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [0, 1).
    @inline(__always)
    public mutating func uniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [lo, hi).
    @inline(__always)
    public mutating func uniform(_ lo: Float, _ hi: Float) -> Float {
        lo + (hi - lo) * uniform()
    }

    /// Standard normal draw (Box–Muller, one value per call).
    public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    /// Uniform integer in 0..<n (n > 0), without modulo bias.
    public mutating func int(below n: Int) -> Int {
        Int(truncatingIfNeeded: next(upperBound: UInt64(n)))
    }

    /// A new generator derived from this one's seed stream (for sub-components).
    public mutating func fork() -> RNG { RNG(seed: next()) }

    /// In-place Fisher–Yates shuffle.
    public mutating func shuffle(_ a: inout [Int]) {
        if a.count < 2 { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = int(below: i + 1)
            a.swapAt(i, j)
        }
    }
}
