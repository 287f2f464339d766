// swift-tools-version: 6.0
// approxrtl: from a trained CNN to compact, verified hardware.
// Sources/ is grouped by the stages of the pipeline (docs/architecture.md), and Tests/ mirrors it:
// Import -> Network (IR, float reference, training, data) -> Quantize -> Transforms -> Golden -> Generators -> Flows,
// with the command-line tools last.
import PackageDescription

let swiftProtobuf = Target.Dependency.product(name: "SwiftProtobuf", package: "swift-protobuf")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "approxrtl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "approxrtl", targets: ["approxrtl"]),
        .library(
            name: "ApproxRTL",
            targets: ["NetworkIR", "OnnxImport", "OnnxExport", "FloatInference", "Datasets", "Training"]),
        // The readers of outside input as fuzz targets; Fuzz/Package.swift builds them with libFuzzer (make fuzz).
        .library(name: "ApproxRTLFuzzEntry", targets: ["FuzzEntry"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // Import: Swift generated from onnx.proto by `make proto` (committed); ONNX -> IR with opset handling and
        // clear errors; IR -> ONNX with standard ops (for trained models).
        .target(name: "OnnxProto", dependencies: [swiftProtobuf], path: "Sources/Import/OnnxProto"),
        .target(name: "OnnxImport", dependencies: ["NetworkIR", "OnnxProto"], path: "Sources/Import/OnnxImport"),
        .target(name: "OnnxExport", dependencies: ["NetworkIR", "OnnxProto"], path: "Sources/Import/OnnxExport"),

        // Network: the graph IR (ops, shapes, parameter and MAC counts); cache-blocked SGEMM and im2col; batched
        // float32 reference inference (the oracle downstream); training (backprop, SGD/Adam, the architectures);
        // IDX and .npy readers with system zlib for gzipped files (Debian: zlib1g-dev).
        .target(name: "NetworkIR", path: "Sources/Network/NetworkIR"),
        .target(name: "MatrixKernels", path: "Sources/Network/MatrixKernels"),
        // 16-bit integer GEMM with 32-bit wrapping sums for the golden model, in C: AVX2 and AVX-512 versions are
        // chosen at run time (Swift has no per-function target features), a portable one elsewhere.
        .target(name: "IntegerKernels", path: "Sources/Network/IntegerKernels"),
        .target(
            name: "FloatInference", dependencies: ["NetworkIR", "MatrixKernels"], path: "Sources/Network/FloatInference"
        ),
        .target(
            name: "Training", dependencies: ["NetworkIR", "MatrixKernels", "Datasets"], path: "Sources/Network/Training"
        ),
        .systemLibrary(name: "CZlib", path: "Sources/Network/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Datasets", dependencies: ["CZlib"], path: "Sources/Network/Datasets"),

        // Quantize: post-training quantization to the integer contract (docs/arithmetic.md) and the model value.
        .target(
            name: "Quantization", dependencies: ["NetworkIR", "FloatInference", "Datasets"],
            path: "Sources/Quantize/Quantization"),

        // Transforms: the compression methods (M1-M4), the budget search and fine-tuning as model transforms.
        .target(
            name: "Approximation",
            dependencies: ["Quantization", "GoldenModel", "Training", "Datasets", "NetworkIR", "OnnxImport"],
            path: "Sources/Transforms/Approximation"),

        // Golden: the bit-exact integer golden model and its test vectors.
        .target(
            name: "GoldenModel", dependencies: ["Quantization", "MatrixKernels", "IntegerKernels"],
            path: "Sources/Golden/GoldenModel"),

        // Generators: the typed Verilog builder; rtl/ and testbench/ embedded at build time by the EmbedRTL plugin;
        // layer units; the DianNao-style accelerator (compiler, units, handoff folder).
        .target(name: "Verilog", path: "Sources/Generators/Verilog"),
        .executableTarget(name: "embed-rtl", path: "Sources/Generators/embed-rtl"),
        .plugin(name: "EmbedRTL", capability: .buildTool(), dependencies: ["embed-rtl"]),
        .target(name: "RTLSources", path: "Sources/Generators/RTLSources", plugins: ["EmbedRTL"]),
        .target(
            name: "LayerGenerator", dependencies: ["Verilog", "GoldenModel", "Quantization", "RTLSources"],
            path: "Sources/Generators/LayerGenerator"),
        .target(
            name: "Accelerator",
            dependencies: ["Verilog", "GoldenModel", "Quantization", "LayerGenerator", "RTLSources"],
            path: "Sources/Generators/Accelerator"),

        // Flows: simulation (Icarus, Verilator), synthesis and place and route of a design folder, the report.
        .target(
            name: "EDAFlows", dependencies: ["LayerGenerator", "Verilog", "Accelerator"], path: "Sources/Flows/EDAFlows"
        ),

        // Tools: the command-line interface; `make bench`; the ONNX backend node test runner.
        .executableTarget(
            name: "approxrtl",
            dependencies: [
                "NetworkIR", "OnnxImport", "OnnxExport", "FloatInference", "Datasets", "Training", "Quantization",
                "GoldenModel", "Approximation", "LayerGenerator", "EDAFlows", "Accelerator", argumentParser,
            ],
            path: "Sources/Tools/approxrtl"),
        .executableTarget(
            name: "approxrtl-bench",
            dependencies: [
                "MatrixKernels", "Training", "FloatInference", "Datasets", "NetworkIR", "GoldenModel", "Quantization",
                "Approximation",
            ],
            path: "Sources/Tools/approxrtl-bench"),
        .executableTarget(
            name: "onnx-conformance", dependencies: ["NetworkIR", "OnnxImport", "OnnxProto", "FloatInference"],
            path: "Sources/Tools/onnx-conformance"),
        .target(
            name: "FuzzEntry", dependencies: ["OnnxImport", "Quantization", "Datasets"], path: "Sources/Tools/FuzzEntry"
        ),

        // Tests, mirroring the stages; TestSupport holds builders of ONNX models and shared helpers.
        .target(
            name: "TestSupport", dependencies: ["OnnxProto", "NetworkIR", "Training", "Datasets"],
            path: "Tests/Support/TestSupport"),
        .testTarget(
            name: "OnnxImportTests",
            dependencies: ["OnnxImport", "OnnxProto", "NetworkIR", "FloatInference", "TestSupport"],
            path: "Tests/Import/OnnxImportTests"),
        .testTarget(
            name: "OnnxExportTests",
            dependencies: ["OnnxExport", "OnnxImport", "NetworkIR", "FloatInference", "Training", "TestSupport"],
            path: "Tests/Import/OnnxExportTests"),
        .testTarget(
            name: "NetworkIRTests", dependencies: ["NetworkIR", "FloatInference"], path: "Tests/Network/NetworkIRTests"),
        .testTarget(
            name: "MatrixKernelsTests", dependencies: ["MatrixKernels", "TestSupport"],
            path: "Tests/Network/MatrixKernelsTests"),
        .testTarget(
            name: "IntegerKernelsTests", dependencies: ["IntegerKernels", "Training"],
            path: "Tests/Network/IntegerKernelsTests"),
        .testTarget(
            name: "FloatInferenceTests", dependencies: ["FloatInference", "NetworkIR", "TestSupport"],
            path: "Tests/Network/FloatInferenceTests"),
        .testTarget(
            name: "TrainingTests", dependencies: ["Training", "NetworkIR", "Datasets", "TestSupport"],
            path: "Tests/Network/TrainingTests"),
        .testTarget(
            name: "DatasetsTests", dependencies: ["Datasets", "TestSupport"], path: "Tests/Network/DatasetsTests"),
        .testTarget(
            name: "QuantizationTests", dependencies: ["Quantization", "Training", "Datasets", "NetworkIR"],
            path: "Tests/Quantize/QuantizationTests"),
        .testTarget(
            name: "ApproximationTests",
            dependencies: ["Approximation", "Quantization", "GoldenModel", "Training", "Datasets", "TestSupport"],
            path: "Tests/Transforms/ApproximationTests"),
        .testTarget(
            name: "GoldenModelTests",
            dependencies: [
                "GoldenModel", "IntegerKernels", "Quantization", "Approximation", "Training", "Datasets", "NetworkIR",
                "TestSupport",
            ],
            path: "Tests/Golden/GoldenModelTests"),
        .testTarget(
            name: "VerilogTests", dependencies: ["Verilog", "TestSupport"], path: "Tests/Generators/VerilogTests"),
        // The hand-written primitives of rtl/ under both simulators, against the golden arithmetic.
        .testTarget(
            name: "RTLTests", dependencies: ["Quantization", "GoldenModel", "EDAFlows", "TestSupport"],
            path: "Tests/Generators/RTLTests"),
        .testTarget(
            name: "LayerGeneratorTests",
            dependencies: [
                "LayerGenerator", "RTLSources", "EDAFlows", "Approximation", "GoldenModel", "Quantization", "Verilog",
                "TestSupport",
            ],
            path: "Tests/Generators/LayerGeneratorTests"),
        .testTarget(
            name: "AcceleratorTests",
            dependencies: ["Accelerator", "EDAFlows", "GoldenModel", "Quantization", "Approximation", "TestSupport"],
            path: "Tests/Generators/AcceleratorTests"),
        .testTarget(
            name: "FuzzEntryTests", dependencies: ["FuzzEntry", "TestSupport"], path: "Tests/Tools/FuzzEntryTests"),
        .testTarget(
            name: "EDAFlowsTests",
            dependencies: [
                "EDAFlows", "Accelerator", "LayerGenerator", "Approximation", "GoldenModel", "Quantization",
                "TestSupport",
            ],
            path: "Tests/Flows/EDAFlowsTests"),
        .testTarget(
            name: "CLITests", dependencies: ["approxrtl", "OnnxProto", "TestSupport", "Datasets"],
            path: "Tests/Tools/CLITests"),
    ],
    swiftLanguageModes: [.v6]
)
