import CFuzzerDriver
import Foundation
import FuzzEntry

/// The target this process fuzzes: APPROXRTL_FUZZ_TARGET (onnx, model, npy or idx).
let name = ProcessInfo.processInfo.environment["APPROXRTL_FUZZ_TARGET"] ?? ""
guard let chosen = FuzzEntry(rawValue: name) else {
    FileHandle.standardError.write(
        Data("APPROXRTL_FUZZ_TARGET must be one of \(FuzzEntry.allCases.map(\.rawValue))\n".utf8))
    exit(2)
}
nonisolated(unsafe) var target = chosen

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(
    LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        target.run(data.map { Data(bytes: $0, count: size) } ?? Data())
        return 0
    })
