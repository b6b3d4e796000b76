import FraudCore
import Foundation

/// Inference of imported models of a realistic size (issue 24): 500 complete trees of depth 8 written as an XGBoost
/// JSON model and as a LightGBM text model, and a 300-tree forest of depth 10 as an ONNX file, parsed by the importers
/// and timed over random rows of the served features: the decision path's packed walk, the checked walk it falls back
/// to for rows with a missing value, and FraudStream's own trees of the same shape.
struct ImportBenchmark {
    var trees = 500
    var depth = 8
    var forestTrees = 300
    var forestDepth = 10
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
        let forestSplits = (0..<forestTrees).map { _ in (0..<((1 << forestDepth) - 1)).map { _ in (Int(generator.next() % UInt64(features)), Float(generator.uniform(0, 100))) } }
        let forestLeaves = (0..<forestTrees).map { _ in (0..<(1 << forestDepth)).map { _ in Float(generator.uniform(0, 1)) } }
        let forest = try ONNXTrees.parse(
            try ONNXTrees.forest(
                trees: forestTrees, depth: forestDepth, featureCount: features, split: { forestSplits[$0][$1] }, leaf: { forestLeaves[$0][$1] }),
            featureNames: names)
        let note = "median of 7 passes over \(rows) rows"
        for (name, trees, shape) in [
            ("XGBoost JSON", xgboost, "\(trees) trees of depth \(depth)"), ("LightGBM text", lightgbm, "\(trees) trees of depth \(depth)"),
            ("ONNX forest", forest, "\(forestTrees) trees of depth \(forestDepth)"),
        ] {
            let model = try ImportedModel(format: .onnx, sourceFile: name, sourceSHA256: "", producer: "", trees: trees, parity: nil)
            let packed = DrainBenchmark.inferenceMicroseconds(rows: sample) { model.probability($0) }
            let checked = DrainBenchmark.inferenceMicroseconds(rows: sample) { trees.probability(model.input($0)) }
            table.add("imported \(name), \(shape)", String(format: "%.2f", packed), "µs/tx", "\(note); decision path (packed walk)\(trees.treeCount == self.trees ? "; target 5 µs" : "")")
            table.add("  same, checked walk (rows with NaN)", String(format: "%.2f", checked), "µs/tx", String(format: "%.1f× the packed walk", checked / packed))
        }
        // FraudStream's own trees, the same 500 of depth 8.
        var own = ownEnsemble(splits: splits, thresholds: thresholds, leaves: leaves)
        try own.prepareForInference()  // throws unless the packed layout is the one timed
        let ownMicros = DrainBenchmark.inferenceMicroseconds(rows: sample) { own.probability($0) }
        table.add("FraudStream's own trees, \(trees) of depth \(depth)", String(format: "%.2f", ownMicros), "µs/tx", "\(note); PackedForest")
    }

    /// The same trees as FraudStream's own ensemble (`x <= threshold` goes left).
    private func ownEnsemble(splits: [[Int]], thresholds: [[Double]], leaves: [[Double]]) -> TreeEnsemble {
        let inner = splits[0].count
        let count = 2 * inner + 1
        var roots: [Int32] = [], feature: [Int32] = [], threshold: [Double] = [], left: [Int32] = [], right: [Int32] = [], value: [Double] = []
        for tree in splits.indices {
            let offset = tree * count
            roots.append(Int32(offset))
            // Pre-order numbering, as the trainer writes it: children after their parent.
            var order: [Int] = []
            var stack = [0]
            while let node = stack.popLast() {
                order.append(node)
                if node < inner { stack.append(2 * node + 2); stack.append(2 * node + 1) }
            }
            var position = [Int](repeating: 0, count: count)
            for (at, node) in order.enumerated() { position[node] = offset + at }
            for node in order {
                if node < inner {
                    feature.append(Int32(splits[tree][node]))
                    threshold.append(thresholds[tree][node])
                    left.append(Int32(position[2 * node + 1]))
                    right.append(Int32(position[2 * node + 2]))
                    value.append(0)
                } else {
                    feature.append(-1)
                    threshold.append(0)
                    left.append(-1)
                    right.append(-1)
                    value.append(leaves[tree][node - inner])
                }
            }
        }
        return TreeEnsemble(
            featureNames: names, featureCount: names.count, baseMargin: 0, treeRoots: roots, nodeFeature: feature, nodeThreshold: threshold,
            nodeLeft: left, nodeRight: right, nodeValue: value)
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
