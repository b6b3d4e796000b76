import Foundation

/// Metrics of binary scores against 0/1 labels (1 = positive), defined as in scikit-learn.
///
/// Scores must not be NaN; `scores` and `labels` must have the same length.
public enum ModelEvaluation {
    /// Area under the ROC curve: the chance a random positive scores above a random negative, ties
    /// counting half (average ranks). NaN when either class is absent.
    public static func rocAUC(scores: [Double], labels: [UInt8]) -> Double {
        check(scores, labels)
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var positives = 0.0
        var rankSum = 0.0
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && scores[order[end]] == scores[order[start]] { end += 1 }
            // Ranks start + 1 ... end share their average.
            let averageRank = Double(start + 1 + end) / 2
            for position in start..<end where labels[order[position]] != 0 {
                positives += 1
                rankSum += averageRank
            }
            start = end
        }
        let negatives = Double(scores.count) - positives
        guard positives > 0, negatives > 0 else { return .nan }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
    }

    /// Average precision, the area under the precision-recall curve as scikit-learn's
    /// `average_precision_score` defines it: Σ (Rₙ − Rₙ₋₁) Pₙ over the distinct score thresholds, highest
    /// first, tied scores entering together. NaN when there are no positives.
    public static func prAUC(scores: [Double], labels: [UInt8]) -> Double {
        check(scores, labels)
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let totalPositives = Double(labels.reduce(0) { $0 + ($1 != 0 ? 1 : 0) })
        guard totalPositives > 0 else { return .nan }
        var truePositives = 0.0
        var flagged = 0.0
        var previousRecall = 0.0
        var area = 0.0
        var start = 0
        while start < order.count {
            var end = start
            while end < order.count && scores[order[end]] == scores[order[start]] {
                if labels[order[end]] != 0 { truePositives += 1 }
                flagged += 1
                end += 1
            }
            let recall = truePositives / totalPositives
            area += (recall - previousRecall) * (truePositives / flagged)
            previousRecall = recall
            start = end
        }
        return area
    }

    /// Counts when rows scoring `>= threshold` are flagged positive.
    public static func confusion(scores: [Double], labels: [UInt8], threshold: Double) -> ConfusionMatrix {
        check(scores, labels)
        var matrix = ConfusionMatrix(truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0)
        for (score, label) in zip(scores, labels) {
            switch (score >= threshold, label != 0) {
            case (true, true): matrix.truePositives += 1
            case (true, false): matrix.falsePositives += 1
            case (false, false): matrix.trueNegatives += 1
            case (false, true): matrix.falseNegatives += 1
            }
        }
        return matrix
    }

    /// Mean binary cross-entropy of probabilities, each clipped to [1e-15, 1 − 1e-15].
    public static func logLoss(probabilities: [Double], labels: [UInt8]) -> Double {
        check(probabilities, labels)
        guard !labels.isEmpty else { return .nan }
        var total = 0.0
        for (probability, label) in zip(probabilities, labels) {
            let clipped = min(max(probability, 1e-15), 1 - 1e-15)
            total -= label != 0 ? log(clipped) : log(1 - clipped)
        }
        return total / Double(labels.count)
    }

    /// The logistic function 1 / (1 + e^−margin), without overflow for any margin.
    @inlinable
    public static func logistic(_ margin: Double) -> Double {
        if margin >= 0 {
            return 1 / (1 + exp(-margin))
        }
        let e = exp(margin)
        return e / (1 + e)
    }

    private static func check(_ scores: [Double], _ labels: [UInt8]) {
        precondition(scores.count == labels.count, "ModelEvaluation: \(scores.count) scores but \(labels.count) labels")
        precondition(!scores.contains(where: \.isNaN), "ModelEvaluation: NaN score")
    }
}
