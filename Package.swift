// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SparseWire",
    products: [
        .library(name: "SparseWireCore", targets: ["SparseWireCore"]),
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
        .target(
            name: "SparseWireCore",
            dependencies: ["COpenBLAS", "CZlib", .product(name: "Yams", package: "Yams")],
            path: "Sources/SparseWireCore",
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "sparsewire",
            dependencies: ["SparseWireCore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/sparsewire"
        ),
        .testTarget(
            name: "SparseWireCoreTests",
            dependencies: ["SparseWireCore", "CZlib"],
            path: "Tests/SparseWireCoreTests"
        ),
    ]
)
