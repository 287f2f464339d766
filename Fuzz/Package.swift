// swift-tools-version: 6.0
// The fuzz targets of approxrtl's readers, built with libFuzzer: `make fuzz` (by hand: here,
// `swift build -c release -Xswiftc -sanitize=fuzzer`, then `APPROXRTL_FUZZ_TARGET=onnx .build/release/approxrtl-fuzz`).
// A package of its own, so that the main build needs no fuzzer runtime.
import PackageDescription

let package = Package(
    name: "approxrtl-fuzz",
    dependencies: [.package(name: "approxrtl", path: "..")],
    targets: [
        .target(name: "CFuzzerDriver", path: "Sources/CFuzzerDriver"),
        .executableTarget(
            name: "approxrtl-fuzz",
            dependencies: ["CFuzzerDriver", .product(name: "ApproxRTLFuzzEntry", package: "approxrtl")],
            path: "Sources/approxrtl-fuzz",
            // gold fails on this link with an internal error; the toolchain's lld does not.
            linkerSettings: [.unsafeFlags(["-use-ld=lld"])]),
    ]
)
