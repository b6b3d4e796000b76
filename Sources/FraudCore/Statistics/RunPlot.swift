import Foundation

/// An SVG chart of a run, four panels with labelled axes, ticks and units: decisions per second over time, the
/// fraud rate over time, the most frequent reasons over time (all three from the fraud counts over time,
/// ``TimeSeries``), and the end-to-end latency by percentile (from the run's histogram).
public enum RunPlot {
    /// One line of a panel.
    public struct Line: Sendable {
        /// Legend text.
        public var name: String
        /// Stroke colour.
        public var color: String
        /// One value per x position (nil: no value there).
        public var values: [Double?]

        /// Creates a line.
        public init(name: String, color: String, values: [Double?]) {
            self.name = name
            self.color = color
            self.values = values
        }
    }

    static let palette = ["#2471a3", "#e67e22", "#c0392b", "#27ae60", "#8e44ad", "#7f8c8d"]

    /// Renders the chart. `points` are the run's seconds (or minutes) of fraud counts, in time order;
    /// `stepSeconds` is their spacing.
    public static func svg(_ statistics: RunStatistics, points: [TimeSeriesPoint], stepSeconds: Int) -> String {
        let width = 1000.0, height = 680.0
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="white"/>
            <text x="20" y="24" font-size="15">FraudStream run \(escape(statistics.runId)): \(statistics.processed) transactions, \
            \(statistics.counters["predicted_fraud"] ?? 0) flagged</text>
            <text x="20" y="42" fill="#555">Time panels: all results written in the namespace during the run, per \
            \(stepSeconds == 1 ? "second" : "minute") (fraud counts over time); latency: this run's histogram.</text>

            """
        let unit = stepSeconds == 1 ? "s" : "min"
        svg += countPanels(points: points, stepSeconds: stepSeconds, xLabel: "time since the run's first result (\(unit))", perMinute: false)
        // Bottom right: latency by percentile.
        let histogram = statistics.latency["end_to_end"]
        let percentiles = [50.0, 75, 90, 95, 99, 99.5, 99.9, 99.99]
        svg += panel(
            x: 580, y: 380, width: 380, height: 200, title: "end-to-end latency by percentile", xLabel: "percentile", yUnit: "ms",
            xs: percentiles.indices.map(Double.init),
            lines: [Line(name: "end to end", color: palette[2], values: percentiles.map { histogram.count > 0 ? histogram.percentile($0) / 1000 : nil })],
            xTickLabels: percentiles.enumerated().map { (Double($0.offset), "p" + trimmed($0.element)) }, markers: true)
        svg += "</svg>\n"
        return svg
    }

    /// A chart of the fraud counts over a window (the analyst console's overview): decisions per minute by outcome,
    /// the fraud rate and the five most frequent reasons, each with labelled axes, ticks and units.
    public static func window(points: [TimeSeriesPoint], stepSeconds: Int, title: String, xLabel: String) -> String {
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="\(escape(title))" width="1100" height="380" viewBox="0 0 1100 380" \
            font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/>
            <text x="20" y="24" font-size="15">\(escape(title))</text>

            """
        svg += countPanels(points: points, stepSeconds: stepSeconds, xLabel: xLabel, perMinute: true, compact: true)
        return svg + "</svg>\n"
    }

    /// The panels drawn from the counts: decisions by outcome and the fraud rate side by side, then the top reasons
    /// below them (or, `compact`, three panels in a row). Rates per second, or per minute with `perMinute`.
    static func countPanels(points: [TimeSeriesPoint], stepSeconds: Int, xLabel: String, perMinute: Bool, compact: Bool = false) -> String {
        var svg = ""
        let xs = points.indices.map { Double($0 * stepSeconds) }
        let xScale = stepSeconds == 1 ? 1.0 : 60.0
        let per = perMinute ? 60.0 : 1.0
        let rate = { (metric: String) in points.map { Double($0.count(metric)) * per / Double(stepSeconds) } }
        let (width, height, panelTop) = compact ? (250.0, 240.0, 70.0) : (380.0, 200.0, 80.0)
        let columns = compact ? [60.0, 390.0, 720.0] : [70.0, 580.0, 70.0]

        // Decisions by outcome.
        svg += panel(
            x: columns[0], y: panelTop, width: width, height: height, title: perMinute ? "decisions per minute" : "decisions per second", xLabel: xLabel,
            yUnit: perMinute ? "tx/min" : "tx/s", xs: xs.map { $0 / xScale },
            lines: [
                Line(name: "approve", color: palette[0], values: rate("approve")),
                Line(name: "review", color: palette[1], values: rate("review")),
                Line(name: "decline", color: palette[2], values: rate("decline")),
            ])
        // Fraud rate.
        svg += panel(
            x: columns[1], y: panelTop, width: width, height: height, title: "fraud rate", xLabel: xLabel, yUnit: "%", xs: xs.map { $0 / xScale },
            lines: [
                Line(name: "flagged", color: palette[2], values: points.map { $0.fraudRate.map { $0 * 100 } }),
                Line(
                    name: "declined or reviewed", color: palette[1],
                    values: points.map { point in
                        point.count("scored") > 0 ? Double(point.count("review") + point.count("decline")) * 100 / Double(point.count("scored")) : nil
                    }),
            ])
        // The five most frequent reasons.
        var reasonTotals: [String: Int] = [:]
        for point in points {
            for (metric, count) in point.counts where metric.hasPrefix("reason:") { reasonTotals[String(metric.dropFirst(7)), default: 0] += count }
        }
        let top = reasonTotals.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(5)
        svg += panel(
            x: columns[2], y: compact ? panelTop : 380, width: width, height: height, title: perMinute ? "reasons per minute (top 5)" : "reasons per second (top 5)",
            xLabel: xLabel, yUnit: perMinute ? "/min" : "/s", xs: xs.map { $0 / xScale },
            lines: top.enumerated().map { index, reason in
                Line(name: reason.key, color: palette[(index + 3) % palette.count], values: rate("reason:" + reason.key))
            })
        return svg
    }

    /// A line panel with axes, ticks, units and a legend.
    static func panel(
        x: Double, y: Double, width: Double, height: Double, title: String, xLabel: String, yUnit: String, xs: [Double], lines: [Line],
        xTickLabels: [(Double, String)]? = nil, markers: Bool = false
    ) -> String {
        var svg = String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\">%@</text>\n", x, y - 10, escape(title))
        let values = lines.flatMap { $0.values.compactMap { $0 } }
        let yTicks = niceTicks(upTo: max(values.max() ?? 0, 0))
        let yMax = yTicks.last ?? 1
        // A numeric x axis ends at its last round tick, so every tick lies on it.
        let numericTicks = niceTicks(upTo: xs.last ?? 1)
        let xMin = xs.first ?? 0
        let xMax = max(xTickLabels == nil ? (numericTicks.last ?? 1) : (xs.last ?? 1), xMin + 1)
        let px = { (value: Double) in x + width * (value - xMin) / (xMax - xMin) }
        let py = { (value: Double) in y + height * (1 - value / yMax) }
        // Axes and grid.
        svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", x, y, x, y + height)
        svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", x, y + height, x + width, y + height)
        for tick in yTicks {
            let ty = py(tick)
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x, ty, x + width, ty)
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n", x - 6, ty + 4, label(tick))
        }
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%@</text>\n", x - 6, y - 10, escape(yUnit))
        let xTicks = xTickLabels ?? numericTicks.filter { $0 >= xMin }.map { ($0, label($0)) }
        for (value, text) in xTicks {
            let tx = px(value)
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", tx, y + height, tx, y + height + 4)
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", tx, y + height + 16, escape(text))
        }
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555\">%@</text>\n", x + width / 2, y + height + 32, escape(xLabel))
        // Lines (a gap where a value is missing) and the legend.
        for (index, line) in lines.enumerated() {
            var segment: [String] = []
            func flush() {
                if segment.count > 1 {
                    svg += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\" points=\"\(segment.joined(separator: " "))\"/>\n"
                } else if let only = segment.first, !markers {
                    // A lone value (a one-second run) is a dot, not an invisible line.
                    let xy = only.split(separator: ",")
                    svg += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\" fill=\"\(line.color)\"/>\n"
                }
                segment = []
            }
            for (position, value) in zip(xs, line.values) {
                guard let value else { flush(); continue }
                segment.append(String(format: "%.1f,%.1f", px(position), py(value)))
                if markers {
                    svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>", px(position), py(value), line.color)
                    svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%@</text>\n", px(position), py(value) - 7, label(value))
                }
            }
            flush()
            let lx = x + 10 + Double(index % 3) * 125, ly = y + height + 48 + Double(index / 3) * 14
            svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"3\" fill=\"%@\"/>", lx, ly - 4, line.color)
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>\n", lx + 14, ly, escape(line.name))
        }
        if values.isEmpty {
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#999\">no data</text>\n", x + width / 2, y + height / 2)
        }
        return svg
    }

    /// Round tick values from 0 to at least `maximum` (five or so; 1, 2 or 5 times a power of ten apart).
    static func niceTicks(upTo maximum: Double) -> [Double] {
        guard maximum > 0 else { return [0, 1] }
        let rough = maximum / 5
        let power = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
        let count = Int(ceil(maximum / step - 1e-9))
        return (0...max(count, 1)).map { Double($0) * step }
    }

    /// A tick or value label: whole numbers without decimals, small ones with up to three.
    static func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
        return String(format: abs(value) < 1 ? "%.3g" : "%.2f", value)
    }

    private static func trimmed(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}
