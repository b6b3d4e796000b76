import Foundation

/// Renders model metadata and evaluation for people.
public enum ModelReport {
    /// The evaluation table printed by `prepare` and `models show`.
    public static func evaluationTable(_ record: ModelRecord) -> String {
        let metrics = record.metrics
        let threshold = String(format: "%.2f", record.threshold)
        var lines = [
            "evaluation  held out: last 20% of event time, \(metrics.heldOutRows) rows, \(metrics.heldOutPositives) fraud; "
                + "trained on \(metrics.trainingRows) rows",
            "",
            "  model                  ROC AUC   PR AUC   precision@\(threshold)  recall@\(threshold)",
            "  gbdt (\(record.parameters.trees) trees)".padding(toLength: 24, withPad: " ", startingAt: 0)
                + String(format: "%7.4f  %7.4f  %14.4f  %11.4f", metrics.rocAUC, metrics.prAUC, metrics.precision, metrics.recall),
            "  logistic baseline     "
                + String(format: " %7.4f  %7.4f", metrics.baselineROCAUC, metrics.baselinePRAUC),
        ]
        if !metrics.rowsByScenario.isEmpty {
            lines.append("")
            lines.append("  recall@\(threshold) by scenario (held-out fraud rows)")
            for scenario in metrics.rowsByScenario.keys.sorted() {
                let rows = metrics.rowsByScenario[scenario] ?? 0
                let recall = metrics.recallByScenario[scenario] ?? 0
                lines.append("    " + scenario.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: "%.3f  (%d rows)", recall, rows))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// What `models show` prints of an imported model after its version and creation time.
    public static func importedLines(_ record: ModelRecord, _ imported: ImportedModel) -> [String] {
        let trees = imported.trees
        var lines = [
            "kind        imported \(imported.format.rawValue) from \(imported.producer), \(trees.treeCount) trees, \(trees.nodeCount) nodes",
            "name        \(record.trainingData)",
            "file        \(imported.sourceFile), sha256 \(imported.sourceSHA256)",
            "objective   \(trees.objective); \(trees.arithmetic.isFloat32 ? "float32" : "float64") comparisons, "
                + "\(trees.arithmetic.isStrict ? "x < threshold" : "x <= threshold") goes left",
            "parity      \(imported.parityDescription)",
            "features    \(record.featureNames.joined(separator: ","))",
        ]
        let metrics = record.metrics
        if metrics.heldOutRows > 0 {
            lines.append(String(
                format: "evaluation  on the latest %d of the parity rows by event time (%d fraud): ROC AUC %.4f  PR AUC %.4f  precision@%.2f %.4f  recall@%.2f %.4f",
                metrics.heldOutRows, metrics.heldOutPositives, metrics.rocAUC, metrics.prAUC, record.threshold, metrics.precision, record.threshold,
                metrics.recall))
        }
        return lines
    }

    /// One line per version for `models list`.
    public static func listLine(_ record: ModelRecord, isLatest: Bool) -> String {
        if let imported = record.imported {
            return String(
                format: "%@v%-4d %@  %@  trees=%d  %@  %@", isLatest ? "* " : "  ", record.version,
                Date(timeIntervalSince1970: Double(record.createdMilliseconds) / 1000).description, record.kind, record.treeCount,
                imported.parity == nil ? "parity NOT verified" : "parity verified", record.trainingData)
        }
        let created = Date(timeIntervalSince1970: Double(record.createdMilliseconds) / 1000)
        return String(
            format: "%@v%-4d %@  %@  trees=%d  ROC AUC %.4f  PR AUC %.4f  %@", isLatest ? "* " : "  ", record.version,
            created.description, record.kind, record.parameters.trees, record.metrics.rocAUC, record.metrics.prAUC,
            record.trainingData)
    }
}
