import ArgumentParser

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
}
