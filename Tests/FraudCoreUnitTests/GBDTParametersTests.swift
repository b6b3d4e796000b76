import Foundation
import Testing

@testable import FraudCore

@Suite("Training parameters and sets")
struct GBDTParametersTests {
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
