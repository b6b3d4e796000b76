import Foundation
import Testing

@testable import FraudCore

/// The ONNX importer on a small committed model (Fixtures/models/tiny-classifier.onnx, no Python): predictions checked
/// by hand, float32 comparisons, `BRANCH_GT` mirrored, missing values by `nodes_missing_value_tracks_true`, and
/// hostile files refused in one line.
@Suite("ONNX tree-ensemble import (no server)")
struct ONNXImportTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models/tiny-classifier.onnx")
    static let names = ["amount", "tx_count_1h"]

    static func data() throws -> Data { try Data(contentsOf: fixture) }
    static func proto() throws -> Fraudstream_Onnx_ModelProto { try Fraudstream_Onnx_ModelProto(serializedBytes: try data()) }
    static func logistic(_ margin: Double) -> Double { 1 / (1 + exp(-margin)) }
    /// The file's base value 0.1, a float32 as ONNX stores it.
    static let base = Double(Float(0.1))

    /// The fixture with its ensemble node's attributes changed by `change`.
    static func edited(_ change: (inout [String: Fraudstream_Onnx_AttributeProto]) -> Void) throws -> Data {
        var model = try proto()
        var attributes = Dictionary(uniqueKeysWithValues: model.graph.node[0].attribute.map { ($0.name, $0) })
        change(&attributes)
        model.graph.node[0].attribute = attributes.values.sorted { $0.name < $1.name }
        return try model.serializedData()
    }

    static func ints(_ name: String, _ values: [Int64]) -> Fraudstream_Onnx_AttributeProto {
        var attribute = Fraudstream_Onnx_AttributeProto()
        attribute.name = name
        attribute.ints = values
        attribute.type = 7
        return attribute
    }

    @Test func predictionsMatchTheHandWalkedTrees() throws {
        let trees = try ONNXTrees.parse(try Self.data(), featureNames: Self.names)
        #expect(trees.library == .onnx && trees.libraryVersion == "fraudstream-fixture 1" && trees.featureNames == Self.names)
        #expect(trees.treeCount == 2 && trees.nodeCount == 8 && trees.arithmetic == .float32AtMost && trees.appliesLogistic)
        // Tree 0: amount ≤ 100 (missing: true) → 0.5, else tx_count_1h ≤ 3 → −1, else 2.
        // Tree 1: amount > 50.25 → −0.25, else 0.25 (missing: false branch). Base 0.1 (class 1's base value).
        let cases: [([Double], Double)] = [
            ([50, 1], 0.5 + 0.25 + Self.base),
            ([200, 5], 2 - 0.25 + Self.base),
            ([200, 2], -1 - 0.25 + Self.base),
            ([.nan, 9], 0.5 + 0.25 + Self.base),  // missing amount: true branch in tree 0, false (not greater) in tree 1
            ([100, 9], 0.5 - 0.25 + Self.base),  // BRANCH_LEQ includes the threshold
            ([50.25, 0], 0.5 + 0.25 + Self.base),  // BRANCH_GT excludes it
            ([100.000001, 9], 0.5 - 0.25 + Self.base),  // Float(100.000001) is 100: compared in float32, it is not above 100
        ]
        let model = try ImportedModel(format: .onnx, sourceFile: "tiny", sourceSHA256: "", producer: "", trees: trees, parity: nil)
        for (row, margin) in cases {
            #expect(abs(trees.probability(row) - Self.logistic(margin)) < 1e-12, "\(row)")
            // The decision path, from a full served vector, gives the same.
            var vector = [Double](repeating: 0, count: FeatureSchema.count)
            vector[Feature.amount] = row[0]
            vector[try #require(FeatureSchema.index(of: "tx_count_1h"))] = row[1]
            #expect(abs(model.probability(vector) - Self.logistic(margin)) < 1e-12, "\(row)")
            let split = model.contributions(vector)
            #expect(abs(split.base + split.features.reduce(0, +) - margin) < 1e-9, "\(row)")
        }
    }

    @Test func softmaxAndASingleScoreColumnBecomeTheSecondClass() throws {
        // SOFTMAX over both columns: p1 = logistic(s1 − s0).
        let softmax = try Self.edited { attributes in
            attributes["post_transform"]?.s = Data("SOFTMAX".utf8)
            attributes["class_ids"] = Self.ints("class_ids", [0, 1, 1, 1, 1])
        }
        let trees = try ONNXTrees.parse(softmax, featureNames: Self.names)
        // [50, 1]: tree 0's leaf weight 0.5 is class 0's now: margin = (0.25 + 0.1) − (0.5 + 0).
        #expect(abs(trees.probability([50, 1]) - Self.logistic(0.25 + Self.base - 0.5)) < 1e-12)
        // One column (class 0 only), as converters write gradient boosting: that score is class 1's margin.
        let single = try Self.edited { attributes in
            attributes["class_ids"] = Self.ints("class_ids", [0, 0, 0, 0, 0])
            attributes["base_values"]?.floats = [0.1]
        }
        #expect(abs(try ONNXTrees.parse(single, featureNames: Self.names).probability([50, 1]) - Self.logistic(0.75 + Self.base)) < 1e-12)
    }

    @Test func unsupportedAndHostileFilesAreRefusedInOneLine() throws {
        let valid = try Self.data()
        let parse: (Data) throws(FraudError) -> ImportedTrees = { data throws(FraudError) in try ONNXTrees.parse(data, featureNames: Self.names) }
        // A chain 10^6 nodes deep: inner node i's true branch is a leaf, its false branch the next inner node.
        let depth = 1_000_000
        let deep = try Self.edited { attributes in
            let inner = Int64(depth)
            attributes["nodes_treeids"] = Self.ints("nodes_treeids", [Int64](repeating: 0, count: 2 * depth + 1))
            attributes["nodes_nodeids"] = Self.ints("nodes_nodeids", Array(0..<(2 * inner + 1)))
            attributes["nodes_featureids"] = Self.ints("nodes_featureids", [Int64](repeating: 0, count: 2 * depth + 1))
            attributes["nodes_truenodeids"] = Self.ints("nodes_truenodeids", (0..<inner).map { inner + $0 } + [Int64](repeating: 0, count: depth + 1))
            attributes["nodes_falsenodeids"] = Self.ints(
                "nodes_falsenodeids", (0..<inner).map { $0 + 1 == inner ? 2 * inner : $0 + 1 } + [Int64](repeating: 0, count: depth + 1))
            attributes["nodes_missing_value_tracks_true"] = nil
            attributes["nodes_values"]?.floats = [Float](repeating: 1, count: 2 * depth + 1)
            var modes = Fraudstream_Onnx_AttributeProto()
            modes.name = "nodes_modes"
            modes.strings = [Data](repeating: Data("BRANCH_LEQ".utf8), count: depth) + [Data](repeating: Data("LEAF".utf8), count: depth + 1)
            attributes["nodes_modes"] = modes
            attributes["class_treeids"] = Self.ints("class_treeids", [0])
            attributes["class_nodeids"] = Self.ints("class_nodeids", [inner])
            attributes["class_ids"] = Self.ints("class_ids", [1])
            attributes["class_weights"]?.floats = [1]
        }
        ModelImportChecks.expectRefused(
            [
                (valid.prefix(valid.count / 2), "not an importable ONNX tree model"),
                (XGBoostImportTests.model(), "not an ONNX protobuf"),
                (Data(), "no graph"),
                (try Self.edited { $0["nodes_truenodeids"] = Self.ints("nodes_truenodeids", [1, 0, 0, 0, 0, 2, 0, 0]) }, "cycle"),
                (try Self.edited { $0["nodes_falsenodeids"] = Self.ints("nodes_falsenodeids", [2, 0, 4, 0, 0, 9, 0, 0]) }, "points outside"),
                (try Self.edited { $0["nodes_modes"]?.strings[0] = Data("BRANCH_EQ".utf8) }, "the node mode BRANCH_EQ is not supported"),
                (try Self.edited { $0["nodes_modes"]?.strings[0] = Data("BRANCH_LT".utf8) }, "mix"),
                (try Self.edited { $0["classlabels_int64s"] = Self.ints("classlabels_int64s", [0, 1, 2]) }, "3 classes"),
                (try Self.edited { $0["post_transform"]?.s = Data("PROBIT".utf8) }, "post_transform PROBIT"),
                (try Self.edited { $0["nodes_featureids"] = Self.ints("nodes_featureids", [0, 0, 7, 0, 0, 0, 0, 0]) }, "--features names 2 columns"),
                (deep, "deeper than 256"),
            ], by: parse)
        #expect(throws: FraudError.self) { try ONNXTrees.parse(valid, featureNames: nil) }
        var other = try Self.proto()
        other.graph.node[0].opType = "TreeEnsemble"
        ModelImportChecks.expectRefused([(try other.serializedData(), "TreeEnsemble is not supported")], by: parse)
        var extra = try Self.proto()
        var matMul = Fraudstream_Onnx_NodeProto()
        matMul.opType = "MatMul"
        extra.graph.node.append(matMul)
        ModelImportChecks.expectRefused([(try extra.serializedData(), "MatMul")], by: parse)
    }

    @Test func randomBytesNeverCrashTheParser() throws {
        ModelImportChecks.fuzz(valid: try Self.data()) { data throws(FraudError) in try ONNXTrees.parse(data, featureNames: Self.names) }
    }
}
