import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("fs_record_decisions against a real redis-server")
struct RecordDecisionsTests {
    @Test func aRetriedCallWritesNothingTwiceAndOneKeyServesEveryCall() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            try await FunctionLibrary.results.load(on: redis)
            let call = RecordDecisionsCall(resultsStream: "fraud:results", serverId: "api-1", namespace: "fraud", maxStreamLength: 0, statsTTLSeconds: 60)
            func record(_ id: String) -> RecordDecisionsCall.Record {
                RecordDecisionsCall.Record(
                    transaction: Transaction(
                        transactionId: id, userId: "u1", amount: 10, merchantId: "m", timestampMilliseconds: 1_790_000_000_000, runId: "r1",
                        isFraud: false),
                    decision: ScoredDecision(score: 0.1, isFraud: false, decision: "approve", reasons: "", modelVersion: 1),
                    latencyMicroseconds: 900, featuresMicroseconds: 300, scoringMicroseconds: 20, degraded: false)
            }
            let first = call.command([record("a"), record("b")], instance: "i1", sequence: 1)
            #expect(try RecordDecisionsCall.decode(try await redis.send(first)) == 2)
            // The same call again (its reply was lost): nothing written.
            #expect(try RecordDecisionsCall.decode(try await redis.send(first)) == 0)
            #expect(try RecordDecisionsCall.decode(try await redis.send(call.command([record("c")], instance: "i1", sequence: 2))) == 1)
            // Another instance numbers its own calls.
            #expect(try RecordDecisionsCall.decode(try await redis.send(call.command([record("d")], instance: "i2", sequence: 1))) == 1)
            #expect(try await redis.send(RedisCommand("XLEN", "fraud:results")).int == 4)
            let stats = try await redis.send(RedisCommand("HGETALL", "fraud:stats:run:r1")).stringPairs ?? [:]
            #expect(stats["processed"] == "4")
            #expect(stats["api"] == "4")
            #expect(stats["approve"] == "4")
            #expect(stats["tn"] == "4")
            // One marker key per instance, however many calls.
            #expect(try await redis.send(RedisCommand("GET", call.instanceMarker("i1"))).string == "2")
            #expect(try await redis.send(RedisCommand("EXISTS", call.instanceMarker("i1"), call.instanceMarker("i2"))).int == 2)
            // The stream, the run hash, the server's hash under it, the run's worker set, the two markers, and the
            // fraud counts over time (a per-second and a per-minute hash, unless the calls straddled a minute).
            #expect((8...10).contains(try await redis.send(RedisCommand("DBSIZE")).int ?? 0))
            let series = TimeSeries(keys: TimeSeriesKeys(namespace: "fraud", resultsStream: "fraud:results"))
            let now = try await TimeSeries.serverMilliseconds(on: redis)
            let minutes = try await series.read(from: now - 120_000, to: now, resolution: .minute, on: redis)
            #expect(minutes.map { $0.count("scored") }.reduce(0, +) == 4)
            #expect(minutes.map { $0.count("approve") }.reduce(0, +) == 4)
        }
    }
}
