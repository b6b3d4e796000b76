import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("fraudstream train against a real redis-server")
struct TrainCommandTests {
    /// The keys a stored model version writes.
    /// The keys a training run may change: the models, and the audit entry of the promotion (in the latest model
    /// key's slot).
    static func isModelKey(_ key: String) -> Bool {
        key == "fraud:models" || key.hasPrefix("fraud:model:") || key == "fraud:audit:{fraud:model:latest}"
    }

    @Test func trainLeavesLiveStateBlocklistRulesAndLabelsByteIdenticalAndStoresANewModelVersion() async throws {
        try await WorkerHarness.with { harness in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            // Traffic: feature state, results, statistics, reviews.
            try await harness.publish((0..<300).map { WorkerHarness.fields($0) })
            _ = try await harness.runWorker(harness.configuration()) { try await harness.length("fraud:results") >= 300 }
            // Operators' changes: blocklist entries through the CLI and the store, a rule, labels.
            #expect(try await FraudStreamBinary.run(["blocklist", "add", "203.0.113.7"] + redisArguments).status == 0)
            let store = FeatureStore(namespace: "fraud")
            try await store.addToBlocklist(["198.51.100.9"], on: harness.redis)
            #expect(try await FraudStreamBinary.run(["rules", "add", "amount > 5000 => decline reason huge_amount"] + redisArguments).status == 0)
            let queue = ReviewQueue(streams: StreamNames(namespace: "fraud"))
            let reviews = try await queue.items(count: 1_000, all: true, on: harness.redis)
            try #require(reviews.count >= 2, "the worker made \(reviews.count) review decisions")
            let resolve = try await FraudStreamBinary.run(["review", "resolve", reviews[0].transactionId, "fraud"] + redisArguments)
            #expect(resolve.status == 0, "\(resolve.standardError)")
            try await queue.label([(reviews[1].transactionId, false)], on: harness.redis)
            let modelsBefore = try await ModelStore(namespace: "fraud").versions(on: harness.redis)
            let before = try await KeySnapshot.take(harness.redis, excluding: Self.isModelKey)
            #expect(before.dumps.keys.contains { $0.hasPrefix("fraud:{u1}:") } && before.dumps["fraud:blocklist:ip:counters"] != nil)

            let train = try await FraudStreamBinary.run(["train", "--users", "100", "--days", "2", "--trees", "5"] + redisArguments)
            #expect(train.status == 0, "stderr: \(train.standardError)")
            let version = (modelsBefore.max() ?? 0) + 1
            #expect(train.standardOutput.contains("labels      2 labelled reviews (1 fraud) join the training rows"), "\(train.standardOutput)")
            #expect(train.standardOutput.contains("in scratch namespace fraud:train:"))
            #expect(train.standardOutput.contains("model       version \(version) stored as fraud:model:\(version), promoted to latest"))

            let after = try await KeySnapshot.take(harness.redis, excluding: Self.isModelKey)
            #expect(after == before, "train changed: \(after.differences(from: before))")
            let models = ModelStore(namespace: "fraud")
            #expect(try await models.latestVersion(on: harness.redis) == version)
            #expect(try await AuditLog(namespace: "fraud").list(action: "models.promote", on: harness.redis).last?.target == "v\(version)")
            #expect(try await models.versions(on: harness.redis) == modelsBefore + [version])
            #expect(try await models.load(version, on: harness.redis).trainingData == "synthetic users=100 days=2 seed=42")
            #expect(try await store.isBlocklisted(["203.0.113.7", "198.51.100.9", "6.6.6.6"], on: harness.redis) == [true, true, true])
        }
    }

    @Test func trainFromAnExportedMatrixStoresAnUnpromotedVersionAndWritesNothingElse() async throws {
        try await withRedisServer { server in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(server.port)"]
            let redis = try await RedisConnection.connect(server.configuration)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let csv = directory.appendingPathComponent("rows.csv").path
            let world = ["--users", "100", "--days", "3"]
            #expect(try await FraudStreamBinary.run(["prepare", "--trees", "5"] + world + redisArguments).status == 0)
            let export = try await FraudStreamBinary.run(["export-features", "--out", csv] + world + redisArguments)
            #expect(export.status == 0, "\(export.standardError)")
            let before = try await KeySnapshot.take(redis, excluding: Self.isModelKey)

            let train = try await FraudStreamBinary.run(["train", "--from-csv", csv, "--no-promote", "--no-labels", "--trees", "5"] + redisArguments)
            #expect(train.status == 0, "stderr: \(train.standardError)")
            let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").count - 1
            #expect(train.standardOutput.contains("history     \(csv): \(rows) rows"), "\(train.standardOutput)")
            #expect(train.standardOutput.contains("model       version 2 stored as fraud:model:2 (not promoted)"))
            #expect(!train.standardOutput.contains("labelled reviews"))
            let models = ModelStore(namespace: "fraud")
            #expect(try await models.latestVersion(on: redis) == 1)
            let record = try await models.load(2, on: redis)
            #expect(record.metrics.trainingRows + record.metrics.heldOutRows == rows)
            #expect(record.trainingData == "training matrix \(csv)")
            // The same rows as the replay prepare trained version 1 on: the same split.
            #expect(try await models.load(1, on: redis).metrics.trainingRows == record.metrics.trainingRows)
            let after = try await KeySnapshot.take(redis, excluding: Self.isModelKey)
            #expect(after == before, "train changed: \(after.differences(from: before))")

            // A matrix of another build's features is refused with its line.
            let bad = directory.appendingPathComponent("bad.csv").path
            try "transaction_id,timestamp,amount\nt1,1,5\n".write(toFile: bad, atomically: true, encoding: .utf8)
            let refused = try await FraudStreamBinary.run(["train", "--from-csv", bad] + redisArguments)
            #expect(refused.status == 65)
            #expect(refused.standardError.hasPrefix("fraudstream: \(bad): line 1: expected the header of export-features"), "\(refused.standardError)")
            #expect(try await models.versions(on: redis) == [1, 2])
        }
    }
}
