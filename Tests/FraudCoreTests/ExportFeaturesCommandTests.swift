import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("fraudstream export-features against a real redis-server")
struct ExportFeaturesCommandTests {
    /// Every key in the server, found with SCAN.
    static func allKeys(_ redis: RedisConnection) async throws -> Set<String> {
        Set(try await Keyspace(namespace: "").keys(matching: "*", on: redis))
    }

    @Test func exportWritesTheTrainingMatrixAndDeletesItsScratchNamespace() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            // Serving state the export must not touch.
            try await redis.send(RedisCommand("SET", "fraud:model:latest", "3"))
            try await redis.send(RedisCommand("HSET", "fraud:{u1}:profile", "segment", "standard", "tx_count", "9"))
            let before = try await Self.allKeys(redis)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let out = directory.appendingPathComponent("rows.csv")

            let outcome = try await FraudStreamBinary.run([
                "export-features", "--out", out.path, "--users", "30", "--days", "2", "--redis-url", "redis://127.0.0.1:\(server.port)",
            ])
            #expect(outcome.status == 0, "stderr: \(outcome.standardError)")

            var configuration = WorldConfiguration()
            configuration.users = 30
            configuration.days = 2
            configuration.seed = 42
            let history = WorldGenerator.generate(configuration).history
            try #require(history.count > 100)
            let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(lines.first == (["transaction_id", "timestamp"] + FeatureSchema.names + ["is_fraud", "fraud_scenario"]).joined(separator: ","))
            #expect(lines.count == history.count + 1)
            #expect(lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).count }.allSatisfy {
                $0 == FeatureSchema.count + 4
            })
            #expect(lines.dropFirst().map { String($0.prefix { $0 != "," }) } == history.map(\.transactionId))
            #expect(outcome.standardOutput.contains("wrote \(history.count) rows"))

            // The scratch namespace is gone and nothing else changed.
            #expect(try await Keyspace(namespace: "fraud").keys(matching: "fraud:export:*", on: redis).isEmpty)
            #expect(try await Self.allKeys(redis) == before)
            #expect(try await redis.send(RedisCommand("HGET", "fraud:{u1}:profile", "tx_count")).string == "9")
            // It did build state to delete: the scratch keys were unlinked.
            let stats = try await redis.send(RedisCommand("INFO", "commandstats")).string ?? ""
            #expect(stats.contains("cmdstat_unlink:calls="))
        }
    }
}
