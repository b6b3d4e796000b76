import FraudCore
import Foundation

/// Inference of imported models of a realistic size (issue 24): 500 complete trees of depth 8 written as an XGBoost
/// JSON model and as a LightGBM text model, parsed by the importers and timed over random rows of the served features.
struct ImportBenchmark {
    var trees = 500
    var depth = 8
    var rows = 20_000

    func run(into table: inout BenchTable) throws {
        var generator = SeededRandom(seed: 24)
        let features = FeatureSchema.count
        let inner = (1 << depth) - 1
        // One layout for every tree: node i's children are 2i + 1 and 2i + 2; the last 2^depth nodes are leaves.
        var splits: [[Int]] = []
        var thresholds: [[Double]] = []
        var leaves: [[Double]] = []
        for _ in 0..<trees {
            splits.append((0..<inner).map { _ in Int(generator.next() % UInt64(features)) })
            thresholds.append((0..<inner).map { _ in Double(Float(generator.uniform(0, 100))) })
            leaves.append((0...inner).map { _ in generator.uniform(-0.05, 0.05) })
        }
        let xgboost = try XGBoostJSON.parse(Data(xgboostJSON(splits: splits, thresholds: thresholds, leaves: leaves).utf8))
        let lightgbm = try LightGBMText.parse(Data(lightgbmText(splits: splits, thresholds: thresholds, leaves: leaves).utf8))
        let sample = (0..<rows).map { _ in (0..<features).map { _ in generator.uniform(0, 100) } }
        for (name, model) in [("XGBoost JSON", xgboost), ("LightGBM text", lightgbm)] {
            let index = try model.featureIndex()
            let micros = DrainBenchmark.inferenceMicroseconds(rows: sample) { model.probability(model.input(from: $0, index: index)) }
            table.add(
                "imported \(name), \(trees) trees of depth \(depth)", String(format: "%.2f", micros), "µs/tx",
                "median of 7 passes over \(rows) rows; target 5 µs (not flattened yet)")
        }
    }

    private var names: [String] { FeatureSchema.names }

    private func xgboostJSON(splits: [[Int]], thresholds: [[Double]], leaves: [[Double]]) -> String {
        let inner = splits[0].count
        let count = 2 * inner + 1
        let lefts = (0..<count).map { $0 < inner ? String(2 * $0 + 1) : "-1" }.joined(separator: ",")
        let rights = (0..<count).map { $0 < inner ? String(2 * $0 + 2) : "-1" }.joined(separator: ",")
        let zeros = Array(repeating: "0", count: count).joined(separator: ",")
        let trees = splits.indices.map { tree in
            let indices = (splits[tree] + Array(repeating: 0, count: inner + 1)).map(String.init).joined(separator: ",")
            let conditions = (thresholds[tree] + leaves[tree]).map { "\(Float($0))" }.joined(separator: ",")
            return """
                {"tree_param": {"num_nodes": "\(count)"}, "left_children": [\(lefts)], "right_children": [\(rights)],
                 "split_indices": [\(indices)], "split_conditions": [\(conditions)], "default_left": [\(zeros)], "split_type": [\(zeros)]}
                """
        }
        return """
            {"learner": {"feature_names": [\(names.map { "\"\($0)\"" }.joined(separator: ","))],
              "gradient_booster": {"name": "gbtree", "model": {"trees": [\(trees.joined(separator: ","))]}},
              "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "\(names.count)"},
              "objective": {"name": "binary:logistic"}}, "version": [2, 1, 0]}
            """
    }

    private func lightgbmText(splits: [[Int]], thresholds: [[Double]], leaves: [[Double]]) -> String {
        let inner = splits[0].count
        // Inner node i's child 2i + 1 (or 2i + 2) is inner node 2i + 1, or leaf 2i + 1 − inner, written −(leaf + 1).
        func child(_ node: Int) -> String { node < inner ? String(node) : String(-(node - inner + 1)) }
        var text = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nobjective=binary sigmoid:1\nfeature_names=\(names.joined(separator: " "))\n\n"
        for tree in splits.indices {
            text += "Tree=\(tree)\nnum_leaves=\(inner + 1)\nnum_cat=0\n"
            text += "split_feature=\(splits[tree].map(String.init).joined(separator: " "))\n"
            text += "threshold=\(thresholds[tree].map { "\($0)" }.joined(separator: " "))\n"
            text += "decision_type=\(Array(repeating: "10", count: inner).joined(separator: " "))\n"
            text += "left_child=\((0..<inner).map { child(2 * $0 + 1) }.joined(separator: " "))\n"
            text += "right_child=\((0..<inner).map { child(2 * $0 + 2) }.joined(separator: " "))\n"
            text += "leaf_value=\(leaves[tree].map { "\($0)" }.joined(separator: " "))\n\n"
        }
        return text + "end of trees\n"
    }
}
