import Foundation

/// The training matrix as CSV: `transaction_id,timestamp,<features…>,is_fraud,fraud_scenario` (`export-features`
/// writes it, `train --from-csv` reads it). The features are the built-in ones in model order, then the promoted
/// feature set's, if any; with none, the file is what it always was, byte for byte.
public enum TrainingMatrixCSV {
    /// The header line of a matrix with `names` (the built-in features, then a feature set's).
    public static func header(_ names: [String] = FeatureSchema.names) -> String {
        (["transaction_id", "timestamp"] + names + ["is_fraud", "fraud_scenario"]).joined(separator: ",")
    }

    /// The header line of the built-in features.
    public static var header: String { header() }

    /// Writes `rows` (one per history transaction, with the features `names`) to `url`.
    public static func write(rows: [[Double]], history: [Transaction], names: [String] = FeatureSchema.names, to url: URL) throws {
        var text = header(names) + "\n"
        text.reserveCapacity(rows.count * 200)
        for (row, transaction) in zip(rows, history) {
            text += transaction.transactionId
            text += ","
            text += String(transaction.timestampMilliseconds)
            for value in row {
                text += ","
                text += value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            }
            text += transaction.isFraud == true ? ",1," : ",0,"
            text += transaction.scenario ?? ""
            text += "\n"
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// Reads a matrix ``write(rows:history:names:to:)`` wrote; `name` (the file) starts every error line. The header must
    /// name this build's features in model order (a feature set's may follow), and every row must have them all.
    public static func read(_ text: String, named name: String) throws(FraudError) -> TrainingHistory {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).makeIterator()
        // The built-in features in model order; a feature set's columns after them are read past (the model trains on
        // the built-in ones).
        let builtIn = header.dropLast(",is_fraud,fraud_scenario".count)
        guard let first = lines.next().map({ $0.trimmingCharacters(in: .whitespaces) }), first.hasPrefix(builtIn + ","),
            first.hasSuffix(",is_fraud,fraud_scenario")
        else {
            throw FraudError(
                .invalidData, "\(name): line 1: expected the header of export-features with this build's \(FeatureSchema.count) features in model order")
        }
        var history = TrainingHistory(transactions: [], rows: [])
        let header = first.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let columns = header.count
        history.featureSetNames = Array(header[(2 + FeatureSchema.count)..<(columns - 2)])
        let width = columns - 4
        var number = 1
        while let line = lines.next() {
            number += 1
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == columns else {
                throw FraudError(.invalidData, "\(name): line \(number): \(fields.count) columns, expected \(columns)")
            }
            guard let timestamp = Int64(fields[1]) else {
                throw FraudError(.invalidData, "\(name): line \(number): timestamp '\(fields[1])' is not epoch milliseconds")
            }
            var row: [Double] = []
            row.reserveCapacity(width)
            for (offset, field) in fields[2..<(2 + width)].enumerated() {
                guard let value = Double(field) else {
                    throw FraudError(.invalidData, "\(name): line \(number): \(header[2 + offset]) '\(field)' is not a number")
                }
                row.append(value)
            }
            let label = fields[columns - 2]
            guard label == "0" || label == "1" else {
                throw FraudError(.invalidData, "\(name): line \(number): is_fraud '\(label)' is not 0 or 1")
            }
            let scenario = fields[columns - 1]
            history.transactions.append(Transaction(
                transactionId: String(fields[0]), userId: "csv", amount: max(row[Feature.amount], 0.01), merchantId: "csv",
                timestampMilliseconds: timestamp, isFraud: label == "1", scenario: scenario.isEmpty ? nil : String(scenario)))
            history.rows.append(row)
        }
        guard !history.rows.isEmpty else { throw FraudError(.invalidData, "\(name): no rows after the header") }
        return history
    }
}
