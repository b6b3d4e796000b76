import Foundation
import Testing

@testable import FraudCore

@Suite("Tree ensemble inference and validation")
struct TreeEnsembleTests {
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
        // A −0 threshold: +0 is at or below it (IEEE: +0 == −0), so the packed walk must go left too.
        var negativeZero = model
        negativeZero.nodeThreshold[0] = -0.0
        try negativeZero.prepareForInference()
        #expect(negativeZero.margin([0.0, 0]) == -1)
        #expect(negativeZero.margin([-0.0, 0]) == -1)
        #expect(negativeZero.margin([Double.leastNonzeroMagnitude, 0]) == 1)
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
}
