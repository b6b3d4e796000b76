import Foundation

/// Trains and evaluates a model version from replayed history: a time-based split (train on the
/// first 80% of event time, evaluate on the rest), trees plus a logistic baseline.
public enum ModelTraining {
    /// Which rows train and which are held out.
    public struct Split: Sendable, Equatable {
        /// Rows before the cut.
        public var training: [Int]
        /// Rows at or after the cut.
        public var heldOut: [Int]
        /// The cut, epoch milliseconds.
        public var cutMilliseconds: Int64
    }

    /// Splits by event time at `fraction` of the span between the first and last transaction.
    public static func timeSplit(_ history: [Transaction], fraction: Double = 0.8) -> Split {
        guard let first = history.map(\.timestampMilliseconds).min(), let last = history.map(\.timestampMilliseconds).max() else {
            return Split(training: [], heldOut: [], cutMilliseconds: 0)
        }
        let cut = first + Int64(Double(last - first) * fraction)
        var training: [Int] = []
        var heldOut: [Int] = []
        for (index, transaction) in history.enumerated() {
            if transaction.timestampMilliseconds < cut { training.append(index) } else { heldOut.append(index) }
        }
        return Split(training: training, heldOut: heldOut, cutMilliseconds: cut)
    }

    /// Builds a training set from selected rows.
    public static func makeTrainingSet(rows: [[Double]], history: [Transaction], indices: [Int]) -> TrainingSet {
        var features: [Double] = []
        features.reserveCapacity(indices.count * FeatureSchema.count)
        var labels: [UInt8] = []
        labels.reserveCapacity(indices.count)
        for index in indices {
            features.append(contentsOf: rows[index])
            labels.append(history[index].isFraud == true ? 1 : 0)
        }
        return TrainingSet(featureNames: FeatureSchema.names, features: features, labels: labels)
    }

    /// Trains the trees and the baseline, evaluates both on the held-out rows, and returns the record to store.
    public static func train(
        history: [Transaction], rows: [[Double]], parameters: GBDTParameters, threshold: Double, trainingData: String,
        now: Int64
    ) -> ModelRecord {
        let split = timeSplit(history)
        let trainingSet = makeTrainingSet(rows: rows, history: history, indices: split.training)
        let heldOutSet = makeTrainingSet(rows: rows, history: history, indices: split.heldOut)
        let clock = ContinuousClock()
        let start = clock.now
        let ensemble = GradientBoostedTreesTrainer.train(trainingSet, parameters: parameters)
        let elapsed = clock.now - start
        let baseline = LogisticRegressionTrainer.train(trainingSet)

        var scores: [Double] = []
        var baselineScores: [Double] = []
        scores.reserveCapacity(split.heldOut.count)
        for index in split.heldOut {
            scores.append(ensemble.probability(rows[index]))
            baselineScores.append(baseline.probability(rows[index]))
        }
        let labels = heldOutSet.labels
        let confusion = ModelEvaluation.confusion(scores: scores, labels: labels, threshold: threshold)
        var caught: [String: Int] = [:]
        var total: [String: Int] = [:]
        for (position, index) in split.heldOut.enumerated() {
            guard history[index].isFraud == true else { continue }
            let scenario = history[index].scenario ?? "unlabelled"
            total[scenario, default: 0] += 1
            if scores[position] >= threshold { caught[scenario, default: 0] += 1 }
        }
        let recallByScenario = total.mapValues { _ in 0.0 }.merging(
            total.map { ($0.key, Double(caught[$0.key, default: 0]) / Double($0.value)) }, uniquingKeysWith: { $1 })
        let metrics = ModelMetrics(
            trainingRows: split.training.count, heldOutRows: split.heldOut.count,
            heldOutPositives: labels.reduce(0) { $0 + Int($1) },
            rocAUC: ModelEvaluation.rocAUC(scores: scores, labels: labels),
            prAUC: ModelEvaluation.prAUC(scores: scores, labels: labels),
            precision: confusion.precision, recall: confusion.recall,
            baselineROCAUC: ModelEvaluation.rocAUC(scores: baselineScores, labels: labels),
            baselinePRAUC: ModelEvaluation.prAUC(scores: baselineScores, labels: labels),
            recallByScenario: recallByScenario, rowsByScenario: total,
            trainingSeconds: elapsed.seconds)
        return ModelRecord(
            createdMilliseconds: now, featureNames: FeatureSchema.names, parameters: parameters, metrics: metrics,
            threshold: threshold, ensemble: ensemble, baseline: baseline, trainingData: trainingData)
    }
}
