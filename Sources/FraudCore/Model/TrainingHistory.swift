/// What a model is trained and evaluated on: transactions in event-time order (their time, label and scenario are
/// read) and, for each, the feature vector it had before it. From a world's replay, an `export-features` CSV
/// (``TrainingMatrixCSV/read(_:named:)``), and analysts' labelled reviews.
public struct TrainingHistory: Sendable {
    /// The transactions.
    public var transactions: [Transaction]
    /// One feature vector per transaction, in ``FeatureSchema`` order, then ``featureSetNames``' order.
    public var rows: [[Double]]
    /// The feature set's features the rows carry after the built-in ones (a matrix export-features wrote with a
    /// promoted feature set); empty for the built-in ones alone.
    public var featureSetNames: [String] = []

    /// The rows cut to the built-in features (what FraudStream's own trainer reads).
    public var builtInOnly: TrainingHistory {
        guard !featureSetNames.isEmpty else { return self }
        return TrainingHistory(transactions: transactions, rows: rows.map { Array($0.prefix(FeatureSchema.count)) })
    }

    /// A history of `transactions` with their `rows`.
    public init(transactions: [Transaction], rows: [[Double]]) {
        self.transactions = transactions
        self.rows = rows
    }

    /// Transactions labelled fraud.
    public var fraudCount: Int { transactions.count { $0.isFraud == true } }

    /// Adds labelled reviews (``ReviewQueue/labelledRows(on:)``) as training rows. They are dated at the start of
    /// the history, so the time split puts them in the training part and the held-out evaluation stays the
    /// history's own.
    public mutating func addLabelledReviews(_ labelled: [(features: [Double], fraud: Bool, transactionId: String)]) {
        let start = transactions.map(\.timestampMilliseconds).min() ?? 0
        let reviews = labelled.map { row in
            Transaction(
                transactionId: row.transactionId, userId: "review", amount: max(row.features[Feature.amount], 0.01), merchantId: "review",
                timestampMilliseconds: start, isFraud: row.fraud, scenario: row.fraud ? "analyst_fraud" : nil)
        }
        // In the order `prepare --retrain` has always put them, so the same labels train the same model.
        transactions.insert(contentsOf: reviews.reversed(), at: 0)
        rows.insert(contentsOf: labelled.map(\.features).reversed(), at: 0)
    }
}
