import Foundation

/// Reads the text model LightGBM writes with `Booster.save_model("m.txt")` (4.x): a `binary` objective, numerical
/// splits only. Inner nodes are 0…num_leaves−2; a child ≥ 0 is an inner node, a child < 0 is leaf −(child + 1).
/// `decision_type` holds the categorical bit (1, refused), the default-left bit (2) and the missing type in bits 2–3
/// (0 none, 1 zero, 2 NaN). Leaf values already include the shrinkage. The file is data: parsed, checked against
/// ``ImportLimits`` and walked, never run.
public enum LightGBMText {
    /// Parses `data` into an ensemble with LightGBM's arithmetic.
    public static func parse(_ data: Data, limits: ImportLimits = ImportLimits()) throws(FraudError) -> ImportedTrees {
        func refuse(_ why: String) -> FraudError { FraudError(.invalidData, "not an importable LightGBM text model: \(why)") }
        guard data.count <= limits.maximumBytes else { throw refuse("the file has \(data.count) bytes, more than \(limits.maximumBytes)") }
        guard let text = String(data: data, encoding: .utf8) else { throw refuse("the file is not text") }
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        guard lines.first?.trimmingCharacters(in: .whitespaces) == "tree" else { throw refuse("it does not start with the line 'tree' (another format: --format xgboost-json or onnx?)") }

        // The header: key=value lines up to the first "Tree=".
        var header: [String: String] = [:]
        var index = 1
        while index < lines.count, !lines[index].hasPrefix("Tree=") {
            if let equals = lines[index].firstIndex(of: "=") {
                header[String(lines[index][..<equals])] = String(lines[index][lines[index].index(after: equals)...])
            }
            if lines[index].hasPrefix("end of trees") { break }
            index += 1
        }
        let version = header["version"] ?? ""
        if let classes = header["num_class"].flatMap(Int.init), classes != 1 {
            throw refuse("a multiclass model (num_class \(classes)) is not supported")
        }
        guard let objective = header["objective"] else { throw refuse("no objective") }
        let objectiveParts = objective.split(separator: " ")
        guard objectiveParts.first == "binary" else {
            throw refuse("the objective \(objectiveParts.first ?? "") is not supported (binary)")
        }
        var slope = 1.0
        for part in objectiveParts.dropFirst() where part.hasPrefix("sigmoid:") {
            guard let value = Double(part.dropFirst("sigmoid:".count)), value.isFinite, value > 0 else { throw refuse("bad \(part)") }
            slope = value
        }
        let names = (header["feature_names"] ?? "").split(separator: " ").map(String.init)
        guard !names.isEmpty else { throw refuse("no feature_names") }
        guard names.count <= limits.maximumFeatures else { throw refuse("\(names.count) features, more than \(limits.maximumFeatures)") }

        var result = ImportedTrees(
            library: .lightgbm, libraryVersion: version, featureNames: names, objective: objective, appliesLogistic: true,
            arithmetic: .doubleAtMost, baseMargin: 0)
        result.logisticSlope = slope

        // Each tree: "Tree=N", then key=value lines up to a blank line.
        while index < lines.count, lines[index].hasPrefix("Tree=") {
            let treeNumber = result.roots.count
            guard treeNumber < limits.maximumTrees else { throw refuse("more than \(limits.maximumTrees) trees") }
            var fields: [String: Substring] = [:]
            index += 1
            while index < lines.count, !lines[index].isEmpty, !lines[index].hasPrefix("Tree="), !lines[index].hasPrefix("end of trees") {
                if let equals = lines[index].firstIndex(of: "=") {
                    fields[String(lines[index][..<equals])] = lines[index][lines[index].index(after: equals)...]
                }
                index += 1
            }
            while index < lines.count, lines[index].isEmpty { index += 1 }
            try append(fields, tree: treeNumber, to: &result, limits: limits, refuse: refuse)
        }
        guard !result.roots.isEmpty else { throw refuse("no trees") }
        guard index < lines.count, lines[index].hasPrefix("end of trees") else { throw refuse("no 'end of trees' line (truncated?)") }
        return result
    }

    /// Checks one tree and appends it: its inner nodes first, then its leaves.
    private static func append(
        _ fields: [String: Substring], tree: Int, to result: inout ImportedTrees, limits: ImportLimits, refuse: (String) -> FraudError
    ) throws(FraudError) {
        guard let leaves = fields["num_leaves"].flatMap({ Int($0) }), leaves >= 1, leaves <= limits.maximumNodes,
            2 * leaves - 1 <= limits.maximumNodes - result.feature.count
        else {
            throw refuse("tree \(tree) declares \(fields["num_leaves"].map(String.init) ?? "no") leaves (at most \(limits.maximumNodes) nodes over all trees)")
        }
        if let categorical = fields["num_cat"].flatMap({ Int($0) }), categorical > 0 {
            throw refuse("tree \(tree) has categorical splits; categorical splits are not supported")
        }
        if fields["is_linear"] == "1" { throw refuse("tree \(tree) is a linear tree; linear trees are not supported") }
        func numbers<T>(_ name: String, count: Int, _ convert: (Substring) -> T?) throws(FraudError) -> [T] {
            guard count > 0 else { return [] }
            let parts = (fields[name] ?? "").split(separator: " ")
            guard parts.count == count else { throw refuse("tree \(tree): \(name) does not have \(count) entries") }
            var values: [T] = []
            values.reserveCapacity(count)
            for part in parts {
                guard let value = convert(part) else { throw refuse("tree \(tree): \(name) holds '\(part.prefix(20))'") }
                values.append(value)
            }
            return values
        }
        let inner = leaves - 1
        let leafValues = try numbers("leaf_value", count: leaves) { Double($0).flatMap { $0.isFinite ? $0 : nil } }
        let splits = try numbers("split_feature", count: inner) { Int($0) }
        let thresholds = try numbers("threshold", count: inner) { Double($0).flatMap { $0.isNaN ? nil : $0 } }
        let decisions = try numbers("decision_type", count: inner) { Int($0) }
        let lefts = try numbers("left_child", count: inner) { Int($0) }
        let rights = try numbers("right_child", count: inner) { Int($0) }

        // Node layout: inner node i at first + i, leaf j at first + inner + j.
        let first = result.addNodes(inner + leaves)
        for leaf in 0..<leaves { result.value[first + inner + leaf] = leafValues[leaf] }
        func target(_ child: Int, of node: Int) throws(FraudError) -> Int32 {
            if child >= 0 {
                guard child < inner else { throw refuse("tree \(tree): node \(node) points to inner node \(child) of \(inner)") }
                return Int32(first + child)
            }
            let leaf = -(child + 1)
            guard leaf < leaves else { throw refuse("tree \(tree): node \(node) points to leaf \(leaf) of \(leaves)") }
            return Int32(first + inner + leaf)
        }
        for node in 0..<inner {
            guard decisions[node] & 1 == 0 else { throw refuse("tree \(tree) has a categorical split; categorical splits are not supported") }
            guard (0..<result.featureNames.count).contains(splits[node]) else {
                throw refuse("tree \(tree): node \(node) splits on feature \(splits[node]) of \(result.featureNames.count)")
            }
            let at = first + node
            result.feature[at] = Int32(splits[node])
            result.threshold[at] = thresholds[node]
            result.defaultLeft[at] = decisions[node] & 2 != 0
            switch (decisions[node] >> 2) & 3 {
            case 0: result.missing[at] = .none
            case 1: result.missing[at] = .zero
            case 2: result.missing[at] = .nan
            default: throw refuse("tree \(tree): node \(node) has an unknown missing type")
            }
            result.left[at] = try target(lefts[node], of: node)
            result.right[at] = try target(rights[node], of: node)
        }
        // Every node reachable from the root once, no deeper than the limit.
        var visited = [Bool](repeating: false, count: inner + leaves)
        var stack = [(node: first, depth: 0)]
        while let (node, depth) = stack.popLast() {
            guard !visited[node - first] else { throw refuse("tree \(tree): node \(node - first) is reached twice (a cycle or a shared child)") }
            visited[node - first] = true
            guard depth <= limits.maximumDepth else { throw refuse("tree \(tree) is deeper than \(limits.maximumDepth)") }
            if result.feature[node] >= 0 {
                stack.append((Int(result.left[node]), depth + 1))
                stack.append((Int(result.right[node]), depth + 1))
            }
        }
        result.roots.append(Int32(first))
    }
}
