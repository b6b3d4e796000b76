import Foundation

/// Proves an imported model scores as its library does: every row of an `export-features` matrix is scored here and
/// compared with the probabilities the library gave in Python (`transaction_id,probability`, one row each).
public enum ImportParity {
    /// The largest absolute difference accepted.
    public static let tolerance = 1e-6

    /// What a comparison found.
    public struct Report: Sendable {
        /// Rows compared.
        public var compared: Int
        /// The largest absolute difference between the two probabilities.
        public var largestDifference: Double
        /// The rows that differ most, largest first (at most five).
        public var worst: [(transactionId: String, ours: Double, theirs: Double)]
        /// Whether every row is within ``ImportParity/tolerance``.
        public var passes: Bool { largestDifference <= ImportParity.tolerance }
    }

    /// Reads the library's predictions: a header `transaction_id,probability`, then one finite probability per id,
    /// each id once. `name` (the file) starts every error line.
    public static func readExpected(_ text: String, named name: String) throws(FraudError) -> [String: Double] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).makeIterator()
        guard lines.next()?.trimmingCharacters(in: .whitespaces) == "transaction_id,probability" else {
            throw FraudError(.invalidData, "\(name): line 1: expected the header transaction_id,probability")
        }
        var expected: [String: Double] = [:]
        var lineOf: [String: Int] = [:]
        var number = 1
        while let line = lines.next() {
            number += 1
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 2, let probability = Double(fields[1].trimmingCharacters(in: .whitespaces)), probability.isFinite else {
                throw FraudError(.invalidData, "\(name): line \(number): expected transaction_id,probability with a finite number")
            }
            let id = String(fields[0])
            guard expected.updateValue(probability, forKey: id) == nil else {
                throw FraudError(
                    .invalidData, "\(name): transaction '\(id.prefix(60))' is listed twice, on lines \(lineOf[id] ?? 0) and \(number)")
            }
            lineOf[id] = number
        }
        return expected
    }

    /// Scores every row of `rows` with `trees` (its features found by name) and compares with `expected`. Every row
    /// needs an expected probability.
    public static func check(_ trees: ImportedTrees, rows: TrainingHistory, expected: [String: Double]) throws(FraudError) -> Report {
        let format: ImportedModel.Format = trees.library == .xgboost ? .xgboostJSON : trees.library == .lightgbm ? .lightgbmText : .onnx
        return try check(
            ImportedModel(format: format, sourceFile: "", sourceSHA256: "", producer: "", trees: trees, parity: nil), rows: rows, expected: expected)
    }

    /// Scores every row of `rows` as the decision path does (``ImportedModel/probability(_:)``, from the full vector)
    /// and compares with `expected`. Every row needs an expected probability.
    public static func check(_ model: ImportedModel, rows: TrainingHistory, expected: [String: Double]) throws(FraudError) -> Report {
        var report = Report(compared: 0, largestDifference: 0, worst: [])
        var differences: [(transactionId: String, ours: Double, theirs: Double, difference: Double)] = []
        var missing: [String] = []
        for (transaction, row) in zip(rows.transactions, rows.rows) {
            guard let theirs = expected[transaction.transactionId] else {
                missing.append(transaction.transactionId)
                continue
            }
            let ours = model.probability(row)
            let difference = abs(ours - theirs)
            report.compared += 1
            report.largestDifference = max(report.largestDifference, difference.isNaN ? .infinity : difference)
            differences.append((transaction.transactionId, ours, theirs, difference.isNaN ? .infinity : difference))
        }
        guard missing.isEmpty else {
            throw FraudError(
                .invalidData,
                "no expected probability for \(missing.count) of \(rows.rows.count) rows (\(missing.prefix(5).joined(separator: ", "))…); "
                    + "predict every row of the matrix")
        }
        report.worst = differences.sorted { $0.difference > $1.difference }.prefix(5).map { ($0.transactionId, $0.ours, $0.theirs) }
        return report
    }
}
