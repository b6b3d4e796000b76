import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore
@testable import FraudServer

/// After Redis lost its data (restarted without persistence), workers and servers stop deciding from the model in
/// their memory, say so at error level and in a metric, and decide again once the namespace has a model.
@Suite("State loss against a real redis-server")
struct StateLossTests {
    /// What a restart without persistence does: every key gone, on the same port.
    static func loseEverything(_ harness: WorkerHarness) async throws {
        await harness.server.kill()
        try await harness.server.restart()
    }

    @Test func workerStopsReadingWhenRedisLostItsStateAndResumesWithTheNewModel() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<20).map { WorkerHarness.fields($0) })
            let logs = LogCapture()
            try await harness.withWorker(harness.configuration(), logger: logs.logger) { assembly in
                try await harness.waitForLength("fraud:results", atLeast: 20)
                #expect(!assembly.stateGuard.isLost)
                try await Self.loseEverything(harness)
                // Traffic that arrives at once, before the watcher's next check, is not decided on the empty state
                // either: the consumer does not recreate its group, nor a stage reload the library, without an epoch.
                let redis = try await RedisConnection.connect(harness.server.configuration)
                let waiting = WorkerHarness(server: harness.server, redis: redis)
                var ids = try await waiting.publish((100..<105).map { WorkerHarness.fields($0) })
                try await waitUntil("the worker to notice the loss", timeout: .seconds(60)) { assembly.stateGuard.isLost }
                #expect(logs.logged.contains { $0.level == .error && $0.message.contains("Redis lost this namespace's state") })
                ids += try await waiting.publish((105..<110).map { WorkerHarness.fields($0) })
                try await Task.sleep(for: .seconds(2))
                #expect(try await waiting.length("fraud:results") == 0)
                #expect(try await Keyspace(namespace: "fraud").keys(matching: "fraud:{*", on: redis).isEmpty)
                // The namespace gets a model again (prepare or train would): the worker decides the waiting ones.
                try await waiting.setUp()
                try await waitUntil("the worker to resume", timeout: .seconds(60)) { !assembly.stateGuard.isLost }
                try await waiting.waitForLength("fraud:results", atLeast: 10)
                let results = try await waiting.entries("fraud:results")
                #expect(Set(results.compactMap { $0["source_id"] }) == Set(ids))
            }
        }
    }

    @Test func workerToldToKeepServingDecidesOnButSaysSo() async throws {
        try await WorkerHarness.with { harness in
            var configuration = harness.configuration()
            configuration.keepServingOnStateLoss = true
            try await harness.withWorker(configuration) { assembly in
                try await Self.loseEverything(harness)
                try await waitUntil("the worker to notice the loss", timeout: .seconds(60)) { assembly.stateGuard.isLost }
                #expect(!assembly.stateGuard.isPaused)
                let redis = try await RedisConnection.connect(harness.server.configuration)
                let after = WorkerHarness(server: harness.server, redis: redis)
                try await after.publish((0..<5).map { WorkerHarness.fields($0) })
                try await after.waitForLength("fraud:results", atLeast: 5)
            }
        }
    }

    @Test func serverAnswersStateLostAndFailsReadinessUntilTheNamespaceHasAModel() async throws {
        // Without API keys: a Redis that lost the namespace's state lost its keys too, and every key is then refused
        // (APIAuthTests covers keys); this test is about deciding.
        try await ScoringAPIHarness.with(configure: { $0.authRequired = false }) { api in
            let client = try await api.connect()
            #expect(try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("before")).status == 200)
            await api.redisHarness.server.kill()
            try await api.redisHarness.server.restart()
            // A request at once, before the watcher's next check: not decided on the empty state (its lane waits; the
            // answer is given at the deadline from the transaction alone), and nothing is written to the empty Redis.
            let early = try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("early", user: 2))
            let earlyDegraded = try ScoringAPIHarness.object(early)["degraded"] as? Bool == true
            #expect(early.status == 503 || earlyDegraded, "\(early.text)")
            let redis = try await RedisConnection.connect(api.redisHarness.server.configuration)
            let written = try await Keyspace(namespace: "fraud").keys(matching: "fraud:{*", on: redis)
            #expect(written.isEmpty, "\(written)")
            #expect(try await redis.send(RedisCommand("EXISTS", "fraud:results")).int == 0)
            try await waitUntil("the server to notice the loss", timeout: .seconds(60)) { api.admission.stateGuard.isLost }
            let ready = try ScoringAPIHarness.object(try await client.request(.GET, "/readyz"))
            #expect(ready["state"] as? String == "lost")
            let refused = try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("during"))
            #expect(refused.status == 503)
            #expect(try ScoringAPIHarness.object(refused)["error"] as? String == "state_lost")
            let metrics = try await client.request(.GET, "/metrics").text
            #expect(metrics.contains("fraudstream_state_lost 1"))
            #expect(metrics.contains("fraudstream_state_losses_total 1"))
            // A model again: ready, and deciding.
            try await WorkerHarness(server: api.redisHarness.server, redis: redis).setUp()
            try await waitUntil("the server to be ready again", timeout: .seconds(60)) {
                (try? await client.request(.GET, "/readyz"))?.status == 200
            }
            #expect(try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("after")).status == 200)
            await client.close()
        }
    }
}
