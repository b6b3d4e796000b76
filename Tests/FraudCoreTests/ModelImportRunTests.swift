import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// Bring your own model, end to end: models trained with the real Python libraries on `export-features` output,
/// imported with `fraudstream models import --check` on 10,000 rows, and served by a running worker and `serve`.
/// One at a time: each trains a model, and nine trainings at once would take the machine from the other suites.
@Suite("Models trained in Python, imported against a real redis-server", .serialized)
struct ModelImportRunTests {
    /// The libraries and converters Fixtures/python/train_model.py trains with.
    enum Library: String, CaseIterable, Sendable {
        case xgboost, lightgbm
        case sklearnRandomForest = "sklearn-rf", sklearnGradientBoosting = "sklearn-gb", sklearnHistGradientBoosting = "sklearn-hgb"
        case xgboostONNX = "xgboost-onnx", lightgbmONNX = "lightgbm-onnx"

        /// The share of feature cells blanked to NaN, so the missing-value directions are exercised (scikit-learn's
        /// RandomForest and GradientBoosting take no NaN).
        var missingRate: Double {
            switch self {
            case .sklearnRandomForest, .sklearnGradientBoosting: 0
            default: 0.03
            }
        }
    }

    @Test(arguments: Library.allCases)
    func aModelTrainedInPythonImportsWithParityOnTenThousandRows(_ library: Library) async throws {
        try await withRedisServer { server in
            let directory = try PythonModels.temporaryDirectory("byom-\(library.rawValue)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let rows = try await PythonModels.exportRows(port: server.port, into: directory)
            let arguments = try await PythonModels.train(library.rawValue, rows: rows, into: directory, missingRate: library.missingRate)
            if library.missingRate > 0 {
                let check = try String(contentsOf: directory.appendingPathComponent("check.csv"), encoding: .utf8)
                #expect(check.components(separatedBy: ",nan").count > 1_000, "the check rows should carry missing values")
            }
            let redisURL = ["--redis-url", "redis://127.0.0.1:\(server.port)"]
            let imported = try await FraudStreamBinary.run(["models", "import"] + arguments + ["--no-promote"] + redisURL)
            #expect(imported.status == 0, "stdout: \(imported.standardOutput)\nstderr: \(imported.standardError)")
            #expect(imported.standardOutput.contains("10000 rows"), "\(imported.standardOutput)")
            #expect(imported.standardOutput.contains("verified"), "\(imported.standardOutput)")

            let redis = try await RedisConnection.connect(server.configuration)
            let record = try await ModelStore(namespace: "fraud").load(1, on: redis)
            let parity = try #require(record.imported?.parity)
            #expect(parity.rows == 10_000)
            #expect(parity.largestDifference <= 1e-6, "largest difference \(parity.largestDifference)")
            // Evaluated on the latest 20% of the rows, which train_model.py leaves out of training.
            #expect(record.metrics.heldOutRows == 2_000 && record.metrics.rocAUC > 0.7, "ROC AUC \(record.metrics.rocAUC)")
            #expect(try await ModelStore(namespace: "fraud").latestVersion(on: redis) == nil)  // --no-promote

            let show = try await FraudStreamBinary.run(["models", "show", "1"] + redisURL)
            #expect(show.standardOutput.contains("parity      verified on 10000 rows"), "\(show.standardOutput)")
            #expect(show.standardOutput.contains("imported \(record.kind)"), "\(show.standardOutput)")
            let audit = try await AuditLog(namespace: "fraud").list(action: "models.import", on: redis)
            #expect(audit.count == 1 && audit.first?.target == "v1")
        }
    }

    @Test func aWrongPredictionsFileIsRefusedAndNothingIsStored() async throws {
        try await withRedisServer { server in
            let directory = try PythonModels.temporaryDirectory("byom-wrong")
            defer { try? FileManager.default.removeItem(at: directory) }
            let rows = try await PythonModels.exportRows(port: server.port, into: directory, rows: 2_000)
            var arguments = try await PythonModels.train("lightgbm", rows: rows, into: directory, missingRate: 0, trees: 20)
            // Predictions of another model: same ids, other probabilities.
            let predictions = directory.appendingPathComponent("predictions.csv")
            let shifted = try String(contentsOf: predictions, encoding: .utf8).split(separator: "\n").enumerated().map { index, line in
                guard index == 7, let comma = line.lastIndex(of: ","), let value = Double(line[line.index(after: comma)...]) else { return String(line) }
                return "\(line[..<comma]),\(min(1, value + 0.01))"
            }
            try (shifted.joined(separator: "\n") + "\n").write(to: predictions, atomically: true, encoding: .utf8)
            arguments += ["--redis-url", "redis://127.0.0.1:\(server.port)"]
            let outcome = try await FraudStreamBinary.run(["models", "import"] + arguments)
            #expect(outcome.status != 0)
            #expect(outcome.standardError.contains("parity check failed"), "\(outcome.standardError)")
            #expect(outcome.standardOutput.contains("difference 1.0"), "the worst row is printed: \(outcome.standardOutput)")
            let redis = try await RedisConnection.connect(server.configuration)
            #expect(try await ModelStore(namespace: "fraud").versions(on: redis).isEmpty)
        }
    }

    @Test func aPromotedImportIsServedByTheWorkerAndTheAPIWithIdenticalScores() async throws {
        try await ScoringAPIHarness.with { api in
            let harness = api.redisHarness
            let directory = try PythonModels.temporaryDirectory("byom-promote")
            defer { try? FileManager.default.removeItem(at: directory) }
            let rows = try await PythonModels.exportRows(port: harness.server.port, into: directory, rows: 5_000)
            let arguments = try await PythonModels.train("xgboost", rows: rows, into: directory, missingRate: 0, trees: 50)
            try await harness.withWorker(harness.configuration()) { _ in
                // Before: the harness's own model (version 1).
                try await harness.publish([WorkerHarness.fields(0)])
                try await harness.waitForLength("fraud:results", atLeast: 1)
                let imported = try await FraudStreamBinary.run(
                    ["models", "import"] + arguments + ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"])
                #expect(imported.status == 0, "\(imported.standardError)")
                #expect(imported.standardOutput.contains("version 2 promoted"), "\(imported.standardOutput)")
                var next = 1
                try await ModelHotSwapTests.trickle(harness, from: &next, until: 2)
                try await waitUntil("the API serves version 2") { api.admission.serving.nextModelVersion == 2 }

                // Twins: two fresh users with the same history, one through the stream, one through the API.
                let twins = TwinTransactions()
                let amounts = twins.amounts
                let before = try await harness.length("fraud:results")
                try await harness.publish(amounts.indices.map { twins.fields($0, path: "stream") })
                try await harness.waitForLength("fraud:results", atLeast: before + amounts.count)
                let client = try await api.connect()
                var apiScores: [Double] = []
                for index in amounts.indices {
                    let body = twins.body(index, path: "api")
                    let answer = try ScoringAPIHarness.object(try await client.request(.POST, "/v1/score", json: body))
                    #expect(answer["model_version"] as? Int == 2, "\(answer)")
                    apiScores.append(try #require(answer["score"] as? Double))
                }
                await client.close()
                let results = try await harness.entries("fraud:results")
                for index in amounts.indices {
                    let stream = try #require(results.first { $0["transaction_id"] == "stream-\(index)" })
                    #expect(stream["model_version"] == "2")
                    let streamScore = try #require(stream["score"].flatMap(Double.init))
                    #expect(abs(streamScore - apiScores[index]) < 1e-9, "transaction \(index): stream \(streamScore), API \(apiScores[index])")
                }
                #expect(Set(apiScores).count > 1, "the imported model should tell the transactions apart: \(apiScores)")
            }
        }
    }
}
