import Foundation

extension SweepResult {
    /// Integer top-1 against one saving, every setting of `methods` a dot (colour by method), the Pareto front
    /// as a line, the uncompressed model and the budget as horizontal lines. Settings more than 6 points below
    /// the uncompressed model sit on the bottom edge as triangles.
    public func plot(x key: KeyPath<SweepRow, Double?>, label: String, logScale: Bool, methods: [String]) -> String {
        ParetoPlot(self, x: key, label: label, logScale: logScale, methods: methods).svg
    }
}

/// The SVG of `SweepResult.plot`: the axes' ranges from the points, then the drawing, part by part.
struct ParetoPlot {
    typealias Point = (x: Double, y: Double, method: String)
    let result: SweepResult
    let label: String
    let logScale: Bool
    let methods: [String]
    let points: [Point]
    let width = 720.0, height = 440.0, left = 64.0, bottom = 52.0, top = 64.0, right = 24.0
    /// The uncompressed model's top-1 (percent).
    let baseline: Double
    let x0, x1, y0, y1: Double
    let colours = ["linear": "#1f77b4", "quadratic": "#2ca02c", "swc": "#d62728"]

    init(_ result: SweepResult, x key: KeyPath<SweepRow, Double?>, label: String, logScale: Bool, methods: [String]) {
        (self.result, self.label, self.logScale, self.methods) = (result, label, logScale, methods)
        let points = result.rows.compactMap { row -> Point? in
            guard methods.contains(row.method), let x = row[keyPath: key], let y = row.integerTop1, !logScale || x > 0
            else { return nil }
            return (logScale ? log10(x) : 100 * x, 100 * y, row.method)
        }
        self.points = points
        let baseline = 100 * result.integerTop1
        self.baseline = baseline
        let xs = points.map(\.x)
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1)
        if logScale {
            (x0, x1) = (min(0, x0), x1 + 0.05)
        } else {
            (x0, x1) = (floor(x0 / 10) * 10, min(100, ceil(x1 / 10) * 10))
        }
        if x1 <= x0 { x1 = x0 + 1 }
        (self.x0, self.x1) = (x0, x1)
        y1 = ceil(max(points.map(\.y).max() ?? baseline, baseline) + 0.3)
        y0 = floor(max(points.map(\.y).min() ?? baseline - 2, baseline - 6))
    }

    func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (width - left - right) }
    func py(_ y: Double) -> Double { height - bottom - (max(y, y0) - y0) / (y1 - y0) * (height - bottom - top) }

    var svg: String {
        (header() + grid() + frame() + references() + front() + dots() + ["</svg>"]).joined(separator: "\n") + "\n"
    }

    /// The canvas, the title and the legend.
    func header() -> [String] {
        var svg = [
            String(
                format:
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">",
                width, height),
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(Int(left))\" y=\"20\" font-size=\"15\">\(result.name), \(result.training)</text>",
            "<text x=\"\(Int(left))\" y=\"38\" fill=\"#444\">integer top-1 on \(result.images) test images against \(label)</text>",
        ]
        for (i, method) in methods.enumerated() where points.contains(where: { $0.method == method }) {
            svg.append(
                String(
                    format: "<circle cx=\"%.1f\" cy=\"52\" r=\"4\" fill=\"%@\"/><text x=\"%.1f\" y=\"56\">%@</text>",
                    left + 6 + Double(i) * 90, colours[method] ?? "black", left + 14 + Double(i) * 90, method))
        }
        return svg
    }

    /// Grid lines and tick labels on both axes.
    func grid() -> [String] {
        var svg: [String] = []
        var xTicks: [(Double, String)] = []
        if logScale {
            for decade in 0...4 {
                for m in [1.0, 2.0, 5.0] {
                    let v = m * pow(10, Double(decade))
                    if log10(v) >= x0 - 1e-9 && log10(v) <= x1 { xTicks.append((log10(v), String(format: "%.0fx", v))) }
                }
            }
        } else {
            xTicks = stride(from: x0, through: x1 + 1e-9, by: (x1 - x0) > 40 ? 20 : 10).map {
                ($0, String(format: "%.0f%%", $0))
            }
        }
        for (x, text) in xTicks {
            svg.append(
                String(
                    format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", px(x), top,
                    px(x), height - bottom))
            svg.append(
                String(
                    format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>", px(x), height - bottom + 16,
                    text))
        }
        let yStep = (y1 - y0) > 8 ? 2.0 : 1.0
        for y in stride(from: y0, through: y1 + 1e-9, by: yStep) {
            svg.append(
                String(
                    format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", left, py(y),
                    width - right, py(y)))
            svg.append(
                String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f%%</text>", left - 6, py(y) + 4, y))
        }
        return svg
    }

    /// The plot's frame and the x axis label.
    func frame() -> [String] {
        [
            String(
                format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>",
                left, top, width - left - right, height - top - bottom),
            String(
                format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>", (left + width - right) / 2,
                height - 12, label),
        ]
    }

    /// The uncompressed model and the budget as horizontal lines.
    func references() -> [String] {
        var svg: [String] = []
        for (y, dash, text) in [
            (baseline, "", "uncompressed"),
            (baseline - result.budget, " stroke-dasharray=\"5 4\"", String(format: "-%.1f points", result.budget)),
        ] {
            svg.append(
                String(
                    format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"gray\"%@/>", left, py(y),
                    width - right, py(y), dash))
            svg.append(String(format: "<text x=\"%.1f\" y=\"%.1f\" fill=\"gray\">%@</text>", left + 4, py(y) - 4, text))
        }
        return svg
    }

    /// The Pareto front: no other point has both more saving and more accuracy.
    func front() -> [String] {
        let front = points.filter { p in !points.contains { $0.x >= p.x && $0.y >= p.y && ($0.x > p.x || $0.y > p.y) } }
            .sorted { $0.x < $1.x }
        guard front.count > 1 else { return [] }
        return [
            "<polyline fill=\"none\" stroke=\"black\" stroke-width=\"1.5\" points=\""
                + front.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ") + "\"/>"
        ]
    }

    /// One dot per setting; a triangle on the bottom edge below the plotted range.
    func dots() -> [String] {
        points.map { p in
            let colour = colours[p.method] ?? "black"
            guard p.y >= y0 else {
                let (cx, cy) = (px(p.x), py(y0))
                return String(
                    format: "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%@\"/>", cx - 5, cy - 8,
                    cx + 5, cy - 8, cx, cy, colour)
            }
            return String(
                format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%@\" fill-opacity=\"0.8\"/>", px(p.x),
                py(p.y), colour)
        }
    }
}
