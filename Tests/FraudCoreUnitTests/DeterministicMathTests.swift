import Foundation
import Testing

@testable import FraudCore

@Suite("Deterministic math")
struct DeterministicMathTests {
    @Test func deterministicMathAgreesWithTheCLibrary() {
        for step in 0...400 {
            let x = Double(step) / 40 - 5  // -5 ... 5
            #expect(abs(DeterministicMath.exp(x) - Foundation.exp(x)) <= 1e-14 * Foundation.exp(x))
            #expect(abs(DeterministicMath.sin(x) - Foundation.sin(x)) < 1e-15)
            #expect(abs(DeterministicMath.cos(x) - Foundation.cos(x)) < 1e-15)
            #expect(abs(DeterministicMath.atan(x) - Foundation.atan(x)) < 1e-15)
            let positive = Double(step + 1) / 37
            #expect(abs(DeterministicMath.log(positive) - Foundation.log(positive)) < 1e-15 * max(1, abs(Foundation.log(positive))))
        }
        #expect(abs(DeterministicMath.log(1e-300) - Foundation.log(1e-300)) < 1e-12)
        #expect(abs(DeterministicMath.asin(0.3) - Foundation.asin(0.3)) < 1e-15)
        let kilometres = DeterministicMath.distanceKilometres(40.7128, -74.0060, 51.5074, -0.1278)
        let reference = Geo.distanceKilometres(latitude1: 40.7128, longitude1: -74.0060, latitude2: 51.5074, longitude2: -0.1278)
        #expect(abs(kilometres - reference) < 1e-6)
        #expect(abs(kilometres - 5_570) < 10)
    }
}
