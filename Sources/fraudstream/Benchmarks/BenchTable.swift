/// A plain-text table of benchmark results.
struct BenchTable {
    private var rows: [(name: String, value: String, unit: String, note: String)] = []

    mutating func add(_ name: String, _ value: String, _ unit: String, _ note: String = "") {
        rows.append((name, value, unit, note))
    }

    func render() -> String {
        let header = ("benchmark", "median", "unit", "note")
        let all = [header] + rows.map { ($0.name, $0.value, $0.unit, $0.note) }
        let widths = (
            all.map(\.0.count).max() ?? 0, all.map(\.1.count).max() ?? 0, all.map(\.2.count).max() ?? 0
        )
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        func padLeft(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        var lines: [String] = []
        for (index, row) in all.enumerated() {
            lines.append("\(pad(row.0, widths.0))  \(padLeft(row.1, widths.1))  \(pad(row.2, widths.2))  \(row.3)")
            if index == 0 {
                lines.append(String(repeating: "-", count: widths.0 + widths.1 + widths.2 + 8 + 20))
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Formats a number with thousands separators.
func grouped(_ value: Double) -> String {
    let integer = Int(value.rounded())
    let digits = String(abs(integer))
    var result = ""
    for (index, character) in digits.reversed().enumerated() {
        if index > 0 && index % 3 == 0 { result.append(",") }
        result.append(character)
    }
    return (integer < 0 ? "-" : "") + String(result.reversed())
}

/// The median of a non-empty list.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
