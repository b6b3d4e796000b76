import Foundation
import SwiftProtobuf

/// Reads an ONNX model holding one `ai.onnx.ml` tree ensemble (`TreeEnsembleClassifier` or `TreeEnsembleRegressor`),
/// as skl2onnx writes it for scikit-learn's forests and gradient boosting and onnxmltools for XGBoost and LightGBM.
///
/// The file is protobuf data, parsed with swift-protobuf into the few messages of `Fixtures/proto/onnx_subset.proto`
/// and never run. The graph may hold, besides the ensemble, only nodes that pass its input or output through (`Cast`,
/// `Identity`, `ZipMap`, `ArrayFeatureExtractor`, `Flatten`, `Reshape`, a `Mul` by 1 or an `Add` of 0) and a `Sigmoid` on
/// a regressor's score;
/// anything else is refused by name. Comparisons follow the input tensor's type: a `float` input is compared and
/// summed in single precision (as onnxruntime does), a `double` one in double.
///
/// The probability of fraud is the second class's column: for a classifier with two class columns the column of
/// class 1 (after `LOGISTIC`, or `SOFTMAX` over both); with one score column (class 0 only, as converters write for
/// gradient boosting) that score, after `LOGISTIC` when asked; for a regressor its one target.
public enum ONNXTrees {
    /// The nodes that only pass values through.
    static let passThrough: Set<String> = ["Cast", "Identity", "ZipMap", "ArrayFeatureExtractor", "Flatten", "Reshape"]

    /// Parses `data`. `featureNames` names the input's columns when the file does not (ONNX files don't).
    public static func parse(_ data: Data, featureNames: [String]?, limits: ImportLimits = ImportLimits()) throws(FraudError) -> ImportedTrees {
        func refuse(_ why: String) -> FraudError { FraudError(.invalidData, "not an importable ONNX tree model: \(why)") }
        guard data.count <= limits.maximumBytes else { throw refuse("the file has \(data.count) bytes, more than \(limits.maximumBytes)") }
        let model: Fraudstream_Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 32
            model = try Fraudstream_Onnx_ModelProto(serializedBytes: data, options: options)
        } catch {
            throw refuse("the file is not an ONNX protobuf (truncated? another format: --format xgboost-json or lightgbm-text?)")
        }
        guard model.hasGraph else { throw refuse("no graph (is it an ONNX model?)") }
        let graph = model.graph
        let ensembles = graph.node.filter { $0.opType.hasPrefix("TreeEnsemble") }
        guard ensembles.count == 1, let node = ensembles.first else {
            throw refuse(ensembles.isEmpty ? "no TreeEnsembleClassifier or TreeEnsembleRegressor node" : "\(ensembles.count) tree-ensemble nodes; one is supported")
        }
        guard node.domain == "ai.onnx.ml" else { throw refuse("\(node.opType) is in domain '\(node.domain)', not ai.onnx.ml") }
        guard ["TreeEnsembleClassifier", "TreeEnsembleRegressor"].contains(node.opType) else {
            throw refuse("the operator \(node.opType) is not supported (TreeEnsembleClassifier or TreeEnsembleRegressor)")
        }
        var sigmoidAfter = false
        let constants = Dictionary(graph.initializer.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for other in graph.node where other.opType != node.opType {
            if other.opType == "Sigmoid", node.opType == "TreeEnsembleRegressor" {
                sigmoidAfter = true
                continue
            }
            // onnxmltools multiplies LightGBM's probabilities by a constant 1.
            if other.opType == "Mul" || other.opType == "Add" {
                let identity: Double = other.opType == "Mul" ? 1 : 0
                var operands: [[Double]] = []
                for name in other.input {
                    if let constant = constants[name] { operands.append(try values(of: constant, refuse: refuse)) }
                }
                guard operands.count == 1, operands[0].allSatisfy({ $0 == identity }) else {
                    throw refuse("the graph has a \(other.opType) node that changes the scores; only a tree ensemble is supported")
                }
                continue
            }
            guard passThrough.contains(other.opType) else { throw refuse("the graph has a \(other.opType) node; only a tree ensemble is supported") }
        }
        guard graph.input.count == 1, let input = graph.input.first else {
            throw refuse("\(graph.input.count) graph inputs; one [rows, features] tensor is supported")
        }
        let elementType = input.type.tensorType.elemType
        guard elementType == 1 || elementType == 11 else {
            throw refuse("the input tensor's type \(elementType) is not float (1) or double (11)")
        }
        let declaredColumns = input.type.tensorType.shape.dim.count == 2 ? Int(input.type.tensorType.shape.dim[1].dimValue) : 0

        var attributes: [String: Fraudstream_Onnx_AttributeProto] = [:]
        for attribute in node.attribute { attributes[attribute.name] = attribute }
        func ints(_ name: String) -> [Int64] { attributes[name]?.ints ?? [] }
        func strings(_ name: String) -> [String] { (attributes[name]?.strings ?? []).map { String(decoding: $0, as: UTF8.self) } }
        func string(_ name: String) -> String? { attributes[name].map { String(decoding: $0.s, as: UTF8.self) } }
        func doubles(_ name: String) throws(FraudError) -> [Double] {
            if let tensor = attributes[name + "_as_tensor"]?.t { return try values(of: tensor, refuse: refuse) }
            return (attributes[name]?.floats ?? []).map(Double.init)
        }

        let treeIds = ints("nodes_treeids"), nodeIds = ints("nodes_nodeids"), featureIds = ints("nodes_featureids")
        let trueIds = ints("nodes_truenodeids"), falseIds = ints("nodes_falsenodeids"), modes = strings("nodes_modes")
        let thresholds = try doubles("nodes_values")
        let count = treeIds.count
        guard count > 0 else { throw refuse("the ensemble has no nodes") }
        guard count <= limits.maximumNodes else { throw refuse("\(count) nodes, more than \(limits.maximumNodes)") }
        guard [nodeIds.count, featureIds.count, trueIds.count, falseIds.count, modes.count, thresholds.count].allSatisfy({ $0 == count }) else {
            throw refuse("the nodes_* attributes have different lengths")
        }
        var tracksTrue = ints("nodes_missing_value_tracks_true")
        if tracksTrue.isEmpty { tracksTrue = [Int64](repeating: 0, count: count) }
        guard tracksTrue.count == count else { throw refuse("nodes_missing_value_tracks_true has \(tracksTrue.count) entries, not \(count)") }

        // Leaf weights and how they become the positive class's probability.
        let postTransform = string("post_transform") ?? "NONE"
        let prefix = node.opType == "TreeEnsembleClassifier" ? "class" : "target"
        let weightTrees = ints("\(prefix)_treeids"), weightNodes = ints("\(prefix)_nodeids"), weightColumns = ints("\(prefix)_ids")
        let weights = try doubles("\(prefix)_weights")
        guard weightTrees.count == weights.count, weightNodes.count == weights.count, weightColumns.count == weights.count else {
            throw refuse("the \(prefix)_* attributes have different lengths")
        }
        guard weights.count <= limits.maximumNodes else { throw refuse("\(weights.count) leaf weights, more than \(limits.maximumNodes)") }
        let base = try doubles("base_values")
        var columnSign: [Int64: Double]  // how each weight column enters the margin
        var baseMargin: Double
        var logistic: Bool
        var average = false
        if node.opType == "TreeEnsembleClassifier" {
            let labels = max(ints("classlabels_int64s").count, strings("classlabels_strings").count)
            guard labels == 2 else { throw refuse("a classifier with \(labels) classes; only binary classifiers are supported") }
            guard weightColumns.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw refuse("class_ids outside 0 and 1") }
            let hasPositiveColumn = weightColumns.contains(1)
            switch (postTransform, hasPositiveColumn) {
            case ("NONE", true), ("LOGISTIC", true):
                columnSign = [1: 1]
                baseMargin = base.count == 2 ? base[1] : 0
            case ("SOFTMAX", true):
                columnSign = [0: -1, 1: 1]
                baseMargin = base.count == 2 ? base[1] - base[0] : 0
            case ("NONE", false), ("LOGISTIC", false):
                columnSign = [0: 1]
                baseMargin = base.first ?? 0
            default:
                throw refuse("the post_transform \(postTransform) is not supported here (NONE, LOGISTIC, SOFTMAX with two class columns)")
            }
            logistic = postTransform != "NONE"
        } else {
            let targets = attributes["n_targets"]?.i ?? 1
            guard targets == 1 else { throw refuse("a regressor with \(targets) targets; one is supported") }
            let aggregate = string("aggregate_function") ?? "SUM"
            guard aggregate == "SUM" || aggregate == "AVERAGE" else { throw refuse("the aggregate_function \(aggregate) is not supported (SUM, AVERAGE)") }
            average = aggregate == "AVERAGE"
            guard postTransform == "NONE" || postTransform == "LOGISTIC" else {
                throw refuse("the post_transform \(postTransform) is not supported (NONE, LOGISTIC)")
            }
            guard !(postTransform == "LOGISTIC" && sigmoidAfter) else { throw refuse("a LOGISTIC post_transform followed by a Sigmoid node") }
            columnSign = [0: 1]
            baseMargin = base.first ?? 0
            logistic = postTransform == "LOGISTIC" || sigmoidAfter
        }
        guard baseMargin.isFinite else { throw refuse("base_values is not finite") }

        // The features: one name per input column.
        let maximumFeature = featureIds.max() ?? 0
        guard maximumFeature < Int64(limits.maximumFeatures), featureIds.allSatisfy({ $0 >= 0 }) else {
            throw refuse("a split reads feature \(maximumFeature), outside 0..<\(limits.maximumFeatures)")
        }
        let columns = max(declaredColumns, Int(maximumFeature) + 1)
        guard let names = featureNames else {
            throw refuse("ONNX files do not name their features: give --features with the model's \(columns) column names in order")
        }
        guard names.count == columns || (declaredColumns == 0 && names.count >= columns) else {
            throw refuse("--features names \(names.count) columns; the model's input has \(columns)")
        }

        // Node modes decide the arithmetic: ≤ (with > as its mirror) or < (with ≥).
        let inner = modes.filter { $0 != "LEAF" }
        let atMost = inner.allSatisfy { $0 == "BRANCH_LEQ" || $0 == "BRANCH_GT" }
        let below = inner.allSatisfy { $0 == "BRANCH_LT" || $0 == "BRANCH_GTE" }
        if let unsupported = inner.first(where: { !["BRANCH_LEQ", "BRANCH_GT", "BRANCH_LT", "BRANCH_GTE"].contains($0) }) {
            throw refuse("the node mode \(unsupported) is not supported (BRANCH_LEQ, BRANCH_LT, BRANCH_GT, BRANCH_GTE)")
        }
        guard atMost || below else { throw refuse("the trees mix BRANCH_LEQ/BRANCH_GT with BRANCH_LT/BRANCH_GTE") }
        let arithmetic: ImportedTrees.Arithmetic =
            elementType == 1 ? (below ? .float32Below : .float32AtMost) : (below ? .doubleBelow : .doubleAtMost)

        var trees = ImportedTrees(
            library: .onnx, libraryVersion: "\(model.producerName) \(model.producerVersion)".trimmingCharacters(in: .whitespaces),
            featureNames: Array(names.prefix(columns)), objective: "\(node.opType) \(postTransform)\(sigmoidAfter ? " + Sigmoid" : "")",
            appliesLogistic: logistic, arithmetic: arithmetic, baseMargin: baseMargin)

        // (tree, node id) → position; each tree's nodes kept together in order of first appearance.
        var treeOrder: [Int64] = []
        var positions: [Int64: [Int64: Int]] = [:]
        for index in 0..<count {
            if positions[treeIds[index]] == nil {
                guard treeOrder.count < limits.maximumTrees else { throw refuse("more than \(limits.maximumTrees) trees") }
                treeOrder.append(treeIds[index])
                positions[treeIds[index]] = [:]
            }
            guard positions[treeIds[index]]?.updateValue(index, forKey: nodeIds[index]) == nil else {
                throw refuse("tree \(treeIds[index]) declares node \(nodeIds[index]) twice")
            }
        }
        let first = trees.addNodes(count)
        var leafWeight = [Double](repeating: 0, count: count)
        var isLeafWithWeight = [Bool](repeating: false, count: count)
        for index in 0..<weights.count {
            guard let at = positions[weightTrees[index]]?[weightNodes[index]] else {
                throw refuse("a leaf weight names node \(weightNodes[index]) of tree \(weightTrees[index]), which does not exist")
            }
            guard weights[index].isFinite else { throw refuse("a leaf weight is not finite") }
            leafWeight[at] += (columnSign[weightColumns[index]] ?? 0) * weights[index]
            isLeafWithWeight[at] = true
        }
        let scale = average ? 1 / Double(treeOrder.count) : 1
        for index in 0..<count {
            let at = first + index
            guard modes[index] != "LEAF" else {
                trees.value[at] = leafWeight[index] * scale
                continue
            }
            guard !isLeafWithWeight[index] else { throw refuse("node \(nodeIds[index]) of tree \(treeIds[index]) has a weight but is not a leaf") }
            guard let onTrue = positions[treeIds[index]]?[trueIds[index]], let onFalse = positions[treeIds[index]]?[falseIds[index]] else {
                throw refuse("node \(nodeIds[index]) of tree \(treeIds[index]) points outside its tree")
            }
            guard !thresholds[index].isNaN else { throw refuse("node \(nodeIds[index]) of tree \(treeIds[index]) has a NaN threshold") }
            let mirrored = modes[index] == "BRANCH_GT" || modes[index] == "BRANCH_GTE"
            trees.feature[at] = Int32(featureIds[index])
            trees.threshold[at] = elementType == 1 ? Double(Float(thresholds[index])) : thresholds[index]
            trees.left[at] = Int32(first + (mirrored ? onFalse : onTrue))
            trees.right[at] = Int32(first + (mirrored ? onTrue : onFalse))
            trees.defaultLeft[at] = (tracksTrue[index] != 0) != mirrored
            trees.missing[at] = .nan
        }
        // Each tree's root is the node no other node points to.
        for tree in treeOrder {
            guard let members = positions[tree] else { continue }
            var pointedTo = Set<Int>()
            for (_, index) in members where modes[index] != "LEAF" {
                pointedTo.insert(Int(trees.left[first + index]) - first)
                pointedTo.insert(Int(trees.right[first + index]) - first)
            }
            let roots = members.values.filter { !pointedTo.contains($0) }
            guard roots.count == 1, let root = roots.first else { throw refuse("tree \(tree) has \(roots.count) roots (a cycle or a shared child)") }
            trees.roots.append(Int32(first + root))
        }
        // Every node reached once from its root, no deeper than the limit.
        do {
            try trees.validate(limits: limits)
        } catch {
            throw refuse(error.message.replacingOccurrences(of: "imported trees: ", with: ""))
        }
        guard reachable(trees) == count else { throw refuse("some nodes are not reachable from their tree's root (a cycle or a detached node)") }
        return trees
    }

    /// Nodes reachable from the roots (validate() already refused cycles and shared children).
    private static func reachable(_ trees: ImportedTrees) -> Int {
        var total = 0
        for root in trees.roots {
            var stack = [Int(root)]
            while let node = stack.popLast() {
                total += 1
                if trees.feature[node] >= 0 {
                    stack.append(Int(trees.left[node]))
                    stack.append(Int(trees.right[node]))
                }
            }
        }
        return total
    }

    /// The numbers of a float or double tensor attribute.
    private static func values(of tensor: Fraudstream_Onnx_TensorProto, refuse: (String) -> FraudError) throws(FraudError) -> [Double] {
        guard tensor.dataLocation == 0 else { throw refuse("a tensor stored outside the file; external data is not read") }
        switch tensor.dataType {
        case 1:
            if !tensor.floatData.isEmpty { return tensor.floatData.map(Double.init) }
            guard tensor.rawData.count % 4 == 0 else { throw refuse("a float tensor's raw data is not a multiple of 4 bytes") }
            return stride(from: 0, to: tensor.rawData.count, by: 4).map { offset in
                let bits = tensor.rawData[tensor.rawData.startIndex + offset..<tensor.rawData.startIndex + offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                return Double(Float(bitPattern: bits))
            }
        case 11:
            if !tensor.doubleData.isEmpty { return tensor.doubleData }
            guard tensor.rawData.count % 8 == 0 else { throw refuse("a double tensor's raw data is not a multiple of 8 bytes") }
            return stride(from: 0, to: tensor.rawData.count, by: 8).map { offset in
                let bits = tensor.rawData[tensor.rawData.startIndex + offset..<tensor.rawData.startIndex + offset + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                return Double(bitPattern: bits)
            }
        default:
            throw refuse("a tensor attribute of type \(tensor.dataType), not float or double")
        }
    }
}

extension ONNXTrees {
    /// An ONNX file holding a random-forest-shaped classifier (as skl2onnx writes scikit-learn's RandomForest: leaf
    /// weights are class 1's probability divided by the number of trees, no post-transform): `trees` complete trees of
    /// `depth` over a float input of `featureCount` columns, with `split(tree, node)` giving each inner node's feature
    /// and threshold and `leaf(tree, leaf)` each leaf's probability. For benchmarks and tests.
    public static func forest(
        trees: Int, depth: Int, featureCount: Int, split: (Int, Int) -> (feature: Int, threshold: Float), leaf: (Int, Int) -> Float
    ) throws -> Data {
        let inner = (1 << depth) - 1
        let count = 2 * inner + 1
        var treeIds: [Int64] = [], nodeIds: [Int64] = [], featureIds: [Int64] = [], values: [Float] = [], modes: [Data] = []
        var trueIds: [Int64] = [], falseIds: [Int64] = []
        var weightTrees: [Int64] = [], weightNodes: [Int64] = [], weights: [Float] = []
        for tree in 0..<trees {
            for node in 0..<count {
                treeIds.append(Int64(tree))
                nodeIds.append(Int64(node))
                if node < inner {
                    let (feature, threshold) = split(tree, node)
                    featureIds.append(Int64(feature))
                    values.append(threshold)
                    modes.append(Data("BRANCH_LEQ".utf8))
                    trueIds.append(Int64(2 * node + 1))
                    falseIds.append(Int64(2 * node + 2))
                } else {
                    featureIds.append(0)
                    values.append(0)
                    modes.append(Data("LEAF".utf8))
                    trueIds.append(0)
                    falseIds.append(0)
                    weightTrees.append(Int64(tree))
                    weightNodes.append(Int64(node))
                    weights.append(leaf(tree, node - inner) / Float(trees))
                }
            }
        }
        func attribute(_ name: String, ints: [Int64] = [], floats: [Float] = [], strings: [Data] = [], string: String? = nil) -> Fraudstream_Onnx_AttributeProto {
            var attribute = Fraudstream_Onnx_AttributeProto()
            attribute.name = name
            attribute.ints = ints
            attribute.floats = floats
            attribute.strings = strings
            if let string { attribute.s = Data(string.utf8) }
            return attribute
        }
        var node = Fraudstream_Onnx_NodeProto()
        node.opType = "TreeEnsembleClassifier"
        node.domain = "ai.onnx.ml"
        node.input = ["X"]
        node.output = ["label", "probabilities"]
        node.attribute = [
            attribute("nodes_treeids", ints: treeIds), attribute("nodes_nodeids", ints: nodeIds), attribute("nodes_featureids", ints: featureIds),
            attribute("nodes_values", floats: values), attribute("nodes_modes", strings: modes), attribute("nodes_truenodeids", ints: trueIds),
            attribute("nodes_falsenodeids", ints: falseIds), attribute("class_treeids", ints: weightTrees),
            attribute("class_nodeids", ints: weightNodes), attribute("class_ids", ints: [Int64](repeating: 1, count: weights.count)),
            attribute("class_weights", floats: weights), attribute("classlabels_int64s", ints: [0, 1]), attribute("post_transform", string: "NONE"),
        ]
        var input = Fraudstream_Onnx_ValueInfoProto()
        input.name = "X"
        input.type.tensorType.elemType = 1
        var rows = Fraudstream_Onnx_TensorShapeProto.Dimension()
        rows.dimParam = "N"
        var columns = Fraudstream_Onnx_TensorShapeProto.Dimension()
        columns.dimValue = Int64(featureCount)
        input.type.tensorType.shape.dim = [rows, columns]
        var model = Fraudstream_Onnx_ModelProto()
        model.irVersion = 8
        model.producerName = "fraudstream"
        model.graph.node = [node]
        model.graph.input = [input]
        return try model.serializedData()
    }
}
