import Foundation
import Testing

@testable import FraudCore

@Suite("Seeded random")
struct SeededRandomTests {
    @Test func matchesTheReferenceSequence() {
        // xoshiro256** seeded by SplitMix64, computed independently.
        var random = SeededRandom(seed: 42)
        let expected: [UInt64] = [1_546_998_764_402_558_742, 6_990_951_692_964_543_102, 12_544_586_762_248_559_009]
        #expect([random.next(), random.next(), random.next()] == expected)
        var zero = SeededRandom(seed: 0)
        #expect(zero.next() == 11_091_344_671_253_066_420)
        #expect(SeededRandom(seed: 1, stream: 2, index: 3) == SeededRandom(seed: 1, stream: 2, index: 3))
        #expect(SeededRandom(seed: 1, stream: 2, index: 3) != SeededRandom(seed: 1, stream: 2, index: 4))
    }

    @Test func distributionsHaveTheirMoments() {
        var random = SeededRandom(seed: 7)
        let n = 20_000
        var doubles = 0.0
        var normals: [Double] = []
        var poissons = 0
        var exponentials = 0.0
        var counts = [0, 0, 0]
        for _ in 0..<n {
            let u = random.nextDouble()
            #expect(u >= 0 && u < 1)
            doubles += u
            normals.append(random.normal(mean: 3, standardDeviation: 2))
            poissons += random.poisson(mean: 2.5)
            exponentials += random.exponential(mean: 4)
            counts[random.weightedIndex([1, 2, 7])] += 1
            let bounded = random.int(below: 7)
            #expect(bounded >= 0 && bounded < 7)
        }
        let mean = normals.reduce(0, +) / Double(n)
        let variance = normals.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        #expect(abs(doubles / Double(n) - 0.5) < 0.01)
        #expect(abs(mean - 3) < 0.05 && abs(variance.squareRoot() - 2) < 0.05)
        #expect(abs(Double(poissons) / Double(n) - 2.5) < 0.05)
        #expect(abs(exponentials / Double(n) - 4) < 0.15)
        #expect(abs(Double(counts[2]) / Double(n) - 0.7) < 0.015)
        var medianCheck = SeededRandom(seed: 8)
        let logNormals = (0..<5_001).map { _ in medianCheck.logNormal(median: 30, sigma: 0.5) }.sorted()
        #expect(abs(logNormals[2_500] - 30) < 1)
    }
}
