import Foundation

/// Writes the training matrix as CSV: `transaction_id,timestamp,<features…>,is_fraud,fraud_scenario`.
public enum TrainingMatrixCSV {
    /// The header line.
    public static var header: String {
        (["transaction_id", "timestamp"] + FeatureSchema.names + ["is_fraud", "fraud_scenario"]).joined(separator: ",")
    }

    /// Writes `rows` (one per history transaction) to `url`.
    public static func write(rows: [[Double]], history: [Transaction], to url: URL) throws {
        var text = header + "\n"
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
}
