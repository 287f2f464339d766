import Foundation

/// One setting of a sweep: what it reached and saved, or why it was refused.
public struct SweepRow: Codable, Sendable {
    public var setting: String
    public var method: String
    public var integerTop1: Double?
    /// Points of integer top-1 lost against the uncompressed model (negative: gained).
    public var loss: Double?
    public var paramReduction: Double?
    public var storageReduction: Double?
    public var multipliesEliminated: Double?
    public var operationsSaved: Double?
    public var smallMultiplies: Int?
    public var refused: String?

    public init(
        setting: String, method: String, integerTop1: Double?, loss: Double?, paramReduction: Double?,
        storageReduction: Double?, multipliesEliminated: Double?, operationsSaved: Double?,
        smallMultiplies: Int?, refused: String?
    ) {
        self.setting = setting; self.method = method; self.integerTop1 = integerTop1; self.loss = loss
        self.paramReduction = paramReduction; self.storageReduction = storageReduction
        self.multipliesEliminated = multipliesEliminated; self.operationsSaved = operationsSaved
        self.smallMultiplies = smallMultiplies; self.refused = refused
    }
}

/// A whole sweep (docs/formats.md, "Sweep output"): the model, its baseline, and one row per setting.
public struct SweepResult: Codable, Sendable {
    public var model: String
    public var title: String?
    public var source: String
    public var images: Int
    public var floatTop1: Double?
    public var integerTop1: Double
    public var budget: Double
    /// Every row was fine-tuned for this many epochs (nil: retraining-free).
    public var finetuneEpochs: Int?
    public var rows: [SweepRow]

    public init(
        model: String, title: String?, source: String, images: Int, floatTop1: Double?, integerTop1: Double,
        budget: Double, finetuneEpochs: Int?, rows: [SweepRow]
    ) {
        self.model = model; self.title = title; self.source = source; self.images = images; self.floatTop1 = floatTop1
        self.integerTop1 = integerTop1; self.budget = budget; self.finetuneEpochs = finetuneEpochs; self.rows = rows
    }

    /// The heading of the summaries: the title, or the model's file name.
    public var name: String { title ?? (model as NSString).lastPathComponent }

    public var training: String {
        finetuneEpochs.map { "with \($0) epochs of approximation-aware fine-tuning" } ?? "retraining-free"
    }

    /// The row with the largest `key` among those within the budget; among equals the one that saves more
    /// operations overall (e.g. the narrower SWC codes), then the one that loses less.
    public func best(_ methods: Set<String>, by key: KeyPath<SweepRow, Double?>) -> SweepRow? {
        func rank(_ row: SweepRow) -> (Double, Double, Double) {
            (
                (row[keyPath: key] ?? 0).rounded(toPlaces: 6), (row.operationsSaved ?? 0).rounded(toPlaces: 6),
                -(row.loss ?? 0)
            )
        }
        return rows.filter { methods.contains($0.method) && ($0.loss ?? .infinity) <= budget + 1e-9 }.max {
            rank($0) < rank($1)
        }
    }

    public func describe(_ row: SweepRow?) -> String {
        guard let row, let top1 = row.integerTop1, let loss = row.loss else { return "no setting within the budget" }
        let operations = row.operationsSaved ?? 0
        return String(
            format:
                "%@: top-1 %.2f%% (%+.2f points), parameters %.1fx fewer (papers' count), honest storage %.2fx the original bits, full multiplications %.1f%% fewer, multiplications + additions %.1f%% %@",
            row.setting, 100 * top1, -loss, row.paramReduction ?? 0, 1 / (row.storageReduction ?? 1),
            100 * (row.multipliesEliminated ?? 0), 100 * abs(operations), operations >= 0 ? "fewer" : "more")
    }

    public func headline() -> String {
        let float = floatTop1.map { String(format: "%.2f%%", 100 * $0) } ?? "unknown"
        return """
            \(name), \(training), on \(images) test images: float top-1 \(float), integer top-1 \(String(format: "%.2f%%", 100 * integerTop1)) before compression; within \(budget) points of it:
            - M1, most parameter reduction: \(describe(best(["linear", "quadratic"], by: \.paramReduction)))
            - M1, most operations saved: \(describe(best(["linear", "quadratic"], by: \.operationsSaved)))
            - M2, most multiplications eliminated: \(describe(best(["swc"], by: \.multipliesEliminated)))
            """
    }

    /// This model's best settings beside the papers' figures (DESIGN.md section 5).
    public func comparison() -> [String] {
        func cell(_ row: SweepRow?, _ text: (SweepRow) -> String) -> String {
            guard let row, let loss = row.loss else { return "none within the budget" }
            return text(row) + String(format: ", top-1 %+.2f points (%@)", -loss, row.setting)
        }
        let m1 = best(["linear", "quadratic"], by: \.paramReduction)
        let ops = best(["linear", "quadratic"], by: \.operationsSaved)
        let swc = best(["swc"], by: \.multipliesEliminated)
        return [
            "| figure | paper | approxrtl, \(training), within \(budget) points |",
            "|---|---|---|",
            "| parameter reduction, linear approximation (papers' count) | 21.8x on LeNet/Fashion-MNIST with retraining (IEEE Access 2022); ~198.6x retraining-free on CIFAR-10 (ISCAS 2025) | "
                + cell(m1) {
                    String(
                        format: "%.1fx (honest storage: %.2fx the original bits)", $0.paramReduction ?? 0,
                        1 / ($0.storageReduction ?? 1))
                } + " |",
            "| multiplications eliminated, SWC | >90% (ISCAS 2022) | "
                + cell(swc) {
                    String(
                        format: "%.1f%% (%d small b-bit products remain per image)",
                        100 * ($0.multipliesEliminated ?? 0), $0.smallMultiplies ?? 0)
                } + " |",
            "| operations of the M1 reuse form | 54% fewer adders + multipliers than row-stationary hardware (IEEE Access 2022; a circuit count, for the RTL generators) | "
                + cell(ops) {
                    String(
                        format:
                            "full multiplications -%.1f%%, multiplications + additions %@%.1f%% (the suffix sums add about one addition per weight)",
                        100 * ($0.multipliesEliminated ?? 0), ($0.operationsSaved ?? 0) > 0 ? "-" : "+",
                        100 * abs($0.operationsSaved ?? 0))
                } + " |",
        ]
    }

    public func markdown() -> String {
        var lines =
            ["### \(name), \(training)", "", headline(), ""] + comparison() + [
                "",
                "| setting | integer top-1 | loss (points) | params, papers' count | storage bits, honest | full mults eliminated | mults + adds saved | small mults left |",
                "|---|---:|---:|---:|---:|---:|---:|---:|",
            ]
        for row in rows {
            if let refused = row.refused {
                lines.append("| \(row.setting) | refused: \(refused) | | | | | | |")
                continue
            }
            lines.append(
                String(
                    format: "| %@ | %.2f%% | %.2f | %.1fx fewer | %.2fx the original | %.1f%% | %.1f%% | %d |",
                    row.setting, 100 * row.integerTop1!, row.loss!,
                    row.paramReduction!, 1 / row.storageReduction!, 100 * row.multipliesEliminated!,
                    100 * row.operationsSaved!,
                    row.smallMultiplies!))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Double {
    /// Rounded to `places` decimals (ranking ties that differ only in the last bits).
    func rounded(toPlaces places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}
