import Foundation
import Testing

@testable import FraudCore

@Suite("Model evaluation metrics")
struct ModelEvaluationTests {
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
}
