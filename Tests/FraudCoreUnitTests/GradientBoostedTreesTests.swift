import Foundation
import Testing

@testable import FraudCore

@Suite("Gradient-boosted trees training")
struct GradientBoostedTreesTests {
    @Test func boostedTreesLearnXorPatternThatLogisticRegressionCannot() {
        let set = Synthetic.checkerboard(rows: 4000, seed: 1)
        let train = set.subset(0..<3000)
        let test = set.subset(3000..<4000)
        let trees = GradientBoostedTreesTrainer.train(train, parameters: fastParameters)
        let linear = LogisticRegressionTrainer.train(train)
        let treeScores = (0..<test.rowCount).map { trees.probability(test.row($0)) }
        let linearScores = (0..<test.rowCount).map { linear.probability(test.row($0)) }
        #expect(ModelEvaluation.rocAUC(scores: treeScores, labels: test.labels) > 0.95)
        #expect(ModelEvaluation.rocAUC(scores: linearScores, labels: test.labels) < 0.65)
        #expect(throws: Never.self) { try trees.validate() }
        #expect(trees.treeCount == 30)
    }

    @Test func trainingIsBitIdenticalForTheSameSeed() throws {
        let set = Synthetic.checkerboard(rows: 2000, seed: 3)
        var parameters = fastParameters
        parameters.rowSubsample = 0.7
        let first = GradientBoostedTreesTrainer.train(set, parameters: parameters)
        let second = GradientBoostedTreesTrainer.train(set, parameters: parameters)
        #expect(first == second)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(first) == encoder.encode(second))
        parameters.seed = 43
        #expect(GradientBoostedTreesTrainer.train(set, parameters: parameters) != first)
    }

    @Test func noTreesPredictTheTrainingPrior() {
        let set = Synthetic.linear(rows: 1000, seed: 4)
        let model = GradientBoostedTreesTrainer.train(set, parameters: GBDTParameters(trees: 0))
        let prior = Double(set.positiveCount) / Double(set.rowCount)
        #expect(abs(model.probability(set.row(0)) - prior) < 1e-12)
        #expect(model.nodeCount == 0)
    }

    @Test(arguments: [1.0, 0.6])
    func inferenceMatchesTheTrainersOwnMarginsExactly(rowSubsample: Double) {
        let set = Synthetic.linear(rows: 2000, seed: 5)
        var parameters = fastParameters
        parameters.rowSubsample = rowSubsample
        var margins = [Double](repeating: 0, count: set.rowCount)
        let model = margins.withUnsafeMutableBufferPointer {
            GradientBoostedTreesTrainer.train(set, parameters: parameters, trainingMargins: $0)
        }
        // The fast layout (used after init and decoding) and the checked walk over the arrays (used
        // after an edit) agree with the trainer bit for bit.
        var edited = model
        edited.baseMargin = model.baseMargin
        var mismatches = 0
        for row in 0..<set.rowCount {
            if model.margin(set.row(row)) != margins[row] || edited.margin(set.row(row)) != margins[row] { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
