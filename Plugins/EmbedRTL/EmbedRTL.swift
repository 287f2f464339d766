import Foundation
import PackagePlugin

/// Embeds the hand-written Verilog of rtl/ and testbench/ into the target it is applied to (RTLSources), so that
/// `approxrtl generate` carries the primitives and benches into every design folder from any directory, and the
/// binary always holds the files of the tree it was built from.
@main
struct EmbedRTL: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        var paths: [String] = []
        for folder in ["rtl", "testbench"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: root.appending(path: folder).path)
            paths += names.filter { $0.hasSuffix(".v") || $0.hasSuffix(".sv") || $0.hasSuffix(".svh") }.sorted().map {
                "\(folder)/\($0)"
            }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedSources.swift")
        return [
            .buildCommand(
                displayName: "Embedding rtl/ and testbench/ (\(paths.count) files)",
                executable: try context.tool(named: "embed-rtl").url,
                arguments: [output.path, root.path] + paths,
                inputFiles: paths.map { root.appending(path: $0) }, outputFiles: [output])
        ]
    }
}
