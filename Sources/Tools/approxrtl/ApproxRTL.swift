import ArgumentParser
import Foundation

@main
struct ApproxRTL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approxrtl",
        abstract: "From a trained CNN to compact, verified hardware.",
        discussion: "Every command that prints results also takes --json and then prints one JSON object on stdout.",
        subcommands: [
            Inspect.self, Compare.self, Eval.self, Run.self, Train.self, Quantize.self, Compress.self, Rank.self,
            Report.self, Sweep.self, Vectors.self,
            Generate.self, Sim.self, Synth.self,
        ])

    /// Parses and runs a command. A usage error exits with status 2 (the library's own errors with 1), and the
    /// arguments are prepared first by `CommandLineArguments`.
    static func main() {
        do {
            let arguments = try CommandLineArguments.prepared(Array(CommandLine.arguments.dropFirst()))
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            guard code == .validationFailure else { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}
