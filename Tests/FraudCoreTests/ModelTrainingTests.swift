import Foundation
import Testing

@testable import FraudCore

/// Small synthetic sets, seeded, so every test is deterministic and quick in debug builds.
private enum Synthetic {
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
private func stump() -> TreeEnsemble {
    TreeEnsemble(
        featureNames: ["f0", "f1"], featureCount: 2, baseMargin: 0, treeRoots: [0], nodeFeature: [0, -1, -1],
        nodeThreshold: [0.5, 0, 0], nodeLeft: [1, -1, -1], nodeRight: [2, -1, -1], nodeValue: [0, -1, 1]
    )
}

private let fastParameters = GBDTParameters(trees: 30, maxLeaves: 15, minSamplesLeaf: 10)

@Suite("Model training and evaluation")
struct ModelTrainingTests {
    @Test func rocAUCCountsTiedScoresAsHalf() {
        // Pairs (positive, negative): (0.5, 0.5) ties = ½, (0.5, 0.2), (0.9, 0.5), (0.9, 0.2) = 1 each → 3.5 / 4.
        #expect(ModelEvaluation.rocAUC(scores: [0.5, 0.5, 0.2, 0.9], labels: [1, 0, 0, 1]) == 0.875)
        #expect(ModelEvaluation.rocAUC(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1]) == 0.75)
        #expect(ModelEvaluation.rocAUC(scores: [0.3, 0.3, 0.3], labels: [1, 0, 0]) == 0.5)
        #expect(ModelEvaluation.rocAUC(scores: [0.3, 0.7], labels: [0, 0]).isNaN)
    }

    @Test func averagePrecisionSumsPrecisionAtEachRecallStep() {
        // Recall steps of 1/3 at precisions 1, 2/3, 1/2: 1/3 + 2/9 + 1/6 = 13/18.
        let distinct = ModelEvaluation.prAUC(scores: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], labels: [1, 0, 1, 0, 0, 1])
        #expect(abs(distinct - 13.0 / 18.0) < 1e-12)
        // Tied scores enter together: {0.6 ×3} gives recall 2/3 at precision 2/3, {0.2 ×2} recall 1 at 3/5.
        let tied = ModelEvaluation.prAUC(scores: [0.6, 0.6, 0.6, 0.2, 0.2, 0.1], labels: [1, 1, 0, 0, 1, 0])
        #expect(abs(tied - (4.0 / 9.0 + 1.0 / 5.0)) < 1e-12)
        #expect(ModelEvaluation.prAUC(scores: [0.2, 0.1], labels: [0, 0]).isNaN)
    }

    @Test func confusionFlagsScoresAtOrAboveThreshold() {
        let matrix = ModelEvaluation.confusion(
            scores: [0.9, 0.5, 0.5, 0.2, 0.7, 0.1], labels: [1, 1, 0, 1, 0, 0], threshold: 0.5
        )
        #expect(matrix == ConfusionMatrix(truePositives: 2, falsePositives: 2, trueNegatives: 1, falseNegatives: 1))
        #expect(matrix.precision == 0.5)
        #expect(abs(matrix.recall - 2.0 / 3.0) < 1e-12)
        let none = ModelEvaluation.confusion(scores: [0.1, 0.2], labels: [0, 1], threshold: 0.9)
        #expect(none.precision == 0 && none.recall == 0 && none.f1 == 0)
    }

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

    @Test func logisticRegressionRecoversLinearSignalOnImbalancedData() throws {
        let set = Synthetic.linear(rows: 4000, seed: 2)
        let model = LogisticRegressionTrainer.train(set.subset(0..<3000))
        try model.validate()
        let test = set.subset(3000..<4000)
        let scores = (0..<test.rowCount).map { model.probability(test.row($0)) }
        #expect(ModelEvaluation.rocAUC(scores: scores, labels: test.labels) > 0.85)
        #expect(model.weights[0] > 0 && model.weights[1] > 0)
        #expect(abs(model.weights[2]) < model.weights[0] / 5)
        let decoded = try JSONDecoder().decode(LogisticRegressionModel.self, from: JSONEncoder().encode(model))
        #expect(decoded == model)
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

    @Test func codableRoundTripKeepsTheModelAndItsPredictions() throws {
        let set = Synthetic.checkerboard(rows: 1500, seed: 6)
        let model = GradientBoostedTreesTrainer.train(set, parameters: fastParameters)
        let decoded = try JSONDecoder().decode(TreeEnsemble.self, from: JSONEncoder().encode(model))
        #expect(decoded == model)
        try decoded.validate()
        for row in 0..<100 {
            let values = Array(set.row(row))
            #expect(decoded.probability(values) == model.probability(values))
        }
    }

    @Test func validateRejectsCorruptedEnsembles() throws {
        let model = GradientBoostedTreesTrainer.train(Synthetic.checkerboard(rows: 1000, seed: 7), parameters: fastParameters)
        #expect(throws: Never.self) { try model.validate() }
        let inner = model.nodeFeature.firstIndex { $0 >= 0 }!

        var childOutOfRange = model
        childOutOfRange.nodeLeft[inner] = Int32(model.nodeCount + 5)
        var backwardChild = model
        backwardChild.nodeRight[inner + 1 < model.nodeCount ? inner + 1 : inner] = 0
        var nanThreshold = model
        nanThreshold.nodeThreshold[inner] = .nan
        var badFeature = model
        badFeature.nodeFeature[inner] = Int32(model.featureCount)
        var shortArray = model
        shortArray.nodeValue.removeLast()
        var infiniteValue = model
        infiniteValue.nodeValue[model.nodeCount - 1] = .infinity
        var wrongNames = model
        wrongNames.featureNames.removeLast()
        for corrupted in [childOutOfRange, backwardChild, nanThreshold, badFeature, shortArray, infiniteValue, wrongNames] {
            #expect(throws: FraudError.self) { try corrupted.validate() }
        }
        // A stored model that fails validation cannot even be loaded.
        let corruptJSON = try JSONEncoder().encode(badFeature)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TreeEnsemble.self, from: corruptJSON) }
    }

    @Test func editedArraysTakeEffectAtOnce() throws {
        var model = stump()
        #expect(model.margin([0.9, 0]) == 1)
        model.nodeValue[2] = 3
        #expect(model.margin([0.9, 0]) == 3)
        try model.prepareForInference()
        #expect(model.margin([0.9, 0]) == 3)
    }

    @Test func rowsGoLeftAtOrBelowThresholdAndNaNGoesRight() throws {
        let model = stump()
        try model.validate()
        #expect(model.margin([0.5, 0]) == -1)
        #expect(model.margin([0.5000001, 0]) == 1)
        #expect(model.margin([-.infinity, 0]) == -1)
        #expect(model.margin([.infinity, 0]) == 1)
        #expect(model.margin([.nan, 0]) == 1)
        #expect(model.probability([0, 0]) == ModelEvaluation.logistic(-1))
    }

    @Test func contributionsAddUpToTheMargin() {
        let set = Synthetic.checkerboard(rows: 1500, seed: 8)
        let model = GradientBoostedTreesTrainer.train(set, parameters: fastParameters)
        var importance = [Double](repeating: 0, count: set.featureCount)
        for row in 0..<200 {
            let values = Array(set.row(row))
            let (base, shares) = model.contributions(values)
            #expect(abs(base + shares.reduce(0, +) - model.margin(values)) < 1e-9)
            for feature in shares.indices { importance[feature] += abs(shares[feature]) }
        }
        // Only x0 and x1 carry signal: on average they get by far the largest shares.
        #expect(min(importance[0], importance[1]) > 3 * max(importance[2], importance[3]))
    }

    @Test func binningUsesMidpointsOfFewValuesAndQuantilesOfMany() {
        #expect(FeatureBinning.thresholds(sortedValues: [1, 1, 2, 4, 4], maxBins: 255) == [1.5, 3])
        let many = (0..<1000).map(Double.init)
        let edges = FeatureBinning.thresholds(sortedValues: many, maxBins: 10)
        #expect(edges.count == 9)
        #expect(edges[0] == 99.5 && edges[8] == 899.5)
        #expect(FeatureBinning.thresholds(sortedValues: [7, 7, 7], maxBins: 255).isEmpty)
    }

    @Test func parametersDecodeWithDefaultsAndRejectBadValues() throws {
        let decoded = try JSONDecoder().decode(GBDTParameters.self, from: Data(#"{"trees": 50, "seed": 7}"#.utf8))
        #expect(decoded == GBDTParameters(trees: 50, seed: 7))
        #expect(throws: FraudError.self) { try GBDTParameters(maxBins: 256).validate() }
        #expect(throws: FraudError.self) { try GBDTParameters(rowSubsample: 0).validate() }
        #expect(throws: FraudError.self) {
            try TrainingSet(featureNames: ["a"], features: [.nan], labels: [1]).validate()
        }
    }
}
