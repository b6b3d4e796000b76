import Foundation
import Testing

@testable import FraudCore

@Suite("Feature binning")
struct FeatureBinningTests {
    @Test func binningUsesMidpointsOfFewValuesAndQuantilesOfMany() {
        #expect(FeatureBinning.thresholds(sortedValues: [1, 1, 2, 4, 4], maxBins: 255) == [1.5, 3])
        let many = (0..<1000).map(Double.init)
        let edges = FeatureBinning.thresholds(sortedValues: many, maxBins: 10)
        #expect(edges.count == 9)
        #expect(edges[0] == 99.5 && edges[8] == 899.5)
        #expect(FeatureBinning.thresholds(sortedValues: [7, 7, 7], maxBins: 255).isEmpty)
    }
}
