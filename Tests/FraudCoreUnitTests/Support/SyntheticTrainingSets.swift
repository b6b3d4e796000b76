import Foundation

@testable import FraudCore

/// Small synthetic sets, seeded, so every test is deterministic and quick in debug builds.
enum Synthetic {
    /// Uniform features in [-1, 1]; the label is whether x0 and x1 have the same sign (XOR-like),
    /// flipped for `noise` of the rows. Features 2... are pure noise.
    static func checkerboard(rows: Int, features: Int = 4, noise: Double = 0.05, seed: UInt64) -> TrainingSet {
        var random = TrainingRandom(seed: seed)
        var values: [Double] = []
        var labels: [UInt8] = []
        for _ in 0..<rows {
            let row = (0..<features).map { _ in random.unit() * 2 - 1 }
            var label: UInt8 = (row[0] > 0) == (row[1] > 0) ? 1 : 0
            if random.unit() < noise { label ^= 1 }
            values += row
            labels.append(label)
        }
        return TrainingSet(featureNames: (0..<features).map { "x\($0)" }, features: values, labels: labels)
    }

    /// Imbalanced: about 3% positives, driven linearly by x0 and x1 (and not by x2).
    static func linear(rows: Int, seed: UInt64) -> TrainingSet {
        var random = TrainingRandom(seed: seed)
        var values: [Double] = []
        var labels: [UInt8] = []
        for _ in 0..<rows {
            let row = [random.unit() * 4 - 2, random.unit() * 10, random.unit()]
            let margin = -4.5 + 1.8 * row[0] + 0.15 * row[1]
            labels.append(random.unit() < ModelEvaluation.logistic(margin) ? 1 : 0)
            values += row
        }
        return TrainingSet(featureNames: ["a", "b", "c"], features: values, labels: labels)
    }
}

/// One split on feature 0 at 0.5: margin −1 at or below, +1 above (base 0).
func stump() -> TreeEnsemble {
    TreeEnsemble(
        featureNames: ["f0", "f1"], featureCount: 2, baseMargin: 0, treeRoots: [0], nodeFeature: [0, -1, -1],
        nodeThreshold: [0.5, 0, 0], nodeLeft: [1, -1, -1], nodeRight: [2, -1, -1], nodeValue: [0, -1, 1]
    )
}

let fastParameters = GBDTParameters(trees: 30, maxLeaves: 15, minSamplesLeaf: 10)
