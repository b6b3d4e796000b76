import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore
@testable import FraudServer

/// One decision per transaction, whichever path it arrives by and however often: against a real redis-server, a real
/// worker and a real scoring server on it.
@Suite("One decision per transaction against a real redis-server")
struct OneDecisionTests {
    /// Result entries by transaction id.
    static func results(_ redis: RedisConnection) async throws -> [String: [[String: String]]] {
        let reply = try await redis.send(RedisCommand("XRANGE", "fraud:results", "-", "+"))
        let entries = (reply.array ?? []).compactMap { $0.array?[1].stringPairs }
        return Dictionary(grouping: entries, by: { $0["transaction_id"] ?? "" })
    }

    /// The stream fields of the API harness's transaction `id` for user `u<user>` (same contract fields on both paths).
    static func streamFields(_ id: String, user: Int, amount: Double = 42.5) -> [(String, String)] {
        [
            ("transaction_id", id), ("user_id", "u\(user)"), ("amount", String(amount)), ("merchant_id", "m1"),
            ("timestamp", String(Int64(Date().timeIntervalSince1970 * 1000))), ("lat", "40.5"), ("lon", "-74.1"),
            ("card_provider", "VISA"), ("merchant_category", "retail"), ("device_id", "d1"), ("ip", "10.0.0.1"), ("run_id", "api-run"),
        ]
    }

    @Test func anXADDSentTwiceIsDecidedOnceAndCountedOnce() async throws {
        try await WorkerHarness.with { harness in
            let entries = (0..<60).map { WorkerHarness.fields($0) }
            // A producer that retries every XADD: each transaction twice, the second after all the first ones.
            try await harness.publish(entries)
            try await harness.publish(entries)
            _ = try await harness.runWorker(harness.configuration()) {
                guard try await harness.length("fraud:results") >= 60 else { return false }
                return try await GroupBacklog.measure(stream: "fraud:transactions", group: "inference_workers", on: harness.redis)?.isDrained == true
            }
            let results = try await Self.results(harness.redis)
            #expect(results.count == 60)
            #expect(results.values.allSatisfy { $0.count == 1 })
            #expect(try await harness.pendingCount() == 0)  // the duplicates were acknowledged
            let run = try await RunStatistics.load(run: "run-test", namespace: "fraud", on: harness.redis)
            #expect(run.processed == 60)
            #expect(try await harness.length("fraud:dead_letters") == 0)
        }
    }

    @Test func theSameTransactionOnBothPathsGetsOneDecision() async throws {
        try await ScoringAPIHarness.with { api in
            let harness = api.redisHarness
            let client = try await api.connect()
            // Stream first, then the API: the API answers with the stream's decision, replayed.
            try await harness.publish([Self.streamFields("both-1", user: 4)])
            _ = try await harness.runWorker(harness.configuration()) { try await Self.results(harness.redis)["both-1"] != nil }
            let streamResult = try #require(try await Self.results(harness.redis)["both-1"]?.first)
            let replay = try ScoringAPIHarness.object(
                try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("both-1", user: 4)))
            #expect(replay["replayed"] as? Bool == true)
            #expect(replay["decision"] as? String == streamResult["decision"])
            #expect((replay["reasons"] as? [String])?.joined(separator: ",") == streamResult["reasons"])
            // API first, then the stream: the stream's duplicate is acknowledged without a second result.
            let first = try ScoringAPIHarness.object(
                try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("both-2", user: 5)))
            #expect(first["replayed"] as? Bool == false)
            try await waitUntil("the API's decision to be recorded") { try await Self.results(harness.redis)["both-2"] != nil }
            try await harness.publish([Self.streamFields("both-2", user: 5)])
            _ = try await harness.runWorker(harness.configuration()) {
                try await GroupBacklog.measure(stream: "fraud:transactions", group: "inference_workers", on: harness.redis)?.isDrained == true
            }
            let results = try await Self.results(harness.redis)
            #expect(results["both-1"]?.count == 1 && results["both-2"]?.count == 1)
            #expect(results["both-2"]?.first?["source"] == "api")
            #expect(try await harness.length("fraud:dead_letters") == 0)
            await client.close()
        }
    }

    @Test func theSameTransactionsOnEitherPathGetTheSameFeaturesDecisionsAndRecords() async throws {
        // Two fresh users with the same history (their own devices, the same amounts, merchants and times): one sends
        // through the stream, the other through the API. One decision core: the same vectors, scores, reasons and
        // record fields (except ids, timings and source), and review entries with their vectors on both paths.
        try await ScoringAPIHarness.with { api in
            let harness = api.redisHarness
            let version = try await RuleStore(namespace: "fraud").save(
                RuleSet.defaultText + "amount > 1000 => review reason large_amount\n", note: "test", promote: true, on: harness.redis)
            try await waitUntil("the server installs the rules") { api.admission.serving.nextRulesVersion == version }
            let twins = TwinTransactions()
            let amounts = twins.amounts
            try await harness.publish(amounts.indices.map { twins.fields($0, path: "stream") })
            _ = try await harness.runWorker(harness.configuration()) { try await harness.length("fraud:results") >= amounts.count }
            let client = try await api.connect()
            for index in amounts.indices {
                let body = twins.body(index, path: "api")
                #expect(try await client.request(.POST, "/v1/score", json: body).status == 200)
            }
            try await waitUntil("the API's decisions to be recorded") { try await harness.length("fraud:results") >= 2 * amounts.count }
            let results = try await Self.results(harness.redis)
            let reviews = try await harness.entries("fraud:review")
            let different: Set = ["transaction_id", "user_id", "source_id", "worker_id", "latency_ms", "queue_ms", "features_ms", "scoring_ms", "source"]
            var reviewed = 0
            for index in amounts.indices {
                let stream = try #require(results["stream-\(index)"]?.first)
                let api = try #require(results["api-\(index)"]?.first)
                #expect(stream.filter { !different.contains($0.key) } == api.filter { !different.contains($0.key) }, "transaction \(index)")
                #expect(Set(stream.keys).union(["source"]) == Set(api.keys), "transaction \(index)")
                #expect(api["source"] == "api" && stream["source"] == nil)
                guard stream["decision"] == "review" else { continue }
                reviewed += 1
                let streamReview = try #require(reviews.first { $0["transaction_id"] == "stream-\(index)" })
                let apiReview = try #require(reviews.first { $0["transaction_id"] == "api-\(index)" })
                let vector = try #require(streamReview["features"])
                #expect(vector.split(separator: ",").count == FeatureSchema.count)
                #expect(apiReview["features"] == vector, "the review entries' feature vectors differ for transaction \(index)")
            }
            #expect(reviewed >= 2, "the rule should have sent both large amounts to review")
            // Every entry of either path decodes as a ResultRecord and carries no field it does not name.
            let names = Set(ResultRecord.Field.allCases.map(\.rawValue))
            for entry in try await harness.redis.send(XRange(stream: "fraud:results", count: 100)) {
                #expect(entry.fields.allSatisfy { names.contains($0.0) }, "\(entry.fields.map(\.0))")
                let record = try #require(ResultRecord(id: entry.id, fields: entry.fields))
                #expect(record.source == (record.transactionId.hasPrefix("api-") ? .api : .stream))
                #expect(record.runId == "twins")
            }
            await client.close()
        }
    }

    @Test func aDuplicateWithOtherContractFieldsIsAConflictOnBothPaths() async throws {
        try await ScoringAPIHarness.with { api in
            let harness = api.redisHarness
            let client = try await api.connect()
            #expect(try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("c-1", user: 6)).status == 200)
            // The API: another amount for the same id is a 409, and no decision is disclosed.
            let conflict = try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("c-1", user: 6, amount: 999))
            #expect(conflict.status == 409)
            let body = try ScoringAPIHarness.object(conflict)
            #expect(body["error"] as? String == "duplicate_conflict")
            #expect(body["decision"] == nil && body["score"] == nil)
            // The stream: a dead letter duplicate_conflict; the first decision stands.
            try await waitUntil("the API's decision to be recorded") { try await Self.results(harness.redis)["c-1"] != nil }
            try await harness.publish([Self.streamFields("c-1", user: 6, amount: 999)])
            _ = try await harness.runWorker(harness.configuration()) { try await harness.length("fraud:dead_letters") >= 1 }
            let dead = try await harness.entries("fraud:dead_letters")
            #expect(dead.count == 1)
            #expect(dead.first?["reason"]?.contains("decided before with other contract fields") == true)
            #expect(try await Self.results(harness.redis)["c-1"]?.count == 1)
            // The same body again is still the same transaction: replayed.
            let again = try ScoringAPIHarness.object(
                try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("c-1", user: 6)))
            #expect(again["replayed"] as? Bool == true)
            await client.close()
        }
    }
}
