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

/// The engine's targets: ordinary `-O` release builds, with Swift's checked arithmetic and bounds
/// checks (an out-of-range index or an overflow traps instead of corrupting memory). `-Ounchecked`
/// measured no faster (docs/BENCHMARKS.md: the hot loops are in CKernels and OpenBLAS), so no
/// target keeps it. Small functions inline across target boundaries through the compiler's
/// default cross-module optimisation; the explicit `-cross-module-optimization` flag measured no
/// faster and made incremental builds keep stale inlined bodies of a changed dependency.
let engineSwiftSettings: [SwiftSetting] = []

let package = Package(
    name: "SparseWire",
    products: [
        .library(name: "SparseWireCore", targets: ["SparseWireCore"]),
        .library(name: "SparseWire", type: .dynamic, targets: ["SparseWire"]),
        .library(name: "sw_gmp", type: .dynamic, targets: ["GMPPlugin"]),
        .library(name: "sw_snip", type: .dynamic, targets: ["SNIPPlugin"]),
        .library(name: "sw_momentum_regrow", type: .dynamic, targets: ["MomentumRegrowPlugin"]),
        .executable(name: "sparsewire", targets: ["sparsewire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // `swift package generate-documentation` (the DocC catalog in Sources/SparseWireCore).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
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
        // The engine, as a chain of targets whose order the compiler enforces: each lists every
        // module it imports (scripts/test.sh builds with --explicit-target-dependency-import-check
        // error), and none lists one above it (docs/ARCHITECTURE.md draws the graph).
        // Tensors, RNG, BLAS, the per-engine runtime, errors and the small shared types.
        .target(name: "SparseWireTensor", dependencies: ["COpenBLAS", "CKernels"], swiftSettings: engineSwiftSettings),
        // The tape: Var, Context, every op with its backward, Parameter and the Module protocol.
        .target(name: "SparseWireAutograd", dependencies: ["SparseWireTensor", "CKernels"], swiftSettings: engineSwiftSettings),
        // Layers, initialisers, models (MLP, Conv2-8, RandWire, DNW) and the random-graph generators.
        .target(name: "SparseWireNetworks", dependencies: ["SparseWireAutograd", "SparseWireTensor"], swiftSettings: engineSwiftSettings),
        // Datasets (IDX, CIFAR-10, host buffers), normalisation, batches.
        .target(name: "SparseWireData", dependencies: ["SparseWireTensor", "CZlib"], swiftSettings: engineSwiftSettings),
        // Mask policies, the mask core, the engine binding, the registry, C-table plugins.
        .target(name: "SparseWireMasking", dependencies: ["SparseWireNetworks", "SparseWireAutograd", "SparseWireTensor", "CSparseWire", "CKernels"], swiftSettings: engineSwiftSettings),
        // Optimizers (SGD, Adam) and learning-rate schedules.
        .target(name: "SparseWireOptim", dependencies: ["SparseWireMasking", "SparseWireNetworks", "SparseWireAutograd", "SparseWireTensor", "CKernels"], swiftSettings: engineSwiftSettings),
        // Config documents, the key schema, and their decoding into the typed RunSpec.
        .target(name: "SparseWireConfig", dependencies: ["SparseWireOptim", "SparseWireMasking", "SparseWireNetworks", "SparseWireAutograd", "SparseWireData",
                                                       "SparseWireTensor", .product(name: "Yams", package: "Yams")],
                swiftSettings: engineSwiftSettings),
        // The trainer: assembly from a RunSpec, the loop, evaluation and inference, policy switching.
        .target(name: "SparseWireTraining", dependencies: ["SparseWireConfig", "SparseWireOptim", "SparseWireMasking", "SparseWireNetworks",
                                                         "SparseWireAutograd", "SparseWireData", "SparseWireTensor", "CKernels"], swiftSettings: engineSwiftSettings),
        // Files in and out: safetensors, checkpoints, mask export, Graphviz wiring, damage ablation.
        .target(name: "SparseWireInterchange", dependencies: ["SparseWireTraining", "SparseWireConfig", "SparseWireOptim", "SparseWireMasking",
                                                            "SparseWireNetworks", "SparseWireAutograd", "SparseWireData", "SparseWireTensor"], swiftSettings: engineSwiftSettings),
        // The one import of Swift users: re-exports every target above.
        .target(name: "SparseWireCore", dependencies: ["SparseWireInterchange", "SparseWireTraining", "SparseWireConfig", "SparseWireOptim",
                                                     "SparseWireMasking", "SparseWireNetworks", "SparseWireAutograd", "SparseWireData", "SparseWireTensor"], swiftSettings: engineSwiftSettings),
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
            dependencies: ["SparseWireCore", "COpenBLAS", "CKernels", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/sparsewire"
        ),
        // Random-input harness for the parsers (fuzz/run.sh, docs/FUZZING.md).
        .executableTarget(name: "sparsewire-fuzz", dependencies: ["SparseWireCore", "CZlib", "CSparseWire"], path: "Sources/sparsewire-fuzz"),
        // Plugins speak only the C plugin ABI (Include/sparsewire_plugin.h).
        .target(name: "GMPPlugin", dependencies: ["CSparseWire"], path: "Plugins/gmp", publicHeadersPath: "."),
        .target(name: "SNIPPlugin", dependencies: ["CSparseWire"], path: "Plugins/snip"),
        .target(name: "MomentumRegrowPlugin", dependencies: ["CSparseWire"], path: "Plugins/momentum_regrow", publicHeadersPath: ".",
                linkerSettings: [.linkedLibrary("m")]),
        .testTarget(
            name: "SparseWireCoreTests",
            dependencies: ["SparseWireCore", "CZlib", "CKernels"],
            path: "Tests/SparseWireCoreTests"
        ),
    ]
)
