/// A trained model version as stored in Redis: plain data (JSON), never executable.
public struct ModelRecord: Sendable, Codable, Equatable {
    /// Version number, assigned by the store (1, 2, …).
    public var version: Int
    /// Creation time, epoch milliseconds.
    public var createdMilliseconds: Int64
    /// Model family: `gbdt` (FraudStream's trainer), or the format of an imported model (`xgboost-json`,
    /// `lightgbm-text`, `onnx`).
    public var kind: String
    /// Feature names in the order the model reads them: ``FeatureSchema/names`` for FraudStream's own trees, any of
    /// them in any order for an imported model.
    public var featureNames: [String]
    /// Training hyper-parameters.
    public var parameters: GBDTParameters
    /// Held-out evaluation.
    public var metrics: ModelMetrics
    /// Score threshold for `is_fraud` used in the evaluation.
    public var threshold: Double
    /// The trees.
    public var ensemble: TreeEnsemble
    /// The logistic-regression baseline trained on the same rows (kept for comparison).
    public var baseline: LogisticRegressionModel?
    /// Where the training data came from (`synthetic users=5000 days=30 seed=42`), or an imported model's name.
    public var trainingData: String
    /// The trees another library trained (`models import`), served instead of ``ensemble``; nil for FraudStream's own.
    public var imported: ImportedModel?

    /// Creates a record; the store assigns ``version`` on save.
    public init(
        version: Int = 0, createdMilliseconds: Int64, kind: String = "gbdt", featureNames: [String],
        parameters: GBDTParameters, metrics: ModelMetrics, threshold: Double, ensemble: TreeEnsemble,
        baseline: LogisticRegressionModel?, trainingData: String
    ) {
        self.version = version
        self.createdMilliseconds = createdMilliseconds
        self.kind = kind
        self.featureNames = featureNames
        self.parameters = parameters
        self.metrics = metrics
        self.threshold = threshold
        self.ensemble = ensemble
        self.baseline = baseline
        self.trainingData = trainingData
    }
}

/// Held-out metrics stored with a model.
public struct ModelMetrics: Sendable, Codable, Equatable {
    /// Rows used for training (first 80% of event time).
    public var trainingRows: Int
    /// Rows held out (last 20% of event time).
    public var heldOutRows: Int
    /// Fraud rows among the held-out rows.
    public var heldOutPositives: Int
    /// ROC AUC of the trees on held-out rows.
    public var rocAUC: Double
    /// PR AUC (average precision) of the trees on held-out rows.
    public var prAUC: Double
    /// Precision at the threshold.
    public var precision: Double
    /// Recall at the threshold.
    public var recall: Double
    /// ROC AUC of the logistic baseline.
    public var baselineROCAUC: Double
    /// PR AUC of the logistic baseline.
    public var baselinePRAUC: Double
    /// Recall at the threshold per fraud scenario (held-out rows), when scenarios are known.
    public var recallByScenario: [String: Double]
    /// Held-out rows per fraud scenario.
    public var rowsByScenario: [String: Int]
    /// Training time in seconds.
    public var trainingSeconds: Double

    /// Creates metrics.
    public init(
        trainingRows: Int, heldOutRows: Int, heldOutPositives: Int, rocAUC: Double, prAUC: Double, precision: Double,
        recall: Double, baselineROCAUC: Double, baselinePRAUC: Double, recallByScenario: [String: Double],
        rowsByScenario: [String: Int], trainingSeconds: Double
    ) {
        self.trainingRows = trainingRows
        self.heldOutRows = heldOutRows
        self.heldOutPositives = heldOutPositives
        self.rocAUC = rocAUC
        self.prAUC = prAUC
        self.precision = precision
        self.recall = recall
        self.baselineROCAUC = baselineROCAUC
        self.baselinePRAUC = baselinePRAUC
        self.recallByScenario = recallByScenario
        self.rowsByScenario = rowsByScenario
        self.trainingSeconds = trainingSeconds
    }
}
