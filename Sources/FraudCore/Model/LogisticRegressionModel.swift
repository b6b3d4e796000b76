import Foundation

/// A trained logistic regression as plain data: margin = bias + Σ weights[j] · (x[j] − means[j]) / scales[j].
public struct LogisticRegressionModel: Sendable, Codable, Equatable {
    /// Feature names in input order; scoring code must feed vectors in exactly this order.
    public var featureNames: [String]
    /// Training mean of each feature.
    public var means: [Double]
    /// Training standard deviation of each feature (1 for constant features).
    public var scales: [Double]
    /// Weight of each standardized feature.
    public var weights: [Double]
    /// Intercept, in log-odds.
    public var bias: Double

    /// Creates a model from its numbers.
    public init(featureNames: [String], means: [Double], scales: [Double], weights: [Double], bias: Double) {
        self.featureNames = featureNames
        self.means = means
        self.scales = scales
        self.weights = weights
        self.bias = bias
    }

    /// Log-odds of a row in `featureNames` order.
    public func margin<C: Collection>(_ features: C) -> Double where C.Element == Double {
        if let result = features.withContiguousStorageIfAvailable({ margin($0) }) { return result }
        return Array(features).withUnsafeBufferPointer { margin($0) }
    }

    /// Log-odds of a row in `featureNames` order.
    public func margin(_ features: UnsafeBufferPointer<Double>) -> Double {
        let count = weights.count
        precondition(features.count >= count, "LogisticRegressionModel: \(features.count) features, expected \(count)")
        precondition(means.count == count && scales.count == count, "LogisticRegressionModel: call validate()")
        var sum = bias
        for index in 0..<count {
            sum += weights[index] * (features[index] - means[index]) / scales[index]
        }
        return sum
    }

    /// Probability of the positive class for a row in `featureNames` order.
    public func probability(_ features: [Double]) -> Double {
        ModelEvaluation.logistic(features.withUnsafeBufferPointer { margin($0) })
    }

    /// Probability of the positive class for a row in `featureNames` order.
    public func probability<C: Collection>(_ features: C) -> Double where C.Element == Double {
        ModelEvaluation.logistic(margin(features))
    }

    /// Checks that every array has one entry per feature, every number is finite and every scale positive.
    public func validate() throws(FraudError) {
        let count = featureNames.count
        guard means.count == count, scales.count == count, weights.count == count else {
            throw FraudError(.invalidModel, 
                "logistic regression: \(count) features but \(means.count) means, \(scales.count) scales, \(weights.count) weights"
            )
        }
        guard bias.isFinite, means.allSatisfy(\.isFinite), weights.allSatisfy(\.isFinite) else {
            throw FraudError(.invalidModel, "logistic regression: a mean, weight or the bias is not finite")
        }
        guard scales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw FraudError(.invalidModel, "logistic regression: every scale must be finite and positive")
        }
    }
}
