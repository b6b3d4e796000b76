import Foundation
import Testing

@testable import FraudCore

/// The branch-free walk the decision path uses for imported models gives exactly the checked walk's probability, for every arithmetic, on rows that hit thresholds exactly, fall
/// between `Double` and `Float` roundings, carry −0 against a +0 or −0 threshold, or carry NaN and infinities.
@Suite("Packed walk of imported trees (no server)")
struct PackedImportedForestTests {
    /// Random trees over a shuffled subset of the served features, with thresholds from a small pool so rows hit
    /// them exactly.
    static func randomTrees(
        _ arithmetic: ImportedTrees.Arithmetic, library: ImportedTrees.Library, seed: UInt64, floatLeaves: Bool
    ) -> (ImportedTrees, [Double]) {
        var random = TrainingRandom(seed: seed)
        let names = Array(FeatureSchema.names.shuffled(using: &random).prefix(12))
        // LightGBM writes an infinite threshold for a split that sends every finite value one way.
        let pool = (0..<13).map { _ in Double(random.next() % 2_000) / 7 - 100 } + [.infinity, 0.0, -0.0]
        var trees = ImportedTrees(
            library: library, libraryVersion: "test", featureNames: names, objective: "test", appliesLogistic: true, arithmetic: arithmetic,
            baseMargin: 0.125)
        for _ in 0..<40 {
            let depth = Int(random.next() % 7) + 1
            var nodes = 0
            func grow(_ level: Int) -> Int {
                let at = trees.addNodes(1)
                nodes += 1
                if level == depth || random.next() % 5 == 0 {
                    let value = Double(Int(random.next() % 2_001) - 1_000) / 997
                    trees.value[at] = floatLeaves ? Double(Float(value)) : value
                    return at
                }
                trees.feature[at] = Int32(random.next() % UInt64(names.count))
                trees.threshold[at] = pool[Int(random.next() % UInt64(pool.count))]
                trees.defaultLeft[at] = random.next() % 2 == 0
                trees.missing[at] = library == .lightgbm ? [.nan, .none][Int(random.next() % 2)] : .nan
                let left = grow(level + 1)
                let right = grow(level + 1)
                trees.left[at] = Int32(left)
                trees.right[at] = Int32(right)
                return at
            }
            let root = grow(0)
            trees.roots.append(Int32(root))
        }
        return (trees, pool)
    }

    @Test(arguments: [
        (ImportedTrees.Arithmetic.float32Below, ImportedTrees.Library.xgboost, true), (.float32Below, .xgboost, false),
        (.float32AtMost, .onnx, true), (.float32AtMost, .onnx, false), (.doubleAtMost, .lightgbm, false), (.doubleBelow, .onnx, false),
    ])
    func thePackedWalkEqualsTheCheckedOne(_ arithmetic: ImportedTrees.Arithmetic, _ library: ImportedTrees.Library, _ floatLeaves: Bool) throws {
        for seed in UInt64(1)...5 {
            let (trees, pool) = Self.randomTrees(arithmetic, library: library, seed: seed, floatLeaves: floatLeaves)
            try trees.validate()
            let model = try ImportedModel(format: .onnx, sourceFile: "", sourceSHA256: "", producer: "", trees: trees, parity: nil)
            #expect(model.isPacked)
            var random = TrainingRandom(seed: seed &+ 100)
            var walked = 0
            for _ in 0..<2_000 {
                var vector = [Double](repeating: 0, count: FeatureSchema.count)
                var missing = false
                for position in vector.indices {
                    let threshold = pool[Int(random.next() % UInt64(pool.count))]
                    switch random.next() % 8 {
                    case 0: vector[position] = threshold  // exactly on a threshold
                    case 1: vector[position] = threshold.nextUp  // above it in Double, equal to it in Float
                    case 2: vector[position] = threshold.nextDown
                    case 3: vector[position] = Double(Float(threshold).nextUp)
                    case 5: vector[position] = -0.0
                    case 4:
                        if random.next() % 10 == 0 {
                            vector[position] = [.nan, .infinity, -.infinity][Int(random.next() % 3)]
                            missing = true
                        }
                    default: vector[position] = Double(Int(random.next() % 4_000) - 2_000) / 13
                    }
                }
                let checked = trees.probability(model.input(vector))
                let served = model.probability(vector)
                #expect(served.bitPattern == checked.bitPattern, "seed \(seed): served \(served), checked \(checked), vector \(vector)")
                if !missing { walked += 1 }
            }
            #expect(walked > 500)  // most rows took the packed walk
        }
    }
}
