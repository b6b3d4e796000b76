import Foundation

/// Reads the JSON model XGBoost writes with `Booster.save_model("m.json")` (2.x and 3.x): a `gbtree` booster for
/// `binary:logistic` or `binary:logitraw`, numerical splits only. The file is data: it is parsed, checked against
/// ``ImportLimits`` and walked, never run. Anything else is refused in one line that names it.
public enum XGBoostJSON {
    /// Parses `data` into an ensemble with XGBoost's arithmetic.
    public static func parse(_ data: Data, limits: ImportLimits = ImportLimits()) throws(FraudError) -> ImportedTrees {
        func refuse(_ why: String) -> FraudError { FraudError(.invalidData, "not an importable XGBoost JSON model: \(why)") }
        guard data.count <= limits.maximumBytes else { throw refuse("the file has \(data.count) bytes, more than \(limits.maximumBytes)") }
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw refuse("the JSON is not an object") }
            root = object
        } catch let error as FraudError {
            throw error
        } catch {
            throw refuse("the file is not valid JSON (truncated? another format: --format lightgbm-text or onnx? a UBJSON model: save it with a .json name)")
        }
        guard let learner = root["learner"] as? [String: Any] else { throw refuse("no \"learner\" object (is it an XGBoost model?)") }
        let version = (root["version"] as? [Any])?.compactMap { ($0 as? NSNumber)?.stringValue }.joined(separator: ".") ?? ""

        guard let objective = (learner["objective"] as? [String: Any])?["name"] as? String else { throw refuse("no objective") }
        guard ["binary:logistic", "binary:logitraw"].contains(objective) else {
            throw refuse("the objective \(objective) is not supported (binary:logistic or binary:logitraw)")
        }
        let parameters = learner["learner_model_param"] as? [String: Any] ?? [:]
        if let classes = (parameters["num_class"] as? String).flatMap(Int.init), classes > 1 {
            throw refuse("a multiclass model (num_class \(classes)) is not supported")
        }
        guard let baseText = parameters["base_score"] as? String else { throw refuse("no base_score") }
        // 3.x writes a vector, "[5E-1]"; 2.x a scalar, "5E-1".
        let baseParts = baseText.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).split(separator: ",")
        guard baseParts.count == 1, let baseScore = Float(baseParts[0].trimmingCharacters(in: .whitespaces)), baseScore.isFinite else {
            throw refuse("base_score \(baseText.prefix(40)) is not one number")
        }
        let baseMargin: Float
        if objective == "binary:logistic" {
            guard baseScore > 0, baseScore < 1 else { throw refuse("base_score \(baseScore) is not a probability") }
            baseMargin = -logf(1 / baseScore - 1)
        } else {
            baseMargin = baseScore
        }

        guard let booster = learner["gradient_booster"] as? [String: Any], let boosterName = booster["name"] as? String else {
            throw refuse("no gradient_booster")
        }
        guard boosterName == "gbtree" else { throw refuse("the booster \(boosterName) is not supported (gbtree)") }
        guard let model = booster["model"] as? [String: Any], let trees = model["trees"] as? [[String: Any]] else {
            throw refuse("no trees")
        }
        guard trees.count <= limits.maximumTrees else { throw refuse("\(trees.count) trees, more than \(limits.maximumTrees)") }
        if let info = model["tree_info"] as? [NSNumber], info.contains(where: { $0.intValue != 0 }) {
            throw refuse("trees for more than one class (tree_info) are not supported")
        }

        let declaredFeatures = (parameters["num_feature"] as? String).flatMap(Int.init) ?? 0
        var names = (learner["feature_names"] as? [String]) ?? []
        if names.isEmpty { names = (0..<max(0, declaredFeatures)).map { "f\($0)" } }
        guard names.count <= limits.maximumFeatures else { throw refuse("\(names.count) features, more than \(limits.maximumFeatures)") }
        if let types = learner["feature_types"] as? [String], let categorical = types.firstIndex(of: "c") {
            throw refuse("feature \(names.indices.contains(categorical) ? names[categorical] : String(categorical)) is categorical; categorical splits are not supported")
        }

        var result = ImportedTrees(
            library: .xgboost, libraryVersion: version, featureNames: names, objective: objective,
            appliesLogistic: objective == "binary:logistic", arithmetic: .float32Below, baseMargin: Double(baseMargin))
        for (index, tree) in trees.enumerated() {
            try append(tree, index: index, to: &result, limits: limits, refuse: refuse)
        }
        return result
    }

    /// Checks one tree (sizes, child indices, a single path to every node, depth) and appends it.
    private static func append(
        _ tree: [String: Any], index: Int, to result: inout ImportedTrees, limits: ImportLimits, refuse: (String) -> FraudError
    ) throws(FraudError) {
        let declared = ((tree["tree_param"] as? [String: Any])?["num_nodes"] as? String).flatMap(Int.init) ?? -1
        guard declared >= 1, declared <= limits.maximumNodes - result.feature.count else {
            throw refuse("tree \(index) declares \(declared) nodes (at most \(limits.maximumNodes) over all trees)")
        }
        func integers(_ name: String) throws(FraudError) -> [Int] {
            guard let values = tree[name] as? [NSNumber], values.count == declared else { throw refuse("tree \(index): \(name) does not have \(declared) entries") }
            return values.map(\.intValue)
        }
        let lefts = try integers("left_children")
        let rights = try integers("right_children")
        let splits = try integers("split_indices")
        let defaults = try integers("default_left")
        guard let conditions = tree["split_conditions"] as? [NSNumber], conditions.count == declared else {
            throw refuse("tree \(index): split_conditions does not have \(declared) entries")
        }
        if let types = tree["split_type"] as? [NSNumber], types.contains(where: { $0.intValue != 0 }) {
            throw refuse("tree \(index) has a categorical split; categorical splits are not supported")
        }
        if let categories = tree["categories"] as? [Any], !categories.isEmpty {
            throw refuse("tree \(index) has categorical splits; categorical splits are not supported")
        }
        // Every node reachable from the root once (no cycle, no shared child), no deeper than the limit.
        var visited = [Bool](repeating: false, count: declared)
        var stack = [(node: 0, depth: 0)]
        let offset = result.addNodes(declared)
        while let (node, depth) = stack.popLast() {
            guard !visited[node] else { throw refuse("tree \(index): node \(node) is reached twice (a cycle or a shared child)") }
            visited[node] = true
            guard depth <= limits.maximumDepth else { throw refuse("tree \(index) is deeper than \(limits.maximumDepth)") }
            let condition = conditions[node].floatValue
            guard condition.isFinite else { throw refuse("tree \(index): node \(node) has a non-finite value") }
            let at = offset + node
            if lefts[node] == -1 {
                guard rights[node] == -1 else { throw refuse("tree \(index): node \(node) has one child") }
                result.value[at] = Double(condition)
                continue
            }
            guard (0..<declared).contains(lefts[node]), (0..<declared).contains(rights[node]) else {
                throw refuse("tree \(index): node \(node) points outside the tree")
            }
            guard (0..<result.featureNames.count).contains(splits[node]) else {
                throw refuse("tree \(index): node \(node) splits on feature \(splits[node]) of \(result.featureNames.count)")
            }
            result.feature[at] = Int32(splits[node])
            result.threshold[at] = Double(condition)
            result.left[at] = Int32(offset + lefts[node])
            result.right[at] = Int32(offset + rights[node])
            result.defaultLeft[at] = defaults[node] != 0
            stack.append((lefts[node], depth + 1))
            stack.append((rights[node], depth + 1))
        }
        result.roots.append(Int32(offset))
    }
}
