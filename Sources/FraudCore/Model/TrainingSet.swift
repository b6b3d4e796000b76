/// Row-major feature matrix with binary labels, the input of every trainer.
public struct TrainingSet: Sendable, Equatable {
    /// Feature names in column order.
    public var featureNames: [String]
    /// Row-major values, `rowCount * featureCount` of them; must all be finite.
    public var features: [Double]
    /// One label per row: 1 for the positive class (fraud), 0 otherwise.
    public var labels: [UInt8]

    /// Number of rows.
    public var rowCount: Int { labels.count }
    /// Number of features (columns).
    public var featureCount: Int { featureNames.count }
    /// Number of rows labelled 1.
    public var positiveCount: Int { labels.reduce(0) { $0 + Int($1 != 0 ? 1 : 0) } }

    /// Creates a set from row-major values; traps unless `features.count == labels.count * featureNames.count`.
    public init(featureNames: [String], features: [Double], labels: [UInt8]) {
        precondition(
            features.count == labels.count * featureNames.count,
            "TrainingSet: \(features.count) values for \(labels.count) rows of \(featureNames.count) features"
        )
        self.featureNames = featureNames
        self.features = features
        self.labels = labels
    }

    /// Creates a set from one array per row; traps when a row has the wrong length.
    public init(featureNames: [String], rows: [[Double]], labels: [UInt8]) {
        precondition(rows.count == labels.count, "TrainingSet: \(rows.count) rows but \(labels.count) labels")
        var flat: [Double] = []
        flat.reserveCapacity(rows.count * featureNames.count)
        for row in rows {
            precondition(row.count == featureNames.count, "TrainingSet: a row has \(row.count) values, expected \(featureNames.count)")
            flat.append(contentsOf: row)
        }
        self.init(featureNames: featureNames, features: flat, labels: labels)
    }

    /// The values of one row.
    public func row(_ index: Int) -> ArraySlice<Double> {
        let width = featureCount
        return features[(index * width)..<((index + 1) * width)]
    }

    /// The rows in a contiguous range, e.g. a time-ordered train/test split.
    public func subset(_ rows: Range<Int>) -> TrainingSet {
        let width = featureCount
        return TrainingSet(
            featureNames: featureNames,
            features: Array(features[(rows.lowerBound * width)..<(rows.upperBound * width)]),
            labels: Array(labels[rows])
        )
    }

    /// The given rows, in the given order (duplicates allowed).
    public func subset(_ rows: [Int]) -> TrainingSet {
        let width = featureCount
        var values: [Double] = []
        values.reserveCapacity(rows.count * width)
        var picked: [UInt8] = []
        picked.reserveCapacity(rows.count)
        for index in rows {
            values.append(contentsOf: features[(index * width)..<((index + 1) * width)])
            picked.append(labels[index])
        }
        return TrainingSet(featureNames: featureNames, features: values, labels: picked)
    }

    /// Checks shape, that every value is finite and that every label is 0 or 1.
    public func validate() throws(FraudError) {
        guard features.count == labels.count * featureNames.count else {
            throw FraudError(.invalidModel, "training set has \(features.count) values for \(labels.count) rows of \(featureNames.count) features")
        }
        if let bad = features.firstIndex(where: { !$0.isFinite }) {
            let width = max(featureCount, 1)
            throw FraudError(.invalidModel, 
                "training set value at row \(bad / width), feature \(featureNames[bad % width]) is \(features[bad]); all values must be finite"
            )
        }
        if let bad = labels.firstIndex(where: { $0 > 1 }) {
            throw FraudError(.invalidModel, "training set label at row \(bad) is \(labels[bad]); labels must be 0 or 1")
        }
    }
}
