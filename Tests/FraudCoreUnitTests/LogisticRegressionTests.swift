import Foundation
import Testing

@testable import FraudCore

@Suite("Logistic regression baseline")
struct LogisticRegressionTests {
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
}
