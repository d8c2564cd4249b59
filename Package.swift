// swift-tools-version:6.0
import PackageDescription

/// The C library exports only the sw_* functions of Include/sparsewire.h (docs/C_API.md).
/// SwiftPM cannot have a library and an executable product both named `sparsewire`, so the
/// product is `SparseWire` (libSparseWire.so) with the soname libsparsewire.so; scripts/setup.sh
/// links .build/release/libsparsewire.so to it.
let exportOnlyCABI: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/SparseWire/exports.map",
                  "-Xlinker", "-soname=libsparsewire.so"]),
]

let package = Package(
    name: "SparseWire",
    products: [
        .library(name: "SparseWireCore", targets: ["SparseWireCore"]),
        .library(name: "SparseWire", type: .dynamic, targets: ["SparseWire"]),
        .library(name: "sw_gmp", type: .dynamic, targets: ["GMPPlugin"]),
        .library(name: "sw_snip", type: .dynamic, targets: ["SNIPPlugin"]),
        .executable(name: "sparsewire", targets: ["sparsewire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Publishes Include/sparsewire.h and Include/sparsewire_plugin.h as a Clang module.
        .target(name: "CSparseWire", path: "Sources/CSparseWire"),
        // Hot elementwise and sparse kernels in C, each built for AVX2+FMA and for baseline
        // x86-64 and picked at load time (docs/BENCHMARKS.md).
        .target(name: "CKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(
            name: "SparseWireCore",
            dependencies: ["COpenBLAS", "CZlib", "CSparseWire", "CKernels", .product(name: "Yams", package: "Yams")],
            path: "Sources/SparseWireCore",
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        // The C ABI: every sw_* function of Include/sparsewire.h, via @c @implementation.
        .target(
            name: "SparseWire",
            dependencies: ["SparseWireCore", "CSparseWire"],
            path: "Sources/SparseWire",
            exclude: ["exports.map"],
            linkerSettings: exportOnlyCABI
        ),
        .executableTarget(
            name: "sparsewire",
            dependencies: ["SparseWireCore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/sparsewire"
        ),
        // Random-input harness for the parsers (fuzz/run.sh, docs/FUZZING.md).
        .executableTarget(name: "sparsewire-fuzz", dependencies: ["SparseWireCore", "CZlib"], path: "Sources/sparsewire-fuzz"),
        // Plugins speak only the C plugin ABI (Include/sparsewire_plugin.h).
        .target(name: "GMPPlugin", dependencies: ["CSparseWire"], path: "Plugins/gmp", publicHeadersPath: "."),
        .target(name: "SNIPPlugin", dependencies: ["CSparseWire"], path: "Plugins/snip"),
        .testTarget(
            name: "SparseWireCoreTests",
            dependencies: ["SparseWireCore", "CZlib", "CKernels"],
            path: "Tests/SparseWireCoreTests"
        ),
    ]
)
