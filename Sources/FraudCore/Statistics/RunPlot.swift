import Foundation

/// An SVG chart of a run: the end-to-end latency distribution (percentile curve) and throughput per second.
public enum RunPlot {
    /// Renders the chart. `throughput` holds results per second, in time order.
    public static func svg(_ statistics: RunStatistics, throughput: [Int]) -> String {
        let width = 900.0, height = 360.0, margin = 50.0
        let panelWidth = (width - 3 * margin) / 2, panelHeight = height - 2 * margin - 20
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(margin)" y="24" font-size="15">FraudStream run \(escape(statistics.runId)): \(statistics.processed) transactions</text>

            """
        // Left: latency percentile curve (x: percentile on a log "nines" axis, y: ms).
        let histogram = statistics.latency["end_to_end"]
        let percentiles = [50.0, 75, 90, 95, 99, 99.5, 99.9, 99.99]
        let values = percentiles.map { histogram.percentile($0) / 1000 }
        let maxValue = max(values.max() ?? 1, 0.001) * 1.1
        let left = margin, top = margin + 10
        svg += axes(x: left, y: top, width: panelWidth, height: panelHeight, title: "end-to-end latency (ms) by percentile")
        var points: [String] = []
        for (index, (percentile, value)) in zip(percentiles, values).enumerated() {
            let x = left + panelWidth * Double(index) / Double(percentiles.count - 1)
            let y = top + panelHeight * (1 - value / maxValue)
            points.append(String(format: "%.1f,%.1f", x, y))
            svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#c0392b\"/>", x, y)
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">p%@</text>", x, top + panelHeight + 16, trimmed(percentile))
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%.2f</text>\n", x, y - 8, value)
        }
        svg += "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>\n"
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">%.2f ms</text>\n", left - 4, top + 4, maxValue)

        // Right: throughput per second.
        let right = 2 * margin + panelWidth
        svg += axes(x: right, y: top, width: panelWidth, height: panelHeight, title: "results per second")
        let peak = Double(max(throughput.max() ?? 1, 1)) * 1.1
        if !throughput.isEmpty {
            let step = panelWidth / Double(max(throughput.count - 1, 1))
            let line = throughput.enumerated().map { index, value in
                String(format: "%.1f,%.1f", right + step * Double(index), top + panelHeight * (1 - Double(value) / peak))
            }
            svg += "<polyline fill=\"none\" stroke=\"#2471a3\" stroke-width=\"2\" points=\"\(line.joined(separator: " "))\"/>\n"
        }
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">%.0f/s</text>\n", right - 4, top + 4, peak)
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">seconds (%d)</text>\n", right + panelWidth / 2, top + panelHeight + 16, throughput.count)
        svg += "</svg>\n"
        return svg
    }

    private static func axes(x: Double, y: Double, width: Double, height: Double, title: String) -> String {
        String(
            format: """
                <text x="%.1f" y="%.1f">%@</text>
                <line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>
                <line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>

                """, x, y - 6, title, x, y, x, y + height, x, y + height, x + width, y + height)
    }

    private static func trimmed(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}
