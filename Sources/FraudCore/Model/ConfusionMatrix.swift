/// Counts of a binary decision against the truth.
public struct ConfusionMatrix: Sendable, Codable, Equatable {
    /// Positives flagged.
    public var truePositives: Int
    /// Negatives flagged.
    public var falsePositives: Int
    /// Negatives passed.
    public var trueNegatives: Int
    /// Positives passed.
    public var falseNegatives: Int

    /// Creates a matrix from its counts.
    public init(truePositives: Int, falsePositives: Int, trueNegatives: Int, falseNegatives: Int) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.trueNegatives = trueNegatives
        self.falseNegatives = falseNegatives
    }

    /// Number of rows counted.
    public var total: Int { truePositives + falsePositives + trueNegatives + falseNegatives }

    /// Share of flagged rows that are positive; 0 when nothing is flagged.
    public var precision: Double { Self.ratio(truePositives, truePositives + falsePositives) }

    /// Share of positives flagged; 0 when there are no positives.
    public var recall: Double { Self.ratio(truePositives, truePositives + falseNegatives) }

    /// Share of negatives flagged; 0 when there are no negatives.
    public var falsePositiveRate: Double { Self.ratio(falsePositives, falsePositives + trueNegatives) }

    /// Harmonic mean of precision and recall; 0 when both are 0.
    public var f1: Double {
        let sum = precision + recall
        return sum > 0 ? 2 * precision * recall / sum : 0
    }

    private static func ratio(_ part: Int, _ whole: Int) -> Double {
        whole > 0 ? Double(part) / Double(whole) : 0
    }
}
