import Foundation
import Testing

@testable import FraudCore

/// The XGBoost JSON importer on small hand-written models (no Python): predictions checked by hand, XGBoost's
/// arithmetic (float32 thresholds, strict `<`, missing values to the default side), and hostile files refused.
@Suite("XGBoost JSON model import (no server)")
struct XGBoostImportTests {
    /// Two trees over `amount` and `velocity_1h`; base_score 0.5 (margin 0).
    static func model(
        objective: String = "binary:logistic", baseScore: String = "5E-1", numClass: String = "0", tree0: String? = nil, extraLearner: String = ""
    ) -> Data {
        let first = tree0 ?? """
            {"id": 0, "tree_param": {"num_nodes": "5", "num_feature": "2", "size_leaf_vector": "1"},
             "left_children": [1, -1, 3, -1, -1], "right_children": [2, -1, 4, -1, -1], "split_indices": [0, 0, 1, 0, 0],
             "split_conditions": [100.5, 0.2, 3.0, -0.1, 0.4], "default_left": [0, 0, 1, 0, 0], "split_type": [0, 0, 0, 0, 0],
             "categories": [], "base_weights": [0, 0.2, 0, -0.1, 0.4]}
            """
        return Data("""
            {"learner": {"attributes": {}, "feature_names": ["amount", "velocity_1h"], "feature_types": ["float", "float"], \(extraLearner)
              "gradient_booster": {"name": "gbtree", "model": {"gbtree_model_param": {"num_trees": "2"}, "tree_info": [0, 0], "trees": [
                \(first),
                {"id": 1, "tree_param": {"num_nodes": "1", "num_feature": "2", "size_leaf_vector": "1"},
                 "left_children": [-1], "right_children": [-1], "split_indices": [0], "split_conditions": [0.05], "default_left": [0],
                 "split_type": [0], "categories": []}
              ]}},
              "learner_model_param": {"base_score": "\(baseScore)", "num_class": "\(numClass)", "num_feature": "2", "num_target": "1"},
              "objective": {"name": "\(objective)", "reg_loss_param": {"scale_pos_weight": "1"}}},
             "version": [2, 1, 3]}
            """.utf8)
    }

    static func logistic(_ margin: Double) -> Double { 1 / (1 + exp(-margin)) }

    @Test func predictionsMatchTheHandWalkedTrees() throws {
        let trees = try XGBoostJSON.parse(Self.model())
        #expect(trees.library == .xgboost && trees.libraryVersion == "2.1.3" && trees.featureNames == ["amount", "velocity_1h"])
        #expect(trees.roots.count == 2 && trees.baseMargin == 0)
        // (amount, velocity_1h) → leaves walked by hand.
        let cases: [([Double], Double)] = [
            ([50, 1], 0.2 + 0.05),  // 50 < 100.5: left leaf 0.2
            ([200, 5], 0.4 + 0.05),  // right, 5 < 3 is false: right leaf 0.4
            ([200, .nan], -0.1 + 0.05),  // velocity missing: node 2 defaults left
            ([.nan, 1], -0.1 + 0.05),  // amount missing: node 0 defaults right, then 1 < 3
            ([100.5, 10], 0.4 + 0.05),  // equal to the threshold: not below it, so right (XGBoost's strict <)
        ]
        #expect(trees.margin([50]).isNaN)  // a row shorter than the model's features is never read past its end
        for (row, margin) in cases {
            #expect(abs(trees.margin(row) - margin) < 1e-6, "\(row)")
            #expect(abs(trees.probability(row) - Self.logistic(margin)) < 1e-6, "\(row)")
        }
    }

    @Test func thresholdsCompareInFloat32() throws {
        // One split at 0.1: XGBoost stores 0.1 as a float32 (0.100000001490116…) and rounds the input to float32 too.
        let tree = """
            {"tree_param": {"num_nodes": "3"}, "left_children": [1, -1, -1], "right_children": [2, -1, -1], "split_indices": [0, 0, 0],
             "split_conditions": [0.1, -1.0, 1.0], "default_left": [0, 0, 0], "split_type": [0, 0, 0], "categories": []}
            """
        let trees = try XGBoostJSON.parse(Self.model(tree0: tree))
        func side(_ x: Double) -> Double { trees.margin([x, 0]) - 0.05 }
        #expect(abs(side(0.1) - 1) < 1e-6)  // 0.1 rounds to the threshold itself: right
        // Below the float32 threshold as a double, but nearer to it than to the float below: rounds up, goes right,
        // where a comparison in double would go left.
        #expect(0.100000001 < Double(Float(0.1)))
        #expect(abs(side(0.100000001) - 1) < 1e-6)
        #expect(abs(side(0.0999999) + 1) < 1e-6)
    }

    @Test func baseScoreAndObjectives() throws {
        // 3.x writes base_score as a vector; a logistic base of 0.2 starts at logit(0.2).
        let shifted = try XGBoostJSON.parse(Self.model(baseScore: "[2E-1]"))
        #expect(abs(shifted.baseMargin - log(0.2 / 0.8)) < 1e-6)
        let raw = try XGBoostJSON.parse(Self.model(objective: "binary:logitraw", baseScore: "1E-1"))
        #expect(!raw.appliesLogistic && raw.baseMargin == Double(Float(0.1)))
        #expect(abs(raw.probability([50, 1]) - (0.1 + 0.2 + 0.05)) < 1e-6)
    }

    @Test func unsupportedAndHostileFilesAreRefusedInOneLine() throws {
        // A chain: inner node i has node i + 1 on its left and a leaf on its right, 300 levels deep.
        let deep = (0..<300).map { $0 }
        let chain = """
            {"tree_param": {"num_nodes": "601"},
             "left_children": [\((deep.map { String($0 + 1) } + Array(repeating: "-1", count: 301)).joined(separator: ","))],
             "right_children": [\((deep.map { String(301 + $0) } + Array(repeating: "-1", count: 301)).joined(separator: ","))],
             "split_indices": [\(Array(repeating: "0", count: 601).joined(separator: ","))],
             "split_conditions": [\(Array(repeating: "1.0", count: 601).joined(separator: ","))],
             "default_left": [\(Array(repeating: "0", count: 601).joined(separator: ","))]}
            """
        let cases: [(Data, String)] = [
            (Self.model().prefix(300), "not valid JSON"),
            (Data("tree\nversion=v4\nnum_class=1\n".utf8), "not valid JSON"),
            (Data("{\"booster\": 1}".utf8), "no \"learner\""),
            (Self.model(objective: "multi:softprob"), "objective multi:softprob is not supported"),
            (Self.model(numClass: "3"), "multiclass"),
            (Self.model(tree0: """
                {"tree_param": {"num_nodes": "3"}, "left_children": [1, 0, -1], "right_children": [2, 2, -1], "split_indices": [0, 0, 0],
                 "split_conditions": [1, 1, 1], "default_left": [0, 0, 0]}
                """), "reached twice"),
            (Self.model(tree0: """
                {"tree_param": {"num_nodes": "1000000000"}, "left_children": [-1], "right_children": [-1], "split_indices": [0],
                 "split_conditions": [1], "default_left": [0]}
                """), "declares 1000000000 nodes"),
            (Self.model(tree0: """
                {"tree_param": {"num_nodes": "3"}, "left_children": [1, -1, -1], "right_children": [2, -1, -1], "split_indices": [0, 0, 0],
                 "split_conditions": [1, 1, 1], "default_left": [0, 0, 0], "split_type": [1, 0, 0], "categories": [3]}
                """), "categorical"),
            (Self.model(tree0: """
                {"tree_param": {"num_nodes": "3"}, "left_children": [1, -1, -1], "right_children": [7, -1, -1], "split_indices": [0, 0, 0],
                 "split_conditions": [1, 1, 1], "default_left": [0, 0, 0]}
                """), "points outside the tree"),
            (Self.model(tree0: chain), "deeper than 256"),
        ]
        ModelImportChecks.expectRefused(cases) { (data) throws(FraudError) in try XGBoostJSON.parse(data) }
    }

    @Test func randomBytesNeverCrashTheParser() {
        ModelImportChecks.fuzz(valid: Self.model()) { (data) throws(FraudError) in try XGBoostJSON.parse(data) }
    }
}

/// Feature names, not positions: a model reading any subset of the served features, in its own order.
@Suite("Imported models' feature names (no server)")
struct ImportedFeatureNameTests {
    @Test func aModelsFeaturesMapByNameAndUnknownNamesAreListed() throws {
        var trees = try XGBoostJSON.parse(XGBoostImportTests.model())
        let served = FeatureSchema.names
        // Two served features, in the model's own (reversed) order.
        trees.featureNames = [served[3], served[0]]
        let index = try trees.featureIndex()
        #expect(index == [3, 0])
        let vector = (0..<served.count).map { Double($0) * 10 }
        #expect(trees.input(from: vector, index: index) == [30, 0])
        trees.featureNames = [served[1], "card_bin", "merchant_risk"]
        do {
            _ = try trees.featureIndex()
            Issue.record("accepted features FraudStream does not compute")
        } catch {
            #expect(error.message.hasPrefix("the model reads features FraudStream does not compute: card_bin, merchant_risk; it computes \(served[0]), "))
        }
    }
}

/// Parity at import: an export-features matrix scored here against the library's own predictions.
@Suite("Imported models' parity check (no server)")
struct ImportParityTests {
    /// A matrix of three rows: only `amount` and `tx_count_1h` are non-zero.
    static func matrix() throws -> TrainingHistory {
        let names = FeatureSchema.names
        func row(_ id: String, amount: Double, velocity: Double) -> String {
            let values = names.map { $0 == "amount" ? String(amount) : $0 == "tx_count_1h" ? String(velocity) : "0" }
            return ([id, "1790812800000"] + values + ["0", ""]).joined(separator: ",")
        }
        let text = [TrainingMatrixCSV.header, row("t1", amount: 50, velocity: 1), row("t2", amount: 200, velocity: 5), row("t3", amount: 200, velocity: 2)]
            .joined(separator: "\n")
        return try TrainingMatrixCSV.read(text, named: "rows.csv")
    }

    @Test func parityPassesOnTheLibrarysPredictionsAndNamesTheWorstRowsOtherwise() throws {
        var trees = try XGBoostJSON.parse(XGBoostImportTests.model())
        trees.featureNames = ["amount", "tx_count_1h"]
        func logistic(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
        // The walked leaves: t1 left 0.2, t2 right then right 0.4, t3 right then left -0.1; each plus 0.05.
        let expected = try ImportParity.readExpected(
            "transaction_id,probability\nt1,\(logistic(0.25))\nt2,\(logistic(0.45))\nt3,\(logistic(-0.05))\n", named: "pred.csv")
        let good = try ImportParity.check(trees, rows: try Self.matrix(), expected: expected)
        #expect(good.compared == 3 && good.passes && good.largestDifference < 1e-7)

        var off = expected
        off["t2"] = logistic(0.45) + 1e-5
        let bad = try ImportParity.check(trees, rows: try Self.matrix(), expected: off)
        #expect(!bad.passes && bad.worst.first?.transactionId == "t2")

        #expect(throws: FraudError.self) { try ImportParity.check(trees, rows: try Self.matrix(), expected: ["t1": 0.5]) }
        do {
            _ = try ImportParity.readExpected("transaction_id,probability\nt1,0.5\nt2,0.1\nt1,0.6\n", named: "pred.csv")
            Issue.record("a transaction listed twice was accepted")
        } catch {
            #expect(error.message == "pred.csv: transaction 't1' is listed twice, on lines 2 and 4", "\(error.message)")
        }
        #expect(throws: FraudError.self) { try ImportParity.readExpected("id,p\nt1,0.5\n", named: "pred.csv") }
        #expect(throws: FraudError.self) { try ImportParity.readExpected("transaction_id,probability\nt1,nan\n", named: "pred.csv") }
    }
}
