import CKernels

/// The CPU's vector features, as the one detector in the project reads them (cpuid, through
/// the C kernels' `swk_cpu_features`): the kernels' AVX2 dispatch, the OpenBLAS core type the CLI
/// and the Python package set, `sparsewire info` and the C ABI's `sw_cpu_features` all ask it.
public struct CPUFeatures: Equatable, Sendable, CustomStringConvertible {
    /// The raw bit set (`SWK_CPU_*` of sw_kernels.h, the same bits as `SW_CPU_*` of sparsewire.h).
    public let bits: UInt32

    /// Wraps a raw `SWK_CPU_*` bit set as is (no detection; `current` reads this machine).
    public init(bits: UInt32) { self.bits = bits }

    /// This machine's features (read once per process).
    public static let current = CPUFeatures(bits: UInt32(swk_cpu_features()))

    /// AVX2 (256-bit integer and float vectors) is present.
    public var avx2: Bool { bits & UInt32(SWK_CPU_AVX2) != 0 }
    /// FMA3 (fused multiply-add) is present.
    public var fma: Bool { bits & UInt32(SWK_CPU_FMA) != 0 }
    /// AVX-512 Foundation is present.
    public var avx512f: Bool { bits & UInt32(SWK_CPU_AVX512F) != 0 }
    /// AVX-512 BW (byte and word instructions) is present.
    public var avx512bw: Bool { bits & UInt32(SWK_CPU_AVX512BW) != 0 }
    /// AVX-512 VL (AVX-512 instructions on 128- and 256-bit vectors) is present.
    public var avx512vl: Bool { bits & UInt32(SWK_CPU_AVX512VL) != 0 }

    /// The OpenBLAS core type for these features: `SkylakeX` with AVX-512 F+BW+VL, `Haswell`
    /// with AVX2+FMA, nil otherwise (leave OpenBLAS's own detection alone).
    public var recommendedOpenBLASCore: String? {
        if avx512f && avx512bw && avx512vl { return "SkylakeX" }
        if avx2 && fma { return "Haswell" }
        return nil
    }

    /// Names of the features present, e.g. ["avx2", "fma"].
    public var names: [String] {
        [("avx2", avx2), ("fma", fma), ("avx512f", avx512f), ("avx512bw", avx512bw), ("avx512vl", avx512vl)]
            .filter(\.1).map(\.0)
    }

    public var description: String { names.isEmpty ? "baseline x86-64" : names.joined(separator: " ") }
}
