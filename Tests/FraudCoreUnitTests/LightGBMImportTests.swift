import Foundation
import Testing

@testable import FraudCore

/// The LightGBM text importer on small hand-written models (no Python): predictions checked by hand, LightGBM's
/// arithmetic (`x <= threshold` in double, the missing types of `decision_type`), and hostile files refused.
@Suite("LightGBM text model import (no server)")
struct LightGBMImportTests {
    /// Two trees over `amount` and `velocity_1h`. Tree 0: node 0 `amount <= 100.5` (missing type NaN, default right:
    /// decision_type 8), node 1 `velocity_1h <= 3` (missing type NaN, default left: 10); tree 1: `amount <= 0`
    /// with missing type Zero, default left (decision_type 6), so zero and NaN go left.
    static func model(objective: String = "binary sigmoid:1", tree0: String? = nil, numClass: String = "1", end: Bool = true) -> Data {
        let first = tree0 ?? """
            Tree=0
            num_leaves=3
            num_cat=0
            split_feature=0 1
            split_gain=10 5
            threshold=100.5 3
            decision_type=8 10
            left_child=-1 -2
            right_child=1 -3
            leaf_value=0.2 -0.1 0.4
            leaf_weight=1 1 1
            leaf_count=10 10 10
            internal_value=0 0
            internal_weight=0 0
            internal_count=30 20
            is_linear=0
            shrinkage=1
            """
        return Data("""
            tree
            version=v4
            num_class=\(numClass)
            num_tree_per_iteration=1
            label_index=0
            max_feature_idx=1
            objective=\(objective)
            feature_names=amount velocity_1h
            feature_infos=[0:1000] [0:10]
            tree_sizes=400 300

            \(first)


            Tree=1
            num_leaves=2
            num_cat=0
            split_feature=0
            split_gain=1
            threshold=0
            decision_type=6
            left_child=-1
            right_child=-2
            leaf_value=0.01 0.05
            leaf_weight=1 1
            leaf_count=5 25
            internal_value=0
            internal_weight=0
            internal_count=30
            is_linear=0
            shrinkage=0.1


            \(end ? "end of trees" : "")

            feature_importances:
            amount=2
            """.utf8)
    }

    static func logistic(_ margin: Double) -> Double { 1 / (1 + exp(-margin)) }

    @Test func predictionsMatchTheHandWalkedTrees() throws {
        let trees = try LightGBMText.parse(Self.model())
        #expect(trees.library == .lightgbm && trees.libraryVersion == "v4" && trees.featureNames == ["amount", "velocity_1h"])
        #expect(trees.roots.count == 2)
        let cases: [([Double], Double)] = [
            ([50, 1], 0.2 + 0.05),  // 50 <= 100.5: leaf 0; tree 1: 50 > 0
            ([100.5, 1], 0.2 + 0.05),  // equal to the threshold goes left (<=)
            ([200, 2], -0.1 + 0.05),  // right, 2 <= 3: leaf 1
            ([200, 5], 0.4 + 0.05),  // right, 5 > 3: leaf 2
            ([200, .nan], -0.1 + 0.05),  // velocity missing: node 1 defaults left
            ([.nan, 1], -0.1 + 0.01),  // amount missing: node 0 defaults right, 1 <= 3; tree 1 (missing type zero): left
            ([0, 5], 0.2 + 0.01),  // zero: node 0 compares (missing type NaN), tree 1 sends zero to the default (left)
        ]
        for (row, margin) in cases {
            #expect(abs(trees.margin(row) - margin) < 1e-12, "\(row)")
            #expect(abs(trees.probability(row) - Self.logistic(margin)) < 1e-12, "\(row)")
        }
        // The sigmoid parameter scales the margin.
        let steep = try LightGBMText.parse(Self.model(objective: "binary sigmoid:2"))
        #expect(abs(steep.probability([50, 1]) - Self.logistic(2 * 0.25)) < 1e-12)
    }

    @Test func missingTypeNoneComparesNaNAsZero() throws {
        let tree = """
            Tree=0
            num_leaves=2
            num_cat=0
            split_feature=1
            threshold=0.5
            decision_type=2
            left_child=-1
            right_child=-2
            leaf_value=-1 1
            """
        let trees = try LightGBMText.parse(Self.model(tree0: tree))
        // decision_type 2: default left but missing type None, so NaN is compared as 0 (0 <= 0.5: left) and the
        // default never applies.
        #expect(abs(trees.margin([50, .nan]) - (-1 + 0.05)) < 1e-12)
        #expect(abs(trees.margin([50, 0.7]) - (1 + 0.05)) < 1e-12)
    }

    @Test func unsupportedAndHostileFilesAreRefusedInOneLine() {
        let cases: [(Data, String)] = [
            (Data("{\"learner\": {}}".utf8), "does not start with the line 'tree'"),
            (Self.model(end: false), "no 'end of trees'"),
            (Self.model().prefix(150), "no trees"),
            (Self.model().prefix(400), "truncated?"),
            (Self.model(objective: "multiclass num_class:3"), "objective multiclass is not supported"),
            (Self.model(numClass: "3"), "multiclass"),
            (Self.model(tree0: "Tree=0\nnum_leaves=2\nnum_cat=1\nsplit_feature=0\nthreshold=0\ndecision_type=1\nleft_child=-1\nright_child=-2\nleaf_value=1 2"), "categorical"),
            (Self.model(tree0: "Tree=0\nnum_leaves=1000000000\nleaf_value=1"), "declares 1000000000 leaves"),
            (Self.model(tree0: "Tree=0\nnum_leaves=3\nsplit_feature=0 0\nthreshold=1 2\ndecision_type=0 0\nleft_child=1 0\nright_child=-1 -2\nleaf_value=1 2 3"), "reached twice"),
            (Self.model(tree0: "Tree=0\nnum_leaves=2\nsplit_feature=0\nthreshold=1\ndecision_type=0\nleft_child=-1\nright_child=-9\nleaf_value=1 2"), "points to leaf 8 of 2"),
            (Self.model(tree0: "Tree=0\nnum_leaves=2\nsplit_feature=7\nthreshold=1\ndecision_type=0\nleft_child=-1\nright_child=-2\nleaf_value=1 2"), "splits on feature 7 of 2"),
            (Self.model(tree0: "Tree=0\nnum_leaves=2\nsplit_feature=0\nthreshold=1\ndecision_type=0\nleft_child=-1\nright_child=-2\nleaf_value=1 inf"), "leaf_value holds 'inf'"),
        ]
        ModelImportChecks.expectRefused(cases) { (data) throws(FraudError) in try LightGBMText.parse(data) }
        // A chain 300 deep: inner node i goes left to node i + 1, right to leaf i.
        let inner = 300
        let chain = "Tree=0\nnum_leaves=\(inner + 1)\nsplit_feature=\(Array(repeating: "0", count: inner).joined(separator: " "))\n"
            + "threshold=\(Array(repeating: "1", count: inner).joined(separator: " "))\n"
            + "decision_type=\(Array(repeating: "0", count: inner).joined(separator: " "))\n"
            + "left_child=\(((1..<inner).map(String.init) + ["-\(inner + 1)"]).joined(separator: " "))\n"
            + "right_child=\((0..<inner).map { String(-($0 + 1)) }.joined(separator: " "))\n"
            + "leaf_value=\(Array(repeating: "0.1", count: inner + 1).joined(separator: " "))"
        ModelImportChecks.expectRefused([(Self.model(tree0: chain), "deeper than 256")]) { (data) throws(FraudError) in try LightGBMText.parse(data) }
    }

    @Test func randomBytesNeverCrashTheParser() {
        ModelImportChecks.fuzz(valid: Self.model(), prefix: Array("tree\n".utf8)) { (data) throws(FraudError) in try LightGBMText.parse(data) }
    }
}
