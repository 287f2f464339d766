/// What the command line goes through before the argument parser sees it.
enum CommandLineArguments {
    /// Options whose values are real numbers; NaN and infinities are refused there.
    static let realOptions: Set<String> = [
        "--lr", "--momentum", "--weight-decay", "--budget", "--threshold", "--margin", "--freq", "--input-mean",
        "--input-std",
    ]

    /// `--epochs -1` becomes `--epochs=-1`, so that a negative number reaches the option's range check (which says
    /// the range) instead of reading as a missing value; a NaN or an infinity given to a real-valued option is
    /// refused with the option's name.
    static func prepared(_ arguments: [String]) throws -> [String] {
        var result = [String]()
        var index = 0
        while index < arguments.count {
            var argument = arguments[index]
            if argument.hasPrefix("--"), !argument.contains("="), index + 1 < arguments.count,
                isNegativeNumber(arguments[index + 1])
            {
                argument += "=" + arguments[index + 1]
                index += 1
            }
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            let value = parts.count == 2 ? parts[1] : index + 1 < arguments.count ? arguments[index + 1] : ""
            if realOptions.contains(parts[0]), !isFinite(value) {
                throw CLIError("\(parts[0]) takes a finite number, not '\(value)'")
            }
            result.append(argument)
            index += 1
        }
        return result
    }

    private static func isNegativeNumber(_ text: String) -> Bool {
        text.count > 1 && text.hasPrefix("-") && Double(text) != nil
    }

    /// Every comma-separated part is a finite number (`--input-mean 0.5,0.4,0.4`); anything else is left to the
    /// parser's own message.
    private static func isFinite(_ text: String) -> Bool {
        text.split(separator: ",").allSatisfy { Double($0).map(\.isFinite) ?? true }
    }
}
